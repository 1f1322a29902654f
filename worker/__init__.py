"""Settings, worker assembly, the embedded dev server and the command line."""
