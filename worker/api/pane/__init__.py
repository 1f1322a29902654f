"""The webhook pane, rendered on the server: its pages, form, templates and static files."""
