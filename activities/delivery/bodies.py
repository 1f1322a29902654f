"""What a delivery sends: the envelope's body, its sealed text opened and, for an
archive webhook, its documents embedded or linked (off the event loop: files and the store)."""

from __future__ import annotations

import asyncio
from typing import Any

from sqlalchemy.engine import Engine
from sqlmodel import Session
from temporalio.exceptions import ApplicationError

from activities.contracts import Envelope, FailureType
from activities.delivery.endpoint import Endpoint
from activities.errors import DocumentNotFound, LinksUnavailable, SealedTextMissing
from activities.files.documents import DocumentStore
from activities.files.links import DocumentLinks, archive_body
from activities.files.sealed import open_text
from activities.store.crypto import SecretBox


class Bodies:
    def __init__(
        self, *, engine: Engine, box: SecretBox, documents: DocumentStore, links: DocumentLinks
    ) -> None:
        self._engine = engine
        self._box = box
        self._documents = documents
        self._links = links

    async def build(self, endpoint: Endpoint, envelope: Envelope, project: str) -> dict[str, Any]:
        """The body to POST; a missing document or text fails at once (non-retryable)."""
        body = envelope.body()
        if envelope.text_ref is not None:
            body.pop("text_ref")
            body["text"] = await asyncio.to_thread(self._open_text, envelope.text_ref)
        if endpoint.type != "archive":
            return body
        try:
            return await asyncio.to_thread(
                archive_body, self._documents, body, project, mode=endpoint.documents,
                max_body=endpoint.max_body_size, links=self._links,
            )  # fmt: skip
        except (DocumentNotFound, LinksUnavailable) as err:
            raise ApplicationError(str(err), type=FailureType.INVALID, non_retryable=True) from None

    def _open_text(self, ref: str) -> str:
        with Session(self._engine) as session:
            try:
                return open_text(session=session, box=self._box, ref=ref)
            except SealedTextMissing as err:
                raise ApplicationError(
                    str(err), type=FailureType.INVALID, non_retryable=True
                ) from None
