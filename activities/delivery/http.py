"""The worker's shared HTTP clients and one bounded POST: its timeout covers the
whole exchange (connect, send, the capped body) and its body is decoded within
the cap (``activities.delivery.decoding``).

The clients are httpx's; the bytes go through aiohttp (``activities.delivery.aio``)
unless ``transport="httpx"`` (the worker's ``HOOKFLOW_HTTP_TRANSPORT=httpx``) asks
for httpx's own transport, kept to compare the two (``python -m
benchmarks.transport``). Both connect only where the address guard allows.
"""

from __future__ import annotations

import asyncio
import ssl
import time
from collections.abc import Callable, Iterable, Iterator
from contextlib import AbstractContextManager
from dataclasses import dataclass

import httpx

from activities.delivery.aio import AiohttpTransport
from activities.delivery.decoding import ACCEPT_ENCODING, Body, read_body
from activities.delivery.guard import GuardedBackend, IPNetwork, Resolver, system_resolver
from activities.delivery.tls import TlsContexts, WebhookTls, explain

USER_AGENT = "hookflow/0.1 (+https://github.com/hookflow/hookflow)"
# Enough for any verdict or remote-data answer; the rest is never read.
RESPONSE_CAP = 256 * 1024
TRANSPORTS = ("aiohttp", "httpx")
# httpx's transport keeps a pooled client per webhook TLS context, up to this many.
TLS_CLIENTS = 64
# The headers httpx's client adds to every request (accept-encoding is always ours).
_DEFAULTS = {"accept": "*/*", "connection": "keep-alive", "user-agent": USER_AGENT}


Traced = Callable[[str, dict[str, str]], AbstractContextManager[object]]
traced: Traced | None = None
"""Set when tracing is on (``worker.runtime.tracing``): a span around a POST
that adds its ``traceparent`` to the headers. None: no cost at all."""


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
        transport: str = TRANSPORTS[0],
        stack: Iterable[tuple[str, int]] = (),
    ) -> None:
        allowed, stack = list(allowed), list(stack)
        self._allowed, self._resolver, self._stack = allowed, resolver, stack
        self._limit = max_connections
        self._tls = TlsContexts()
        # httpx's transport: one client per webhook TLS context (the pool is the client's).
        self._tls_clients: dict[tuple[str, bool], httpx.AsyncClient] = {}
        # How many attempts hold each TLS client, and the evicted ones still held:
        # an evicted client is closed by the last attempt that lets it go.
        self._holders: dict[httpx.AsyncClient, int] = {}
        self._evicted: set[httpx.AsyncClient] = set()
        self.transport = transport
        if self.transport not in TRANSPORTS:
            raise ValueError(f"unknown HTTP transport {self.transport!r}")
        self._aiohttp: dict[bool, AiohttpTransport] = {}
        if self.transport == "aiohttp":
            self._aiohttp = {
                verify: AiohttpTransport(
                    verify=verify,
                    allowed=allowed,
                    resolver=resolver,
                    limit=max_connections,
                    stack=stack,
                )
                for verify in (True, False)
            }
        self._clients = {
            verify: self._new_client(verify, self._aiohttp.get(verify)) for verify in (True, False)
        }

    def _new_client(
        self, verify: bool | ssl.SSLContext, transport: httpx.AsyncBaseTransport | None = None
    ) -> httpx.AsyncClient:
        """A client on ``transport``, else on httpx's own behind the address guard."""
        return httpx.AsyncClient(
            transport=transport
            or _guarded_transport(
                verify=verify,
                allowed=self._allowed,
                resolver=self._resolver,
                limit=self._limit,
                stack=self._stack,
            ),
            follow_redirects=False,
            headers={"user-agent": USER_AGENT},
        )

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
        tls: WebhookTls | None = None,
    ) -> HttpReply:
        """One POST; ``tls``: the webhook's client certificate or private CA."""
        started = time.perf_counter()
        transport = self._aiohttp.get(verify_ssl)
        context = await self._tls.aget(tls, verify=verify_ssl) if tls is not None else None
        try:
            # httpx's timeout bounds each read; an endpoint trickling a byte a
            # second would hold the attempt for ever. This bounds the whole of it.
            async with asyncio.timeout(timeout):
                if transport is not None:
                    status, answer_headers, body = await self._post_aiohttp(
                        transport, url, content, headers, cap, context
                    )
                else:
                    client = await self._client_for(tls, verify_ssl, context)
                    try:
                        status, answer_headers, body = await self._post_httpx(
                            client, url, content, headers, timeout, cap
                        )
                    finally:
                        await self._release(client)
        except httpx.TransportError as err:
            plain = _tls_failure(err)
            if plain is None and url.startswith("https:") and (tls is None or not tls.client_cert):
                plain = _reset_after_handshake(err)
            if plain is None:
                raise
            raise httpx.ConnectError(plain, request=httpx.Request("POST", url)) from None
        except ssl.SSLError as err:  # httpcore lets one through when it comes on a read
            plain = explain(str(err)) or f"TLS: {err.reason or err}"
            raise httpx.ConnectError(plain, request=httpx.Request("POST", url)) from None
        except TimeoutError:
            raise httpx.TimeoutException(
                f"no complete answer within {timeout:g}s", request=httpx.Request("POST", url)
            ) from None
        latency = (time.perf_counter() - started) * 1000
        return HttpReply(status, answer_headers, body.data, body.truncated, latency)

    async def _post_aiohttp(
        self,
        transport: AiohttpTransport,
        url: str,
        content: bytes,
        headers: dict[str, str],
        cap: int,
        context: ssl.SSLContext | None,
    ) -> tuple[int, httpx.Headers, Body]:
        # What httpx's client would send: its defaults unless the caller set them.
        names = {name.lower() for name in headers}
        sent = {name: value for name, value in _DEFAULTS.items() if name not in names}
        sent.update((k, v) for k, v in headers.items() if k.lower() != "accept-encoding")
        sent["accept-encoding"] = ACCEPT_ENCODING
        if traced is None:
            reply = await transport.post(
                url, content=content, headers=sent, cap=cap, ssl_context=context
            )
        else:  # a client span, and its traceparent for the receiver's own tracing
            with traced(url, sent):
                reply = await transport.post(
                    url, content=content, headers=sent, cap=cap, ssl_context=context
                )
        return reply.status_code, reply.headers, reply.body

    async def _client_for(
        self, tls: WebhookTls | None, verify_ssl: bool, context: ssl.SSLContext | None
    ) -> httpx.AsyncClient:
        """The client for these settings, held until ``_release``."""
        if tls is None or context is None:
            return self.client(verify_ssl=verify_ssl)
        key = (tls.version, verify_ssl)
        client = self._tls_clients.get(key)
        oldest = None
        if client is None:
            if len(self._tls_clients) >= TLS_CLIENTS:  # the oldest settings version goes
                oldest = self._tls_clients.pop(next(iter(self._tls_clients)))
            client = self._tls_clients[key] = self._new_client(context)
        self._holders[client] = self._holders.get(client, 0) + 1
        if oldest is not None:
            if oldest in self._holders:  # an attempt is under way on it: the last closes it
                self._evicted.add(oldest)
            else:
                try:
                    await oldest.aclose()
                except BaseException:  # cancelled while closing: the new one is not held
                    await self._release(client)
                    raise
        return client

    async def _release(self, client: httpx.AsyncClient) -> None:
        """An attempt lets its TLS client go; an evicted one closes with its last."""
        if client not in self._holders:
            return  # a shared client: never evicted
        self._holders[client] -= 1
        if self._holders[client] == 0:
            del self._holders[client]
            if client in self._evicted:
                self._evicted.discard(client)
                await client.aclose()

    async def _post_httpx(
        self,
        client: httpx.AsyncClient,
        url: str,
        content: bytes,
        headers: dict[str, str],
        timeout: float,
        cap: int,
    ) -> tuple[int, httpx.Headers, Body]:
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
        response = await client.send(request, stream=True)
        try:
            body = await read_body(
                response.aiter_raw(),
                content_encoding=response.headers.get("content-encoding", ""),
                cap=cap,
            )
        finally:
            await response.aclose()
        return response.status_code, response.headers, body

    async def aclose(self) -> None:
        for client in [*self._clients.values(), *self._tls_clients.values(), *self._evicted]:
            await client.aclose()
        self._tls_clients.clear()
        self._evicted.clear()


RESET_NO_CERT = (
    "TLS: the endpoint reset the connection before answering (it may require a client certificate)"
)


def _tls_failure(err: BaseException) -> str | None:
    """A TLS refusal said plainly (from the error or what caused it), else None."""
    return next(filter(None, (explain(str(seen)) for seen in _causes(err))), None)


def _reset_after_handshake(err: BaseException) -> str | None:
    """A reset before any answer, on TLS without a client certificate: under TLS 1.3
    a server that wants one says so after the handshake, and its alert can be lost
    to the reset when it closes with the request unread."""
    for seen in _causes(err):
        if isinstance(seen, ConnectionResetError) or "reset by peer" in str(seen):
            return RESET_NO_CERT
    return None


def _causes(err: BaseException) -> Iterator[BaseException]:
    """``err``, then what caused it, and so on."""
    seen: BaseException | None = err
    while seen is not None:
        yield seen
        seen = seen.__cause__ or seen.__context__


def _guarded_transport(
    *,
    verify: bool | ssl.SSLContext,
    allowed: list[IPNetwork],
    resolver: Resolver,
    limit: int,
    stack: list[tuple[str, int]],
) -> httpx.AsyncBaseTransport:
    transport = httpx.AsyncHTTPTransport(
        verify=verify, limits=httpx.Limits(max_connections=limit, max_keepalive_connections=limit)
    )
    # httpx exposes no network backend option; its pool takes one, and every
    # connection it opens goes through it (pinned httpx version, tested).
    transport._pool._network_backend = GuardedBackend(
        allowed=allowed, resolver=resolver, stack=stack
    )
    return transport
