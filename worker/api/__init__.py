"""The REST API (``/api/v1``) and the webhook pane (``/``), served by uvicorn."""
