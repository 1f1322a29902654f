"""One attempt at one endpoint: auth, headers, signing, the guard, and the verdict.

The delivery activity and ``hookflow webhooks test`` both send through here,
so a test exercises exactly what a real delivery does.
"""

from __future__ import annotations

import asyncio
import dataclasses
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any
from urllib.parse import urlsplit

import httpx

from activities import catalog
from activities.delivery.endpoint import Endpoint
from activities.delivery.formats import decode, encode
from activities.delivery.http import HttpClients, HttpReply
from activities.delivery.tokens import TokenCache
from activities.errors import DestinationRefused, TokenError
from activities.store.validation import check_header_value


@dataclass(frozen=True)
class SentRequest:
    """What went on the wire (headers include credentials: redact before showing)."""

    url: str
    headers: dict[str, str]
    body: bytes


@dataclass(frozen=True)
class Verdict:
    outcome: str  # delivered | retrying | gone | refused
    error: str | None
    reply: HttpReply | None
    request: SentRequest
    response: Any = None
    elapsed_ms: float = 0.0
    """From the start of the attempt to its verdict, answered or not."""

    @property
    def status_code(self) -> int | None:
        return self.reply.status_code if self.reply else None

    @property
    def latency_ms(self) -> float:
        return self.reply.latency_ms if self.reply else self.elapsed_ms


class Unsendable(Exception):
    """The request cannot go on the wire (a stored value that is no longer accepted)."""


# Error texts are one line of at most this many characters (history, log, alerts).
MAX_ERROR = 300


class Sender:
    def __init__(self, *, http: HttpClients, tokens: TokenCache) -> None:
        self._http = http
        self._tokens = tokens

    async def attempt(self, endpoint: Endpoint, *, body: dict[str, Any], msg_id: str) -> Verdict:
        """One attempt, always judged: whatever goes wrong becomes a verdict with a
        one-line error free of the endpoint's secrets, never an exception."""
        started = time.perf_counter()
        request = SentRequest(endpoint.url, {}, b"")
        try:
            content = encode(body, endpoint.content_type)
            headers = endpoint.request_headers(
                msg_id=msg_id, timestamp=int(time.time()), body=content
            )
            request = SentRequest(endpoint.url, headers, content)
            # The webhook's timeout bounds the whole attempt: token, send, body,
            # and the second send after a 401.
            async with asyncio.timeout(endpoint.timeout):
                reply, request = await self._send(endpoint, request)
                if reply.status_code == 401 and endpoint.bearer is not None:
                    # The token may have been revoked early: fetch a new one, once.
                    reply, request = await self._send(endpoint, request, refresh=True)
        except Exception as err:  # every failure is a judged attempt, never a traceback
            outcome, error = _failure(endpoint, err)
            verdict = Verdict(outcome, self._redact(endpoint, error), None, request)
        else:
            body_seen = self._redact_bytes(endpoint, reply.body)
            verdict = judge(endpoint, dataclasses.replace(reply, body=body_seen), request)
            if verdict.error is not None:
                verdict = dataclasses.replace(verdict, error=self._redact(endpoint, verdict.error))
        elapsed = (time.perf_counter() - started) * 1000
        return dataclasses.replace(verdict, elapsed_ms=elapsed)

    def _known_token(self, endpoint: Endpoint) -> tuple[str, ...]:
        token = self._tokens.known(endpoint.bearer) if endpoint.bearer is not None else None
        return (token,) if token else ()

    def redactor(self, endpoint: Endpoint) -> Callable[[str], str]:
        """The webhook's secrets, and the bearer token it was sent, taken out of a
        text (a header value, as sent or as echoed back)."""
        also = self._known_token(endpoint)
        return lambda text: endpoint.redact(text, also=also)

    def _redact(self, endpoint: Endpoint, text: str) -> str:
        """Redacted first: a secret with a line break is only found as it is."""
        clear = endpoint.redact(text, also=self._known_token(endpoint))
        return " ".join(clear.split())[:MAX_ERROR]

    def _redact_bytes(self, endpoint: Endpoint, data: bytes) -> bytes:
        return endpoint.redact_bytes(data, also=self._known_token(endpoint))

    async def _send(
        self, endpoint: Endpoint, request: SentRequest, *, refresh: bool = False
    ) -> tuple[HttpReply, SentRequest]:
        headers = request.headers
        if endpoint.bearer is not None:
            token = await self._tokens.token(endpoint.bearer, refresh=refresh)
            headers = {**headers, "authorization": f"Bearer {token}"}
        sent = SentRequest(request.url, headers, request.body)
        for name, value in headers.items():
            # Stored before values were checked: httpx would refuse it quoting the
            # value in full (a credential, in its own debug log too).
            try:
                check_header_value(name, value, limit=None)
            except ValueError as err:
                raise Unsendable(f"not sent: {err}") from None
        reply = await self._http.post(
            endpoint.url,
            content=request.body,
            headers=headers,
            timeout=endpoint.timeout,
            verify_ssl=endpoint.verify_ssl,
            tls=endpoint.tls,
        )
        return reply, sent


def _failure(endpoint: Endpoint, err: Exception) -> tuple[str, str]:
    """The outcome and error of an attempt that got no answer to judge."""
    if isinstance(err, DestinationRefused):
        return "refused", str(err)
    if isinstance(err, TokenError | Unsendable):
        return "retrying", str(err)
    if isinstance(err, httpx.ConnectError) and str(err).startswith("TLS"):
        return "retrying", str(err)  # said plainly by the transport
    if isinstance(err, httpx.TimeoutException | TimeoutError):
        return "retrying", f"timed out after {endpoint.timeout:g}s"
    # httpx's own errors, and anything unexpected (a value nothing checked): the
    # ladder retries it, and its type names it in the log.
    return "retrying", f"{type(err).__name__}: {err}"


def judge(endpoint: Endpoint, reply: HttpReply, request: SentRequest) -> Verdict:
    """Success is a 2xx whose body is not the type's error response; 3xx is a
    failure (redirects are not followed); 410 stops; everything else retries."""
    status = reply.status_code
    data = decode(reply.body, endpoint.accept) if not reply.truncated else None
    if 200 <= status < 300:
        if catalog.is_error_response(data):
            return Verdict("retrying", f"HTTP {status} with an error body", reply, request)
        response = data if endpoint.type == "remote_data" else None
        return Verdict("delivered", None, reply, request, response)
    if status == 410:
        return Verdict("gone", "HTTP 410 Gone", reply, request)
    if 300 <= status < 400:
        # No query or fragment: the line is shown in clear and may carry a credential.
        location = urlsplit(reply.headers.get("location", ""))._replace(query="", fragment="")
        location = location.geturl()[:100]
        return Verdict(
            "retrying", f"HTTP {status} redirect to {location!r} not followed", reply, request
        )
    return Verdict("retrying", f"HTTP {status}", reply, request)
