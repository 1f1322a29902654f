"""Both HTTP transports keep the delivery path's guarantees: the guard sees IP
literals too, environment proxies are ignored, redirects are not followed, the
same headers go on the wire, and failures are httpx's errors. The aiohttp one
(the default) is also usable through httpx's client."""

from __future__ import annotations

import gzip
import socket
from collections.abc import AsyncIterator
from pathlib import Path
from typing import get_args

import httpx
import pytest

from activities.delivery.guard import parse_networks
from activities.delivery.http import TRANSPORTS, HttpClients
from activities.errors import DestinationRefused, SettingsError
from worker.devstack.receiver import Receiver, Reply
from worker.runtime.settings import HttpTransport, Settings

LOOPBACK = parse_networks("127.0.0.0/8")


@pytest.fixture(params=["aiohttp", "httpx"])
async def http(request: pytest.FixtureRequest) -> AsyncIterator[HttpClients]:
    clients = HttpClients(allowed=LOOPBACK, transport=request.param)
    yield clients
    await clients.aclose()


async def post(http: HttpClients, url: str, headers: dict[str, str] | None = None) -> int:
    reply = await http.post(url, content=b"{}", headers=headers or {}, timeout=5, verify_ssl=True)
    return reply.status_code


def test_the_transport_is_chosen_by_the_settings(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    monkeypatch.delenv("HOOKFLOW_HTTP_TRANSPORT", raising=False)
    assert Settings.from_env(data_dir=tmp_path).http_transport == "aiohttp" == TRANSPORTS[0]
    assert HttpClients().transport == "aiohttp"
    monkeypatch.setenv("HOOKFLOW_HTTP_TRANSPORT", "httpx")
    assert Settings.from_env(data_dir=tmp_path).http_transport == "httpx"
    assert get_args(HttpTransport) == TRANSPORTS
    monkeypatch.setenv("HOOKFLOW_HTTP_TRANSPORT", "curl")
    with pytest.raises(SettingsError, match="^HOOKFLOW_HTTP_TRANSPORT: 'curl' is not one of"):
        Settings.from_env(data_dir=tmp_path)


@pytest.mark.parametrize("transport", ["aiohttp", "httpx"])
@pytest.mark.parametrize("host", ["127.0.0.1", "[::1]"])
async def test_ip_literals_go_through_the_guard(transport: str, host: str) -> None:
    with Receiver() as receiver:
        clients = HttpClients(transport=transport)
        try:
            with pytest.raises(DestinationRefused, match="loopback"):
                await post(clients, f"http://{host}:{receiver.port}/")
        finally:
            await clients.aclose()
        assert receiver.requests == []


async def test_every_resolved_address_is_checked() -> None:
    """A name that resolves to a refused and an allowed address connects only to
    the allowed one (pytest-socket would refuse the other)."""

    async def resolver(host: str, port: int) -> list[str]:
        return ["10.0.0.1", "127.0.0.1"]

    with Receiver() as receiver:
        clients = HttpClients(allowed=LOOPBACK, resolver=resolver, transport="aiohttp")
        try:
            assert await post(clients, f"http://mixed.test:{receiver.port}/") == 200
        finally:
            await clients.aclose()
        assert len(receiver.requests) == 1


async def test_the_same_headers_go_on_the_wire(receiver: Receiver) -> None:
    seen = {}
    for transport in ("httpx", "aiohttp"):
        clients = HttpClients(allowed=LOOPBACK, transport=transport)
        try:
            await post(
                clients,
                receiver.url(f"/{transport}"),
                {"Accept-Encoding": "br", "content-type": "application/json", "X-One": "1"},
            )
            await post(clients, receiver.url(f"/{transport}"), {"ACCEPT": "text/plain"})
        finally:
            await clients.aclose()
        seen[transport] = [
            {k.lower(): v for k, v in r.headers.items()} for r in receiver.at(f"/{transport}")
        ]
    assert seen["aiohttp"] == seen["httpx"]
    first, second = seen["aiohttp"]
    assert first["accept-encoding"] == "gzip, deflate"
    assert first["user-agent"].startswith("hookflow/")
    assert (first["accept"], second["accept"]) == ("*/*", "text/plain")
    assert "content-type" not in second


async def test_redirects_are_not_followed(http: HttpClients, receiver: Receiver) -> None:
    receiver.always("/moved", Reply(status=302, body=b"", headers={"location": "/elsewhere"}))
    reply = await http.post(
        receiver.url("/moved"), content=b"{}", headers={}, timeout=5, verify_ssl=True
    )
    assert (reply.status_code, reply.headers["location"]) == (302, "/elsewhere")
    assert receiver.at("/elsewhere") == []


async def test_proxies_from_the_environment_are_ignored(
    http: HttpClients, receiver: Receiver, monkeypatch: pytest.MonkeyPatch
) -> None:
    for name in ("HTTP_PROXY", "http_proxy", "ALL_PROXY", "all_proxy"):
        monkeypatch.setenv(name, "http://10.255.255.1:3128")
    monkeypatch.delenv("NO_PROXY", raising=False)
    monkeypatch.delenv("no_proxy", raising=False)
    assert await post(http, receiver.url("/direct")) == 200
    assert len(receiver.at("/direct")) == 1


async def test_a_closed_port_is_a_connect_error(http: HttpClients) -> None:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    with pytest.raises(httpx.ConnectError):
        await post(http, f"http://127.0.0.1:{port}/")


async def test_other_schemes_are_refused(http: HttpClients) -> None:
    with pytest.raises(httpx.UnsupportedProtocol):
        await post(http, "ftp://127.0.0.1/")
    with pytest.raises(httpx.InvalidURL):
        await post(http, "http://256.1.1.1/")


async def test_httpx_client_over_aiohttp_keeps_the_guard_and_the_raw_body(
    receiver: Receiver,
) -> None:
    receiver.always("/z", Reply(body=gzip.compress(b"hello"), headers={"content-encoding": "gzip"}))
    clients = HttpClients(allowed=LOOPBACK, transport="aiohttp")
    refusing = HttpClients(transport="aiohttp")
    try:
        client = clients.client(verify_ssl=True)
        async with client.stream("POST", receiver.url("/z"), content=b"{}") as response:
            raw = b"".join([chunk async for chunk in response.aiter_raw()])
        assert gzip.decompress(raw) == b"hello"
        with pytest.raises(DestinationRefused):
            await refusing.client(verify_ssl=False).post(receiver.url("/z"), content=b"{}")
    finally:
        await clients.aclose()
        await refusing.aclose()
    assert len(receiver.at("/z")) == 1
