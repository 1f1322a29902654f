"""The worker's shared HTTP clients and one bounded POST: its timeout covers the
whole exchange (connect, send, the capped body) and its body is decoded within
the cap (``activities.delivery.decoding``)."""

from __future__ import annotations

import asyncio
import time
from collections.abc import Iterable
from dataclasses import dataclass

import httpx

from activities.delivery.decoding import ACCEPT_ENCODING, read_body
from activities.delivery.guard import GuardedBackend, IPNetwork, Resolver, system_resolver

USER_AGENT = "hookflow/0.1 (+https://github.com/hookflow/hookflow)"
# Enough for any verdict or remote-data answer; the rest is never read.
RESPONSE_CAP = 256 * 1024


@dataclass(frozen=True)
class HttpReply:
    status_code: int
    headers: httpx.Headers
    body: bytes
    """Decoded, at most the cap; a bracketed note when it could not be decoded."""
    truncated: bool
    latency_ms: float


class HttpClients:
    """One pooled client that verifies TLS and one that does not (per-webhook
    choice), both behind the address guard and never following redirects."""

    def __init__(
        self,
        *,
        allowed: Iterable[IPNetwork] = (),
        resolver: Resolver = system_resolver,
        max_connections: int = 200,
        stack: Iterable[tuple[str, int]] = (),
    ) -> None:
        allowed, stack = list(allowed), list(stack)
        self._clients = {
            verify: httpx.AsyncClient(
                transport=_guarded_transport(
                    verify=verify,
                    allowed=allowed,
                    resolver=resolver,
                    limit=max_connections,
                    stack=stack,
                ),
                follow_redirects=False,
                headers={"user-agent": USER_AGENT},
            )
            for verify in (True, False)
        }

    def client(self, *, verify_ssl: bool) -> httpx.AsyncClient:
        return self._clients[verify_ssl]

    async def post(
        self,
        url: str,
        *,
        content: bytes,
        headers: dict[str, str],
        timeout: float,
        verify_ssl: bool,
        cap: int = RESPONSE_CAP,
    ) -> HttpReply:
        started = time.perf_counter()
        client = self.client(verify_ssl=verify_ssl)
        request = client.build_request(
            "POST",
            url,
            content=content,
            headers={
                **{k: v for k, v in headers.items() if k.lower() != "accept-encoding"},
                "accept-encoding": ACCEPT_ENCODING,
            },
            timeout=timeout,
        )
        try:
            # httpx's timeout bounds each read; an endpoint trickling a byte a
            # second would hold the attempt for ever. This bounds the whole of it.
            async with asyncio.timeout(timeout):
                response = await client.send(request, stream=True)
                try:
                    body = await read_body(
                        response.aiter_raw(),
                        content_encoding=response.headers.get("content-encoding", ""),
                        cap=cap,
                    )
                finally:
                    await response.aclose()
        except TimeoutError:
            raise httpx.TimeoutException(
                f"no complete answer within {timeout:g}s", request=request
            ) from None
        latency = (time.perf_counter() - started) * 1000
        return HttpReply(response.status_code, response.headers, body.data, body.truncated, latency)

    async def aclose(self) -> None:
        for client in self._clients.values():
            await client.aclose()


def _guarded_transport(
    *,
    verify: bool,
    allowed: list[IPNetwork],
    resolver: Resolver,
    limit: int,
    stack: list[tuple[str, int]],
) -> httpx.AsyncHTTPTransport:
    transport = httpx.AsyncHTTPTransport(
        verify=verify, limits=httpx.Limits(max_connections=limit, max_keepalive_connections=limit)
    )
    # httpx exposes no network backend option; its pool takes one, and every
    # connection it opens goes through it (pinned httpx version, tested).
    transport._pool._network_backend = GuardedBackend(
        allowed=allowed, resolver=resolver, stack=stack
    )
    return transport
