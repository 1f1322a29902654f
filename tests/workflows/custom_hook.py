"""A hook type added in one module: the walk-through of README "Adding a hook type"."""

from __future__ import annotations

from pydantic import Field

from activities.catalog import BY_SIGNAL, HookType, register
from activities.contracts import ClientSignal


class DocumentViewed(ClientSignal):
    """Payload of the ``document_viewed`` signal."""

    page: int = Field(ge=1)
    seconds: float = Field(default=0, ge=0)


DOCUMENT_VIEWED = BY_SIGNAL.get("document_viewed") or register(
    HookType(
        name="document_viewed",
        event="WHEF_DOCUMENT_VIEWED",
        title="Post notification when the client views the document",
        trigger="the client viewed a page of the document",
        request_example={"event": {"type": "WHEF_DOCUMENT_VIEWED"}, "data": {"page": 3}},
        signal="document_viewed",
        payload=DocumentViewed,
    )
)
