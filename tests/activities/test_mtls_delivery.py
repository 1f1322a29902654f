"""A webhook's delivery over mutual TLS, end to end through the delivery
activity: accepted with its client certificate, refused without it in one line,
a private CA trusted with verification on, a rotated certificate used by the
next delivery."""

from __future__ import annotations

import asyncio
import uuid
from collections.abc import AsyncIterator
from pathlib import Path

import pytest
from sqlalchemy.engine import Engine
from sqlmodel import Session
from temporalio.exceptions import ApplicationError

from activities.delivery.activity import DeliveryActivities
from activities.delivery.http import RESET_NO_CERT
from activities.store.crypto import SecretBox
from activities.store.tables import Webhook
from activities.store.webhooks import WebhookSettings, update_webhook
from tests.activities.delivering import delivery_activities, logged, request, run_deliver
from tests.helpers import add_webhook
from tests.tls import Pem, TestCA, TlsReceiver

NO_CERT = "TLS handshake refused: the endpoint requires a client certificate"


@pytest.fixture(params=["aiohttp", "httpx"])
async def activities(
    engine: Engine,
    box: SecretBox,
    tmp_path: Path,
    request: pytest.FixtureRequest,
) -> AsyncIterator[DeliveryActivities]:
    async with delivery_activities(engine, box, tmp_path, transport=request.param) as acts:
        yield acts


def _hook(engine: Engine, box: SecretBox, url: str, ca: TestCA, client: Pem | None) -> uuid.UUID:
    tls = {"client_cert": client.cert, "client_key": client.key} if client else {}
    return add_webhook(engine, box, type="storage_callback", url=url, ca_bundle=ca.pem, **tls)


async def test_the_delivery_presents_the_webhooks_client_certificate(
    activities: DeliveryActivities, engine: Engine, box: SecretBox, tmp_path: Path
) -> None:
    ca = TestCA()
    with TlsReceiver(ca.issue("127.0.0.1", server=True), tmp_path, client_ca=ca) as rx:
        webhook = _hook(engine, box, rx.url("/mtls"), ca, ca.issue("crm"))
        result = await run_deliver(activities, request(webhook, 1, 2))
        assert result.status_code == 200
        assert [r.json()["storage"] for r in rx.at("/mtls")] == [{"n": 1}, {"n": 2}]


async def test_without_one_the_attempt_says_why_in_one_line(
    activities: DeliveryActivities, engine: Engine, box: SecretBox, tmp_path: Path
) -> None:
    ca = TestCA()
    with TlsReceiver(ca.issue("127.0.0.1", server=True), tmp_path, client_ca=ca) as rx:
        webhook = _hook(engine, box, rx.url("/mtls"), ca, None)
        with pytest.raises(ApplicationError) as caught:
            await run_deliver(activities, request(webhook, 1))
        assert rx.at("/mtls") == []
    ((delivery, attempts),) = logged(engine, webhook)
    error = attempts[0].error or ""
    if activities._sender._http.transport == "aiohttp":
        # TLS 1.3: the alert can be overtaken by a reset (see http.RESET_NO_CERT).
        assert error in (NO_CERT, RESET_NO_CERT)
        assert error in str(caught.value)
    assert "\n" not in error and delivery.status == "pending"


async def test_a_rotated_certificate_is_used_by_the_next_delivery(
    activities: DeliveryActivities, engine: Engine, box: SecretBox, tmp_path: Path
) -> None:
    ca, trusted = TestCA("server CA"), TestCA("client CA")
    untrusted = TestCA("retired CA")
    server = ca.issue("127.0.0.1", server=True)
    with TlsReceiver(server, tmp_path, client_ca=trusted) as rx:
        webhook = _hook(engine, box, rx.url("/rot"), ca, untrusted.issue("old"))
        with pytest.raises(ApplicationError):
            await run_deliver(activities, request(webhook, 1))
        new = trusted.issue("new")
        with Session(engine) as session:
            row = session.get(Webhook, webhook)
            assert row is not None
            update_webhook(
                session=session,
                webhook=row,
                data=WebhookSettings(client_cert=new.cert, client_key=new.key),
                box=box,
            )
        await asyncio.sleep(1.1)  # the worker reads a webhook again after a second
        result = await run_deliver(activities, request(webhook, 2))
        assert result.status_code == 200 and len(rx.at("/rot")) == 1


async def test_a_private_ca_is_trusted_and_verification_stays_on(
    activities: DeliveryActivities, engine: Engine, box: SecretBox, tmp_path: Path
) -> None:
    ca = TestCA()
    with TlsReceiver(ca.issue("127.0.0.1", server=True), tmp_path) as rx:
        trusting = _hook(engine, box, rx.url("/ca"), ca, None)
        assert (await run_deliver(activities, request(trusting, 1))).status_code == 200
        plain = add_webhook(engine, box, type="storage_callback", url=rx.url("/ca"))
        with pytest.raises(ApplicationError) as caught:
            await run_deliver(activities, request(plain, 1))
        assert "TLS: the endpoint's certificate is not trusted" in str(caught.value)
        assert len(rx.at("/ca")) == 1
