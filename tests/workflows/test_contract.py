"""The receiver's side, end to end against a loopback receiver: each body names
its schema version and fits it, signatures (HMAC and ed25519) verify with an
independent verifier, and filters decide what is sent."""

from __future__ import annotations

import asyncio
import base64
import dataclasses
import hashlib
import hmac
import json
import uuid

import pytest
from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PublicKey
from pydantic import ValidationError
from sqlmodel import Session, select
from temporalio.client import Client
from temporalio.worker import Worker

from activities.contracts import DeliveryStatus
from activities.delivery.signing import new_secret
from activities.schemas import schema_name
from activities.store.crypto import SecretBox
from activities.store.tables import Attempt, Delivery, Webhook
from activities.store.webhooks import WebhookPublic, WebhookSettings, public, update_webhook
from tests.helpers import (
    add_webhook,
    eventually,
    start,
    validate,
    wait_for_requests,
    wait_state,
)
from worker.devstack.receiver import Received, Receiver, Reply
from worker.runtime.settings import Settings


async def test_every_delivery_names_its_schema_and_fits_it(
    client: Client, worker: Worker, settings: Settings, engine, box: SecretBox, receiver: Receiver
) -> None:
    add_webhook(engine, box, type="session_created", url=receiver.url("/created"))
    add_webhook(engine, box, type="form_loaded", url=receiver.url("/loaded"))
    handle = await start(client, settings, labels={"REGION": "EU"})
    await handle.signal("form_loaded", {"client": {"ip": "203.0.113.7"}})
    [created] = await wait_for_requests(receiver, 1, "/created")
    [loaded] = await wait_for_requests(receiver, 1, "/loaded")
    assert (
        created.headers["webhook-schema"] == schema_name("session_created") == "session_created.v1"
    )
    assert loaded.headers["webhook-schema"] == "form_loaded.v1"
    validate(created.json(), "session_created")
    validate(loaded.json(), "form_loaded")


# --- signatures, checked by an independent verifier ---------------------------------


def verify_v1a(public_key: str, received: Received) -> int:
    """How many ``v1a`` signatures of ``received`` the ``whpk_`` key verifies
    (the Standard Webhooks check, with ``cryptography`` alone)."""
    key = Ed25519PublicKey.from_public_bytes(base64.b64decode(public_key.removeprefix("whpk_")))
    signed = f"{received.headers['webhook-id']}.{received.headers['webhook-timestamp']}.".encode()
    good = 0
    for part in received.headers["webhook-signature"].split(" "):
        version, _, signature = part.partition(",")
        if version != "v1a":
            continue
        try:
            key.verify(base64.b64decode(signature), signed + received.body)
        except InvalidSignature:
            continue
        good += 1
    return good


def verify_v1(secret: str, received: Received) -> bool:
    key = base64.b64decode(secret.removeprefix("whsec_"))
    signed = f"{received.headers['webhook-id']}.{received.headers['webhook-timestamp']}.".encode()
    digest = base64.b64encode(hmac.new(key, signed + received.body, hashlib.sha256).digest())
    return f"v1,{digest.decode()}" in received.headers["webhook-signature"].split(" ")


def shown(engine, box: SecretBox, webhook_id: uuid.UUID) -> WebhookPublic:
    with Session(engine) as session:
        webhook = session.get(Webhook, webhook_id)
        assert webhook is not None
        return public(webhook, templates=[], box=box)


def change(engine, box: SecretBox, webhook_id: uuid.UUID, **fields: object) -> WebhookPublic:
    with Session(engine) as session:
        webhook = session.get(Webhook, webhook_id)
        assert webhook is not None
        update_webhook(session=session, webhook=webhook, data=WebhookSettings(**fields), box=box)
    return shown(engine, box, webhook_id)


async def test_ed25519_signatures_verify_and_rotation_signs_with_both_keys(
    client: Client, worker: Worker, settings: Settings, engine, box: SecretBox, receiver: Receiver
) -> None:
    hook = add_webhook(
        engine, box, type="form_loaded", url=receiver.url("/signed"), signature="ed25519"
    )
    first = shown(engine, box, hook)
    assert first.signature == "ed25519" and first.signing_secret == "whsk_********"
    assert first.public_key is not None and first.public_key.startswith("whpk_")
    handle = await start(client, settings)
    await handle.signal("form_loaded", {"event_id": "one"})
    [one] = await wait_for_requests(receiver, 1, "/signed")
    assert one.headers["webhook-signature"].startswith("v1a,")
    assert verify_v1a(first.public_key, one) == 1
    tampered = dataclasses.replace(one, body=one.body.replace(b"}", b" }", 1))
    assert verify_v1a(first.public_key, tampered) == 0

    # A new key: the old one signs too during the grace, both in the header.
    second = change(engine, box, hook, signing_secret=new_secret("ed25519"), signing_grace=3600)
    assert second.public_key != first.public_key
    assert second.previous_public_key == first.public_key and second.signing_rotation_until
    await asyncio.sleep(1.2)  # the worker's cache of the webhook (1 s)
    await handle.signal("form_loaded", {"event_id": "two"})
    _, two = await wait_for_requests(receiver, 2, "/signed")
    assert len(two.headers["webhook-signature"].split(" ")) == 2
    assert verify_v1a(second.public_key or "", two) == 1
    assert verify_v1a(first.public_key, two) == 1

    # Back to HMAC with a grace: v1 and v1a side by side, each verifiable.
    secret = new_secret()
    third = change(engine, box, hook, signing_secret=secret, signature="hmac")
    assert third.signature == "hmac" and third.public_key is None
    await asyncio.sleep(1.2)
    await handle.signal("form_loaded", {"event_id": "three"})
    *_, three = await wait_for_requests(receiver, 3, "/signed")
    assert verify_v1(secret, three) and verify_v1a(second.public_key or "", three) == 1
    assert "whsk_" not in json.dumps(third.model_dump(mode="json"))


# --- filters ------------------------------------------------------------------------


def logged(engine, session_id: str) -> list[Delivery]:
    with Session(engine) as session:
        query = select(Delivery).where(Delivery.session_id == session_id)
        return sorted(session.exec(query), key=lambda d: d.sequence)


async def test_a_filter_delivers_what_it_is_true_for_and_records_the_rest_as_skipped(
    client: Client, worker: Worker, settings: Settings, engine, box: SecretBox, receiver: Receiver
) -> None:
    add_webhook(
        engine,
        box,
        type="form_loaded",
        url=receiver.url("/eu"),
        filter="session.labels.REGION == 'EU'",
    )
    eu = await start(client, settings, labels={"REGION": "EU"})
    us = await start(client, settings, labels={"REGION": "US"})
    await us.signal("form_loaded", {})
    await eu.signal("form_loaded", {})
    [sent] = await wait_for_requests(receiver, 1, "/eu")
    assert sent.json()["session"]["labels"] == {"REGION": "EU"}
    state = await wait_state(us, lambda s: s.deliveries[0].status == DeliveryStatus.SKIPPED)
    reason = "filtered out: \"session.labels.REGION == 'EU'\" is false"
    assert state.deliveries[0].error == reason and state.deliveries[0].attempts == 0
    [row] = await eventually(
        lambda: asyncio.to_thread(logged, engine, state.id),
        lambda rows: rows[0].status == "skipped",
    )
    assert row.last_error == reason
    with Session(engine) as session:
        assert not session.exec(select(Attempt).where(Attempt.delivery_id == row.id)).first()
    eu_state = await wait_state(eu, lambda s: s.deliveries[0].status == DeliveryStatus.DELIVERED)
    assert eu_state.deliveries[0].error is None
    assert len(receiver.at("/eu")) == 1


async def test_a_filter_applies_to_each_event_of_a_batch_in_order(
    client: Client, worker: Worker, settings: Settings, engine, box: SecretBox, receiver: Receiver
) -> None:
    add_webhook(
        engine,
        box,
        type="client_logged_in",
        url=receiver.url("/in"),
        filter="client.channel != 'sms'",
    )
    receiver.script("/in", Reply(delay=1.0))  # the first holds the stream: the rest queue
    handle = await start(client, settings)
    for n, channel in enumerate(["email", "email", "sms", "email", "sms"]):
        await handle.signal(
            "client_logged_in", {"event_id": f"in-{n}", "client": {"channel": channel}}
        )
    await wait_for_requests(receiver, 3, "/in")
    state = await wait_state(
        handle, lambda s: sum(d.status in ("delivered", "skipped") for d in s.deliveries) == 5
    )
    assert [d.status for d in sorted(state.deliveries, key=lambda d: d.sequence)] == [
        "delivered",
        "delivered",
        "skipped",
        "delivered",
        "skipped",
    ]
    got = [r.json()["client"]["channel"] for r in receiver.at("/in")]
    assert got == ["email", "email", "email"]
    rows = await eventually(
        lambda: asyncio.to_thread(logged, engine, state.id),
        lambda rows: [r.status for r in rows].count("skipped") == 2,
    )
    assert [r.status for r in rows].count("delivered") == 3


def test_a_filter_that_does_not_parse_is_refused(engine, box: SecretBox) -> None:
    with pytest.raises(ValidationError, match="does not parse as JMESPath"):
        add_webhook(engine, box, type="form_loaded", url="https://x.example.com/", filter="a.[")
    with Session(engine) as session:
        assert session.exec(select(Webhook)).first() is None
