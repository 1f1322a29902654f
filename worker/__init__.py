"""Where workflows and activities run: the worker's runtime, the services the
front doors call, the command line, the REST API and pane, the dev stack."""
