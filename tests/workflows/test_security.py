"""Bearer tokens, signatures and secrets on real deliveries, and a scan of every history."""

from __future__ import annotations

import asyncio
import base64
import json
import logging
from urllib.parse import parse_qs

import pytest
from sqlmodel import Session
from standardwebhooks.webhooks import Webhook as Verifier
from temporalio.client import Client
from temporalio.worker import Worker

from activities.contracts import DeliveryStatus
from activities.delivery.signing import new_secret
from activities.store.crypto import SecretBox
from activities.store.secrets import SecretCreate, create_secret
from activities.store.tables import Webhook
from activities.store.webhooks import WebhookSettings, update_webhook
from tests.helpers import add_webhook, start, wait_for_requests, wait_state
from worker.devstack.receiver import Receiver, Reply
from worker.runtime.settings import Settings


def add_secret(engine, box: SecretBox, **fields: str) -> None:
    with Session(engine) as session:
        create_secret(session=session, data=SecretCreate(project="acme", **fields), box=box)


def token_reply(token: str, expires_in: int = 3600) -> Reply:
    return Reply(body=json.dumps({"access_token": token, "expires_in": expires_in}).encode())


async def test_bearer_token_general_is_fetched_once_and_refreshed_on_401(
    client: Client, worker: Worker, settings: Settings, engine, box: SecretBox, receiver: Receiver
) -> None:
    add_secret(
        engine,
        box,
        alias="crm-token",
        token_url=receiver.url("/token"),
        convention="general",
        username="svc",
        password="pw-1",
        scope="hooks",
    )
    receiver.script("/token", token_reply("tok-1"), token_reply("tok-2"))
    add_webhook(
        engine, box, type="storage_callback", url=receiver.url("/h"), secret_alias="crm-token"
    )
    handle = await start(client, settings)
    await handle.signal("storage_completed", {"storage": {"n": 1}})
    await handle.signal("storage_completed", {"storage": {"n": 2}})
    first, second = await wait_for_requests(receiver, 2, "/h")
    assert first.headers["authorization"] == second.headers["authorization"] == "Bearer tok-1"
    [token_request] = receiver.at("/token")
    assert token_request.headers["content-type"] == "application/x-www-form-urlencoded"
    assert parse_qs(token_request.body.decode()) == {
        "username": ["svc"],
        "password": ["pw-1"],
        "grant_type": ["password"],
        "scope": ["hooks"],
    }
    # The receiver revokes the token: one 401, a new token, the same attempt succeeds.
    receiver.script("/h", Reply(status=401))
    await handle.signal("storage_completed", {"storage": {"n": 3}})
    requests = await wait_for_requests(receiver, 4, "/h")
    assert [r.headers["authorization"] for r in requests[2:]] == ["Bearer tok-1", "Bearer tok-2"]
    state = await wait_state(
        handle,
        lambda s: (
            len(s.deliveries) == 3
            and all(d.status == DeliveryStatus.DELIVERED for d in s.deliveries)
        ),
    )
    assert [d.attempts for d in state.deliveries] == [1, 1, 1]


async def test_microsoft_graph_convention(
    client: Client, worker: Worker, settings: Settings, engine, box: SecretBox, receiver: Receiver
) -> None:
    add_secret(
        engine,
        box,
        alias="graph",
        token_url=receiver.url("/oauth2/v2.0/token"),
        convention="microsoft_graph",
        client_id="app-1",
        client_secret="cs-1",
        scope="https://graph.microsoft.com/.default",
    )
    receiver.always("/oauth2/v2.0/token", token_reply("graph-token"))
    add_webhook(engine, box, type="session_created", url=receiver.url("/g"), secret_alias="graph")
    await start(client, settings)
    [request] = await wait_for_requests(receiver, 1, "/g")
    assert request.headers["authorization"] == "Bearer graph-token"
    form = parse_qs(receiver.at("/oauth2/v2.0/token")[0].body.decode())
    assert form == {
        "client_id": ["app-1"],
        "client_secret": ["cs-1"],
        "scope": ["https://graph.microsoft.com/.default"],
        "grant_type": ["client_credentials"],
    }


async def test_token_endpoint_failure_retries_the_delivery(
    client: Client, worker: Worker, settings: Settings, engine, box: SecretBox, receiver: Receiver
) -> None:
    add_secret(
        engine,
        box,
        alias="flaky",
        token_url=receiver.url("/t"),
        convention="general",
        username="u",
        password="p",
    )
    receiver.script("/t", Reply(status=503), token_reply("ok-token"))
    add_webhook(
        engine,
        box,
        type="session_created",
        url=receiver.url("/f"),
        secret_alias="flaky",
        retry_schedule=[0, 0.3],
    )
    handle = await start(client, settings)
    state = await wait_state(handle, lambda s: s.deliveries[0].status == DeliveryStatus.DELIVERED)
    assert state.deliveries[0].attempts == 2
    assert (await wait_for_requests(receiver, 1, "/f"))[0].headers[
        "authorization"
    ] == "Bearer ok-token"


async def test_signatures_verify_before_and_during_rotation(
    client: Client, worker: Worker, settings: Settings, engine, box: SecretBox, receiver: Receiver
) -> None:
    old = new_secret()
    hook = add_webhook(
        engine, box, type="storage_callback", url=receiver.url("/s"), signing_secret=old
    )
    handle = await start(client, settings)
    await handle.signal("storage_completed", {"storage": {"n": 1}})
    [before] = await wait_for_requests(receiver, 1, "/s")
    Verifier(old).verify(before.body, before.headers)

    new = new_secret()
    with Session(engine) as session:
        webhook = session.get(Webhook, hook)
        assert webhook is not None
        update_webhook(
            session=session, webhook=webhook, data=WebhookSettings(signing_secret=new), box=box
        )
    await asyncio.sleep(1.1)  # workers read a webhook's settings at most a second old
    await handle.signal("storage_completed", {"storage": {"n": 2}})
    during = (await wait_for_requests(receiver, 2, "/s"))[1]
    assert len(during.headers["webhook-signature"].split(" ")) == 2
    Verifier(old).verify(during.body, during.headers)
    Verifier(new).verify(during.body, during.headers)


SECRET_VALUES = ["basic-pa55", "custom-v4lue", "tokpass-9", "bearer-t0ken", "header-s3cret"]


async def test_no_secret_in_any_history_or_log(
    client: Client,
    worker: Worker,
    settings: Settings,
    engine,
    box: SecretBox,
    receiver: Receiver,
    caplog: pytest.LogCaptureFixture,
) -> None:
    caplog.set_level(logging.DEBUG)
    signing = new_secret()
    add_secret(
        engine,
        box,
        alias="tok",
        token_url=receiver.url("/token"),
        convention="general",
        username="svc",
        password="tokpass-9",
    )
    receiver.always("/token", token_reply("bearer-t0ken"))
    kinds = [
        {"basic_username": "crm", "basic_password": "basic-pa55"},
        {"custom_auth": {"X-Api-Key": "custom-v4lue"}},
        {"secret_alias": "tok"},
        {"signing_secret": signing, "headers": {"X-Private": "header-s3cret"}},
    ]
    for n, auth in enumerate(kinds):
        add_webhook(engine, box, type="form_submitted", url=receiver.url(f"/k{n}"), **auth)
    # One endpoint fails for good, so failures and retries are in the histories too.
    add_webhook(
        engine,
        box,
        type="form_submitted",
        url=receiver.url("/bad"),
        basic_username="x",
        basic_password="basic-pa55",
        retry_schedule=[0, 0.2],
    )
    receiver.always("/bad", Reply(status=500, body=b"no"))
    handles = [await start(client, settings) for _ in range(2)]
    for handle in handles:
        await handle.signal("form_submitted", {"form_data": {"a": 1}})
    for handle in handles:
        await wait_state(
            handle,
            lambda s: (
                len(s.deliveries) == 5
                and all(d.status != DeliveryStatus.PENDING for d in s.deliveries)
            ),
        )
    for n in range(4):
        assert len(receiver.at(f"/k{n}")) == 2  # the secrets were really used

    forbidden = [v.encode() for v in SECRET_VALUES] + [signing.encode()]
    forbidden += [base64.b64encode(b"crm:basic-pa55"), base64.b64encode(b"x:basic-pa55")]
    forbidden += [signing.removeprefix("whsec_").encode()]
    scanned = set()
    async for execution in client.list_workflows(f"TaskQueue = '{settings.task_queue}'"):
        scanned.add(execution.id)
        handle = client.get_workflow_handle(execution.id, run_id=execution.run_id)
        history = await handle.fetch_history()
        raw = b"".join(event.SerializeToString() for event in history.events)
        description = await handle.describe()
        raw += description.raw_description.SerializeToString()
        raw += history.to_json().encode()
        for secret in forbidden:
            assert secret not in raw, f"{secret!r} found in the history of {execution.id}"
    assert scanned == {h.id for h in handles}
    logged = "\n".join(record.getMessage() for record in caplog.records)
    for value in SECRET_VALUES + [signing]:
        assert value not in logged
