"""The ``hookflow`` command: ``main`` holds the group, one module per command group."""
