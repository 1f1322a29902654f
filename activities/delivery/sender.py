"""One attempt at one endpoint: auth, headers, signing, the guard, and the verdict.

The delivery activity and ``hookflow webhooks test`` both send through here,
so a test exercises exactly what a real delivery does.
"""

from __future__ import annotations

import asyncio
import time
from dataclasses import dataclass, replace
from typing import Any

import httpx

from activities import catalog
from activities.delivery.endpoint import Endpoint
from activities.delivery.formats import decode, encode
from activities.delivery.http import HttpClients, HttpReply
from activities.delivery.tokens import TokenCache
from activities.errors import DestinationRefused, TokenError


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
    latency_ms: float = 0.0
    """From the start of the attempt to its verdict: timeouts and refusals too."""

    @property
    def status_code(self) -> int | None:
        return self.reply.status_code if self.reply else None


class Sender:
    def __init__(self, *, http: HttpClients, tokens: TokenCache) -> None:
        self._http = http
        self._tokens = tokens

    async def attempt(self, endpoint: Endpoint, *, body: dict[str, Any], msg_id: str) -> Verdict:
        started = time.perf_counter()
        verdict = await self._attempt(endpoint, body=body, msg_id=msg_id)
        return replace(verdict, latency_ms=(time.perf_counter() - started) * 1000)

    async def _attempt(self, endpoint: Endpoint, *, body: dict[str, Any], msg_id: str) -> Verdict:
        content = encode(body, endpoint.content_type)
        headers = endpoint.request_headers(msg_id=msg_id, timestamp=int(time.time()), body=content)
        request = SentRequest(endpoint.url, headers, content)
        timed_out = Verdict("retrying", f"timed out after {endpoint.timeout:g}s", None, request)
        try:
            # httpx's timeout bounds each read, so an endpoint that trickles its
            # answer could hold the attempt for ever: this bounds the whole of it.
            async with asyncio.timeout(endpoint.timeout):
                reply, request = await self._send(endpoint, request)
                if reply.status_code == 401 and endpoint.bearer is not None:
                    # The token may have been revoked early: fetch a new one, once.
                    reply, request = await self._send(endpoint, request, refresh=True)
        except DestinationRefused as err:
            return Verdict("refused", str(err), None, request)
        except TokenError as err:
            return Verdict("retrying", str(err), None, request)
        except (httpx.TimeoutException, TimeoutError):
            return timed_out
        except httpx.HTTPError as err:
            return Verdict("retrying", f"{type(err).__name__}: {err}"[:300], None, request)
        return judge(endpoint, reply, request)

    async def _send(
        self, endpoint: Endpoint, request: SentRequest, *, refresh: bool = False
    ) -> tuple[HttpReply, SentRequest]:
        headers = request.headers
        if endpoint.bearer is not None:
            token = await self._tokens.token(endpoint.bearer, refresh=refresh)
            headers = {**headers, "authorization": f"Bearer {token}"}
        sent = SentRequest(request.url, headers, request.body)
        reply = await self._http.post(
            endpoint.url,
            content=request.body,
            headers=headers,
            timeout=endpoint.timeout,
            verify_ssl=endpoint.verify_ssl,
        )
        return reply, sent


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
        location = reply.headers.get("location", "")[:100]
        return Verdict(
            "retrying", f"HTTP {status} redirect to {location!r} not followed", reply, request
        )
    return Verdict("retrying", f"HTTP {status}", reply, request)
