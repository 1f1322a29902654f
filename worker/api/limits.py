"""Request bodies are bounded before anything parses them.

``BodyLimit`` answers 413 from ``Content-Length`` before reading a byte, and
while a body without one (chunked) streams in, the moment it passes the
limit; the app never sees the rest. Uploads (``POST /api/v1/documents``) have
their own, larger limit. A JSON body is also refused (422) when it holds a
lone surrogate (``"\\ud800"``): no text can carry it, not the database, not
Temporal's payloads.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import re
from typing import Any

from pydantic_core import to_json
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from activities.contracts.limits import size_text
from worker.api.errors import ErrorOut

# A multipart envelope around the file: its boundary, headers, the form fields.
MULTIPART_ALLOWANCE = 64 * 1024
UPLOAD_PATH = "/api/v1/documents"
DRAIN_BYTES = 32 << 20
DRAIN_SECONDS = 10.0
_SURROGATE_ESCAPE = re.compile(rb"\\u[dD][89a-fA-F]")


class _TooLarge(Exception):
    pass


def _answer(status: int, code: str, detail: str) -> tuple[Message, Message]:
    body = json.dumps(ErrorOut(detail=detail, code=code).model_dump()).encode()
    start = {
        "type": "http.response.start",
        "status": status,
        "headers": [
            (b"content-type", b"application/json"),
            (b"content-length", str(len(body)).encode()),
            (b"connection", b"close"),
        ],
    }
    return start, {"type": "http.response.body", "body": body}


def has_lone_surrogate(body: bytes) -> bool:
    """True when the JSON ``body`` decodes to text with an unpaired surrogate."""
    if not _SURROGATE_ESCAPE.search(body):
        return False
    try:
        # Escaped pairs become one character; a lone one cannot be encoded.
        json.dumps(json.loads(body), ensure_ascii=False).encode()
    except UnicodeError:
        return True
    except ValueError:
        return False  # not JSON: the route says so
    return False


class BodyLimit:
    """ASGI middleware: 413 for a body over ``limit`` (``upload_limit`` for uploads)."""

    def __init__(self, app: ASGIApp, *, limit: int, upload_limit: int) -> None:
        self.app = app
        self.limit = limit
        self.upload_limit = upload_limit

    def limit_of(self, scope: Scope) -> tuple[int, str]:
        """The limit of this request's body, and how an answer names it."""
        if scope["method"] == "POST" and scope["path"].rstrip("/") == UPLOAD_PATH:
            return (
                self.upload_limit + MULTIPART_ALLOWANCE,
                f"a document is at most {size_text(self.upload_limit)}",
            )
        return self.limit, f"the request body is over {size_text(self.limit)}"

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http" or scope["method"] in ("GET", "HEAD", "OPTIONS"):
            await self.app(scope, receive, send)
            return
        limit, why = self.limit_of(scope)
        headers = dict(scope["headers"])
        length = headers.get(b"content-length")
        if length is not None:
            try:
                declared = int(length)
            except ValueError:
                declared = -1
            if declared < 0:
                await self._send(send, 400, "bad_request", "invalid Content-Length")
                return
            if declared > limit:
                # A client that waits for "100 Continue" never sends the body.
                waits = headers.get(b"expect", b"").lower() == b"100-continue"
                await self._refuse(send, why, None if waits else receive)
                return
        if b"json" in headers.get(b"content-type", b""):
            await self._json(scope, receive, send, limit, why)
        else:
            await self._streamed(scope, receive, send, limit, why)

    async def _json(self, scope: Scope, receive: Receive, send: Send, limit: int, why: str) -> None:
        """Read the whole body (at most ``limit``), check its text, then replay it."""
        chunks, size = [], 0
        while True:
            message = await receive()
            if message["type"] != "http.request":  # the client went away
                return
            chunk = message.get("body", b"")
            size += len(chunk)
            if size > limit:
                await self._refuse(send, why, receive)
                return
            chunks.append(chunk)
            if not message.get("more_body", False):
                break
        body = b"".join(chunks)
        if has_lone_surrogate(body):
            await self._send(send, 422, "invalid", "text must be valid Unicode (a lone surrogate)")
            return
        replayed = False

        async def replay() -> Message:
            nonlocal replayed
            if not replayed:
                replayed = True
                return {"type": "http.request", "body": body, "more_body": False}
            return await receive()

        await self.app(scope, replay, send)

    async def _streamed(
        self, scope: Scope, receive: Receive, send: Send, limit: int, why: str
    ) -> None:
        """Count the bytes as the app reads them; past ``limit``, the app's
        answer is replaced by 413."""
        size = 0
        exceeded = False
        started = False

        async def counted() -> Message:
            nonlocal size, exceeded
            message = await receive()
            if message["type"] == "http.request":
                size += len(message.get("body", b""))
                if size > limit:
                    exceeded = True
                    raise _TooLarge
            return message

        async def guarded(message: Message) -> None:
            nonlocal started
            if exceeded:
                return  # the app's answer to a body it could not read: ours goes instead
            started = True
            await send(message)

        try:
            await self.app(scope, counted, guarded)
        except _TooLarge:
            pass
        if exceeded and not started:
            await self._refuse(send, why, receive)

    async def _refuse(self, send: Send, why: str, receive: Receive | None) -> None:
        """413; the rest of the body is read and dropped (up to ``DRAIN_BYTES``,
        for ``DRAIN_SECONDS`` at most), so that a client still sending reads the
        answer instead of a reset connection. Nothing keeps a byte of it."""
        start, body = _answer(413, "too_large", why)
        await send(start)
        if receive is not None:
            await _drain(receive)
        await send(body)

    @staticmethod
    async def _send(send: Send, status: int, code: str, detail: str) -> None:
        start, body = _answer(status, code, detail)
        await send(start)
        await send(body)


async def _drain(receive: Receive) -> None:
    dropped = 0
    with contextlib.suppress(TimeoutError):
        async with asyncio.timeout(DRAIN_SECONDS):
            while dropped <= DRAIN_BYTES:
                message = await receive()
                if message["type"] != "http.request":
                    return
                dropped += len(message.get("body", b""))
                if not message.get("more_body", False):
                    return


def json_size(value: Any) -> int:
    """Bytes of ``value`` as hookflow's data converter writes it for Temporal."""
    return len(to_json(value))
