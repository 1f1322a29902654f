"""What the command line, the REST API and the pane call: sessions and
processes, redelivery and resuming, the Test button. Each raises a
``HookflowError`` with one line for the user."""
