"""An aiohttp transport behind httpx's interface, with the address guard in its
connector: the worker's default way to POST (``HOOKFLOW_HTTP_TRANSPORT``).

httpx builds the request and hands back an ``httpx.Response``; the bytes go
through aiohttp, whose HTTP/1.1 client costs less than half of httpcore's CPU
per request (``python -m benchmarks.transport``). What the delivery path
guarantees stays as it was with httpcore:

- every address a host resolves to is checked by ``guard.refusal`` before the
  connector may use it, IP literals included (aiohttp would skip the resolver
  for those), and nothing is cached between connections (a rebinding name is
  checked again on the next connection);
- no redirects (``allow_redirects=False``), no proxies or ``.netrc`` from the
  environment (``trust_env=False``);
- the raw body is handed on still encoded (``auto_decompress=False``):
  ``decoding.read_body`` decodes it within the cap, as before;
- TLS is verified with the context httpx would have used (one connector that
  verifies, one that does not, per the webhook's setting); a webhook with a
  client certificate or a private CA passes its own context per request;
- aiohttp's errors become the httpx errors the callers judge (``ConnectError``,
  ``ReadTimeout``, ``RemoteProtocolError``…); ``DestinationRefused`` passes as is.
"""

from __future__ import annotations

import contextlib
import dataclasses
import functools
import socket
import ssl
from collections.abc import AsyncIterator, Callable, Iterable, Iterator, Mapping, Sequence
from typing import Any

import aiohttp
import httpx
from aiohttp.abc import AbstractResolver, ResolveResult
from yarl import URL

from activities.delivery.decoding import Body, read_body
from activities.delivery.guard import IPNetwork, Resolver, checked, system_resolver

# httpx's default: an idle pooled connection is dropped after five seconds.
KEEPALIVE_EXPIRY = 5.0
_CHUNK = 64 * 1024


class GuardedResolver(AbstractResolver):
    """hookflow's resolver, keeping only the addresses the guard allows;
    ``DestinationRefused`` when it allows none of them."""

    def __init__(
        self,
        *,
        allowed: Iterable[IPNetwork] = (),
        resolver: Resolver = system_resolver,
        stack: Iterable[tuple[str, int]] = (),
    ) -> None:
        self._allowed = list(allowed)
        self._resolver = resolver
        self._stack = list(stack)

    async def resolve(
        self, host: str, port: int = 0, family: socket.AddressFamily = socket.AF_INET
    ) -> list[ResolveResult]:
        # An OSError here becomes aiohttp's ClientConnectorDNSError (a ConnectError).
        addresses = await self._resolver(host, port)
        passed = await checked(
            host, port, addresses, allowed=self._allowed, stack=self._stack, resolver=self._resolver
        )
        results = [
            ResolveResult(
                hostname=host,
                host=str(address),
                port=port,
                family=socket.AF_INET6 if address.version == 6 else socket.AF_INET,
                proto=0,
                flags=socket.AI_NUMERICHOST,
            )
            for address in passed
        ]
        return results

    async def close(self) -> None:
        pass


class GuardedConnector(aiohttp.TCPConnector):
    """A TCP connector whose every connection goes through ``GuardedResolver``.

    aiohttp answers an IP literal itself and may cache names; here each new
    connection asks the guarded resolver, whatever the host (pinned aiohttp
    version, tested in ``tests/activities/test_transport.py``)."""

    def __init__(self, *, guard: GuardedResolver, ssl_context: ssl.SSLContext, limit: int) -> None:
        super().__init__(
            resolver=guard,
            use_dns_cache=False,
            ssl=ssl_context,
            limit=limit,
            limit_per_host=0,
            keepalive_timeout=KEEPALIVE_EXPIRY,
        )
        self._guard = guard

    async def _resolve_host(
        self, host: str, port: int, traces: Sequence[Any] | None = None
    ) -> list[ResolveResult]:
        if self.closed:
            raise aiohttp.ClientConnectionError("Connector is closed")
        return await self._guard.resolve(host, port)


# aiohttp's error, most specific first, and the httpx error callers expect for it.
_ERRORS: list[tuple[type[BaseException], type[httpx.TransportError]]] = [
    (aiohttp.ConnectionTimeoutError, httpx.ConnectTimeout),
    (aiohttp.SocketTimeoutError, httpx.ReadTimeout),
    (aiohttp.ServerTimeoutError, httpx.ReadTimeout),
    (aiohttp.ClientConnectorError, httpx.ConnectError),  # DNS, refused, TLS handshake
    (aiohttp.ServerDisconnectedError, httpx.RemoteProtocolError),
    (aiohttp.ClientPayloadError, httpx.RemoteProtocolError),
    (aiohttp.ClientResponseError, httpx.RemoteProtocolError),  # an unparsable answer
    (aiohttp.InvalidURL, httpx.UnsupportedProtocol),
    (aiohttp.ClientOSError, httpx.ReadError),
    (aiohttp.ClientError, httpx.TransportError),
]


@contextlib.contextmanager
def _httpx_errors(request: httpx.Request | Callable[[], httpx.Request]) -> Iterator[None]:
    try:
        yield
    except aiohttp.ClientError as err:
        if not isinstance(request, httpx.Request):
            request = request()  # made only when something went wrong
        for kind, mapped in _ERRORS:
            if isinstance(err, kind):
                raise mapped(str(err) or type(err).__name__, request=request) from err
        raise  # pragma: no cover  (ClientError is the last entry)


@functools.lru_cache(maxsize=4096)
def target(url: str) -> URL:
    """``url`` checked as httpx checks it (its errors, its normal form), once per URL."""
    parsed = httpx.URL(url)
    if parsed.scheme not in ("http", "https"):
        if not parsed.scheme:
            raise httpx.UnsupportedProtocol(
                "Request URL is missing an 'http://' or 'https://' protocol."
            )
        raise httpx.UnsupportedProtocol(
            f"Request URL has an unsupported protocol '{parsed.scheme}://'."
        )
    return URL(str(parsed), encoded=True)


class _Request(aiohttp.ClientRequest):
    """A request that says ``Connection: close`` closes its connection after the
    answer, as httpcore does: aiohttp heeds only the server's word on that, and
    would pool a connection the server is closing."""

    async def send(self, conn: aiohttp.connector.Connection) -> aiohttp.ClientResponse:
        if conn.protocol is not None and "close" in self.headers.get("connection", "").lower():
            conn.protocol.force_close()
        return await super().send(conn)


class _Body(httpx.AsyncByteStream):
    """The raw body as it arrives; closing it before the end drops the connection."""

    def __init__(self, response: aiohttp.ClientResponse, request: httpx.Request) -> None:
        self._response = response
        self._request = request

    async def __aiter__(self) -> AsyncIterator[bytes]:
        with _httpx_errors(self._request):
            async for chunk in self._response.content.iter_chunked(_CHUNK):
                yield chunk

    async def aclose(self) -> None:
        if self._response.content.at_eof():
            self._response.release()
        else:
            self._response.close()


@dataclasses.dataclass(frozen=True, slots=True)
class Reply:
    status_code: int
    headers: httpx.Headers
    body: Body


class AiohttpTransport(httpx.AsyncBaseTransport):
    """One pooled aiohttp session (keep-alive per worker) behind the guard.

    The session is made on first use, inside the event loop that uses it."""

    def __init__(
        self,
        *,
        verify: bool = True,
        allowed: Iterable[IPNetwork] = (),
        resolver: Resolver = system_resolver,
        limit: int = 200,
        stack: Iterable[tuple[str, int]] = (),
    ) -> None:
        # The context httpx's own transport would use (certifi, SSL_CERT_FILE).
        self._ssl = httpx.create_ssl_context(verify=verify)
        self._guard = GuardedResolver(allowed=allowed, resolver=resolver, stack=stack)
        self._limit = limit
        self._session: aiohttp.ClientSession | None = None

    def _open(self) -> aiohttp.ClientSession:
        if self._session is None:
            self._session = aiohttp.ClientSession(
                connector=GuardedConnector(
                    guard=self._guard, ssl_context=self._ssl, limit=self._limit
                ),
                request_class=_Request,
                trust_env=False,
                auto_decompress=False,
                # The caller's one timeout bounds the exchange; these bound its steps.
                timeout=aiohttp.ClientTimeout(total=None),
                cookie_jar=aiohttp.DummyCookieJar(),
                # Only the headers httpx put on the request: none of aiohttp's defaults.
                skip_auto_headers=("user-agent", "accept", "accept-encoding", "content-type"),
            )
        return self._session

    async def handle_async_request(self, request: httpx.Request) -> httpx.Response:
        session = self._open()
        timeout = request.extensions.get("timeout", {})
        try:
            content = request.content
        except httpx.RequestNotRead:
            content = await request.aread()
        with _httpx_errors(request):
            response = await session.request(
                request.method,
                URL(str(request.url), encoded=True),
                headers=request.headers.multi_items(),
                data=content or None,
                allow_redirects=False,
                timeout=aiohttp.ClientTimeout(
                    total=None,
                    connect=timeout.get("pool"),
                    sock_connect=timeout.get("connect"),
                    sock_read=timeout.get("read"),
                ),
                server_hostname=request.extensions.get("sni_hostname"),
            )
        extensions: dict[str, Any] = {"http_version": b"HTTP/1.1"}
        if response.reason:
            extensions["reason_phrase"] = response.reason.encode()
        return httpx.Response(
            response.status,
            headers=response.raw_headers,
            stream=_Body(response, request),
            request=request,
            extensions=extensions,
        )

    async def post(
        self,
        url: str,
        *,
        content: bytes,
        headers: Mapping[str, str],
        cap: int,
        ssl_context: ssl.SSLContext | None = None,
    ) -> Reply:
        """One POST straight through aiohttp, without building httpx's request and
        response: what ``HttpClients.post`` uses (half the CPU of going through
        ``httpx.AsyncClient``). The caller bounds it with its one timeout."""
        session = self._open()
        address = target(url)

        def request() -> httpx.Request:
            return httpx.Request("POST", url)

        with _httpx_errors(request):
            response = await session.request(
                "POST",
                address,
                headers=headers,
                data=content,
                allow_redirects=False,
                # A webhook's own context (client certificate, private CA); the
                # pool keys connections by it, so they are never shared across.
                ssl=ssl_context if ssl_context is not None else True,
            )
            try:
                body = await read_body(
                    response.content.iter_chunked(_CHUNK),
                    content_encoding=response.headers.get("content-encoding", ""),
                    cap=cap,
                )
            finally:
                if response.content.at_eof():
                    response.release()
                else:
                    response.close()
        return Reply(response.status, httpx.Headers(response.raw_headers), body)

    async def aclose(self) -> None:
        if self._session is not None:
            await self._session.close()
            self._session = None
