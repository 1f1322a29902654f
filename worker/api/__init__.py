"""The REST API (``/api/v1``) and the webhook pane (``/``), served by uvicorn."""

from __future__ import annotations

from worker.api.app import create_app

__all__ = ["create_app"]
