"""Mutual TLS and private CAs, for real: certificates made here, an HTTPS
receiver on loopback that requires a client certificate (CERT_REQUIRED), both
transports."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from datetime import timedelta
from pathlib import Path

import httpx
import pytest

from activities.delivery import http as http_module
from activities.delivery.guard import parse_networks
from activities.delivery.http import RESET_NO_CERT, HttpClients
from activities.delivery.tls import WebhookTls, check_ca_bundle, check_client_cert
from tests.tls import TestCA, TlsReceiver
from worker.devstack.receiver import Reply

NO_CERT = "TLS handshake refused: the endpoint requires a client certificate"


@pytest.fixture(params=["aiohttp", "httpx"])
async def http(request: pytest.FixtureRequest) -> AsyncIterator[HttpClients]:
    clients = HttpClients(allowed=parse_networks("127.0.0.0/8"), transport=request.param)
    yield clients
    await clients.aclose()


@pytest.fixture
def ca() -> TestCA:
    return TestCA()


@pytest.fixture
def mtls_receiver(ca: TestCA, tmp_path: Path) -> AsyncIterator[TlsReceiver]:
    with TlsReceiver(ca.issue("127.0.0.1", server=True), tmp_path, client_ca=ca) as rx:
        yield rx


async def _post(http: HttpClients, url: str, tls: WebhookTls | None, verify: bool = True) -> int:
    reply = await http.post(
        url, content=b'{"n": 1}', headers={}, timeout=10, verify_ssl=verify, tls=tls
    )
    return reply.status_code


async def test_a_client_certificate_is_presented_and_accepted(
    http: HttpClients, ca: TestCA, mtls_receiver: TlsReceiver
) -> None:
    client = ca.issue("crm-client")
    tls = WebhookTls(
        version="w1/1", client_cert=client.cert, client_key=client.key, ca_bundle=ca.pem
    )
    assert await _post(http, mtls_receiver.url("/hook"), tls) == 200
    assert mtls_receiver.at("/hook")[0].body == b'{"n": 1}'


async def test_without_a_client_certificate_the_handshake_is_refused_in_one_line(
    http: HttpClients, ca: TestCA, mtls_receiver: TlsReceiver
) -> None:
    tls = WebhookTls(version="w2/1", ca_bundle=ca.pem)
    with pytest.raises(httpx.TransportError) as caught:
        await _post(http, mtls_receiver.url("/hook"), tls)
    if http.transport == "aiohttp":  # httpcore's TLS stream drops the server's alert
        # TLS 1.3: the server's alert comes after the handshake, and a reset can
        # overtake it when the server closes with the request unread.
        assert str(caught.value) in (NO_CERT, RESET_NO_CERT)
    assert mtls_receiver.at("/hook") == []


async def test_a_private_ca_is_trusted_with_verification_on(
    http: HttpClients, ca: TestCA, tmp_path: Path
) -> None:
    with TlsReceiver(ca.issue("127.0.0.1", server=True), tmp_path) as rx:
        with pytest.raises(httpx.TransportError) as caught:
            await _post(http, rx.url("/hook"), None)  # the system's CAs do not know it
        assert str(caught.value).startswith("TLS: the endpoint's certificate is not trusted")
        assert (
            await _post(http, rx.url("/hook"), WebhookTls(version="w3/1", ca_bundle=ca.pem)) == 200
        )
        other = TestCA("another CA")
        with pytest.raises(httpx.TransportError):
            await _post(http, rx.url("/hook"), WebhookTls(version="w3/2", ca_bundle=other.pem))
    assert len(rx.at("/hook")) == 1


def test_bad_material_is_one_clear_line(ca: TestCA) -> None:
    client, other = ca.issue("a"), ca.issue("b")
    cases = [
        (("not a cert", client.key), "client certificate: not a PEM certificate"),
        ((client.cert, "nope"), "client key: not a PEM private key"),
        ((client.cert, other.key), "client key: it does not match the client certificate"),
    ]
    for (cert, key), message in cases:
        with pytest.raises(ValueError) as caught:
            check_client_cert(cert, key)
        assert str(caught.value).startswith(message)
        assert "\n" not in str(caught.value)
    expired = ca.issue("old", starts=timedelta(days=-20), valid=timedelta(days=2))
    with pytest.raises(ValueError, match=r"^client certificate: expired on 20"):
        check_client_cert(expired.cert, expired.key)
    with pytest.raises(ValueError, match="CA bundle: not a PEM certificate"):
        check_ca_bundle("-----BEGIN CERTIFICATE-----\ngarbage\n-----END CERTIFICATE-----\n")
    assert check_client_cert(client.cert, client.key).subject == "CN=a"


async def test_a_context_is_built_once_per_webhook_settings_version(
    http: HttpClients, ca: TestCA, mtls_receiver: TlsReceiver
) -> None:
    client = ca.issue("crm")
    tls = WebhookTls(
        version="w9/1", client_cert=client.cert, client_key=client.key, ca_bundle=ca.pem
    )
    for _ in range(3):
        assert await _post(http, mtls_receiver.url("/hook"), tls) == 200
    first = http._tls.get(tls, verify=True)
    assert len(http._tls._contexts) == 1
    rotated = WebhookTls(
        version="w9/2", client_cert=client.cert, client_key=client.key, ca_bundle=ca.pem
    )
    assert await _post(http, mtls_receiver.url("/hook"), rotated) == 200
    assert http._tls.get(rotated, verify=True) is not first
    assert http._tls.get(tls, verify=True) is first and len(http._tls._contexts) == 2


async def test_an_attempt_in_flight_on_an_evicted_client_completes(
    ca: TestCA, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """httpx's transport pools a client per settings version; when the oldest is
    evicted, the attempt still under way on it finishes, and it closes after."""
    monkeypatch.setattr(http_module, "TLS_CLIENTS", 2)
    http = HttpClients(allowed=parse_networks("127.0.0.0/8"), transport="httpx")
    try:
        with TlsReceiver(ca.issue("127.0.0.1", server=True), tmp_path) as rx:
            rx.always("/slow", Reply(delay=1.5))
            slow = asyncio.create_task(
                _post(http, rx.url("/slow"), WebhookTls(version="old/1", ca_bundle=ca.pem))
            )
            await asyncio.sleep(0.5)  # on the wire: the receiver answers in 1.5 s
            [held] = http._tls_clients.values()
            for n in range(3):  # newer settings versions push the oldest out
                tls = WebhookTls(version=f"new/{n}", ca_bundle=ca.pem)
                assert await _post(http, rx.url("/fast"), tls) == 200
            assert held not in http._tls_clients.values() and not held.is_closed
            assert await slow == 200
            assert held.is_closed  # closed by the attempt that let it go last
            assert len(http._tls_clients) == 2
    finally:
        await http.aclose()
