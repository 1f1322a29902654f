"""Files: the document store, the storage integration and sealed texts."""
