"""The configuration store: webhooks, secrets and keys in the database, encrypted at rest."""
