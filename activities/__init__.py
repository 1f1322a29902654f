"""Everything that touches the world: HTTP, the database, files, tokens.

Importing this package imports nothing heavy, so that workflow code can pass
``activities.contracts`` and ``activities.catalog`` through the sandbox.
"""
