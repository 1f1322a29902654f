"""What an endpoint answers, or a value stored before it was checked, can neither
leak a secret nor make an attempt anything but one judged, logged attempt."""

from __future__ import annotations

import asyncio
import base64
import json
import logging
import uuid
from typing import Any

import pytest
from sqlmodel import Session
from temporalio.client import Client, WorkflowHandle
from temporalio.worker import Worker

from activities.contracts import DeliveryStatus, FailureType
from activities.log.attempts import attempts_of, excerpt_of, list_deliveries
from activities.store.crypto import SecretBox
from activities.store.secrets import SecretCreate, create_secret
from activities.store.tables import Attempt, Delivery, Webhook
from tests.helpers import add_webhook, eventually, start, wait_for_requests, wait_state
from tests.servers import TricklingServer
from tests.worker.cli import Cli
from worker.devstack.receiver import Receiver, Reply
from worker.runtime.settings import Settings

FAST = [0.0, 0.2]


def change_row(engine: Any, webhook_id: uuid.UUID, **columns: Any) -> None:
    """Store values as an older release accepted them, past today's validation."""
    with Session(engine) as session:
        webhook = session.get(Webhook, webhook_id)
        assert webhook is not None
        for name, value in columns.items():
            setattr(webhook, name, value)
        session.add(webhook)
        session.commit()


def logged(engine: Any, session_id: str) -> list[tuple[Delivery, list[Attempt]]]:
    with Session(engine) as session:
        rows = list_deliveries(session=session, session_id=session_id)
        return [(row, attempts_of(session=session, delivery=row.id)) for row in rows]


async def settled(handle: WorkflowHandle[Any, Any], count: int) -> Any:
    return await wait_state(
        handle,
        lambda s: (
            len(s.deliveries) >= count
            and all(d.status != DeliveryStatus.PENDING for d in s.deliveries)
        ),
        timeout=60,
    )


async def raw_history(client: Client, workflow_id: str) -> bytes:
    handle = client.get_workflow_handle(workflow_id)
    history = await handle.fetch_history()
    raw = b"".join(event.SerializeToString() for event in history.events)
    return raw + history.to_json().encode()


async def test_no_secret_leaks_whatever_the_endpoint_answers(
    client: Client,
    worker: Worker,
    settings: Settings,
    engine: Any,
    box: SecretBox,
    receiver: Receiver,
    caplog: pytest.LogCaptureFixture,
    cli: Cli,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    caplog.set_level(logging.DEBUG)
    # 1. A custom-auth value with a trailing vertical tab, stored before values
    #    were checked: httpx refuses it, quoting it in full.
    spaced = add_webhook(
        engine, box, type="form_submitted", url=receiver.url("/spaced"), retry_schedule=FAST
    )
    change_row(
        engine, spaced, auth="custom", custom_auth_enc=box.seal_json({"X-Key": "cust0m-s3cret\v"})
    )
    # 2. A token endpoint whose token carries a line break.
    with Session(engine) as session:
        create_secret(
            session=session,
            data=SecretCreate(
                project="acme",
                alias="tok",
                token_url=receiver.url("/token"),
                convention="general",
                username="svc",
                password="t0kpass-s3cret",
            ),
            box=box,
        )
    token = "t0ken-s3cret\r\nX-Injected: 1"
    receiver.always("/token", Reply(body=json.dumps({"access_token": token}).encode()))
    add_webhook(
        engine,
        box,
        type="form_submitted",
        url=receiver.url("/bearer"),
        secret_alias="tok",
        retry_schedule=FAST,
    )
    # 3. A receiver that echoes the credentials it got, failing.
    add_webhook(
        engine,
        box,
        type="form_submitted",
        url=receiver.url("/echo"),
        basic_username="dana",
        basic_password="b4sic-s3cret",
        retry_schedule=FAST,
    )
    pair = base64.b64encode(b"dana:b4sic-s3cret").decode()
    echoed = {"error": "denied", "got": f"Basic {pair}", "password": "b4sic-s3cret"}
    receiver.always("/echo", Reply(status=500, body=json.dumps(echoed).encode()))
    add_webhook(engine, box, type="delivery_failed", url=receiver.url("/alert"))

    handle = await start(client, settings)
    await handle.signal("form_submitted", {"form_data": {"a": 1}})
    state = await settled(handle, 4)
    alerts = await wait_for_requests(receiver, 3, "/alert")

    failed = [d for d in state.deliveries if d.status == DeliveryStatus.FAILED]
    assert len(failed) == 3
    assert receiver.at("/spaced") == [] and receiver.at("/bearer") == []
    assert len(receiver.at("/echo")) == 2  # the password really went out
    errors = sorted(d.error or "" for d in failed)
    assert any("gave a token that cannot be sent in a header" in e for e in errors)
    assert any(
        "not sent: the value of header 'X-Key' has leading or trailing spaces" in e for e in errors
    )

    forbidden = ["cust0m-s3cret", "t0ken-s3cret", "t0kpass-s3cret", "b4sic-s3cret", pair]
    texts = {
        "history": (await raw_history(client, handle.id)).decode(errors="replace"),
        "alerts": "\n".join(r.body.decode() for r in alerts),
        "log": "\n".join(record.getMessage() for record in caplog.records),
    }
    # The alerts' attempts are logged right after the receiver answers them.
    rows = await eventually(
        lambda: asyncio.to_thread(logged, engine, state.id),
        lambda rows: sum(len(attempts) for _, attempts in rows) == 2 * 3 + 3,
    )
    texts["delivery log"] = "\n".join(
        f"{row.last_error} {a.error} {excerpt_of(a, box=box)}"
        for row, attempts in rows
        for a in attempts
    )
    monkeypatch.setenv("HOOKFLOW_SECRET_KEY", "test-secret-key")
    texts["deliveries show"] = "\n".join(
        cli.ok("deliveries", "show", row.id, *json_flag)
        for row, _ in rows
        for json_flag in ((), ("--json",))
    )
    assert "********" in texts["deliveries show"]  # the echo is there, redacted
    for where, text in texts.items():
        for secret in forbidden:
            assert secret not in text, f"{secret!r} in the {where}"


async def test_any_failure_is_one_judged_and_logged_attempt(
    client: Client,
    worker: Worker,
    settings: Settings,
    engine: Any,
    box: SecretBox,
    receiver: Receiver,
) -> None:
    # Values an older release accepted, which httpx refuses with untyped exceptions.
    accented = add_webhook(
        engine, box, type="session_created", url=receiver.url("/a"), retry_schedule=FAST
    )
    change_row(engine, accented, headers={"X-Tenant": "acmé"})
    octal = add_webhook(
        engine, box, type="session_created", url=receiver.url("/o"), retry_schedule=FAST
    )
    change_row(engine, octal, url="http://0177.0.0.1/hook")
    # A Retry-After that str.isdigit() accepts and float() does not.
    add_webhook(engine, box, type="session_created", url=receiver.url("/r"), retry_schedule=FAST)
    receiver.always("/r", Reply(status=503, headers={"retry-after": "²"}))

    handle = await start(client, settings)
    state = await settled(handle, 3)
    assert [d.status for d in state.deliveries] == [DeliveryStatus.FAILED] * 3
    assert len(receiver.at("/r")) == 2  # the ladder, not Temporal's backoff
    outcomes = {}
    for row, attempts in logged(engine, state.id):
        assert [a.outcome for a in attempts] == ["retrying", "failed"]
        assert all(a.error and "\n" not in a.error for a in attempts)
        outcomes[str(row.webhook_id)] = attempts[-1].error
    assert outcomes[str(accented)] == (
        "not sent: the value of header 'X-Tenant' has a non-ASCII character, "
        "which HTTP cannot carry"
    )
    assert outcomes[str(octal)].startswith("InvalidURL: Invalid IPv4 address")

    history = await client.get_workflow_handle(handle.id).fetch_history()
    failures = [
        e.activity_task_failed_event_attributes.failure
        for e in history.events
        if e.HasField("activity_task_failed_event_attributes")
    ]
    assert len(failures) == 3
    for failure in failures:
        assert failure.application_failure_info.type == FailureType.EXHAUSTED
        assert "\n" not in failure.message
        assert "Traceback" not in failure.stack_trace


async def test_timed_out_and_refused_attempts_log_their_real_latency(
    client: Client, worker: Worker, settings: Settings, engine: Any, box: SecretBox
) -> None:
    with TricklingServer(every=1.0, length=600) as server:
        add_webhook(
            engine,
            box,
            type="session_created",
            url=server.url("/slow"),
            timeout=1.5,
            retry_schedule=[0.0],
        )
        add_webhook(
            engine, box, type="session_created", url="http://10.1.2.3/hook", retry_schedule=[0.0]
        )
        handle = await start(client, settings)
        # Without the whole-attempt bound, this attempt lasted until Temporal's
        # own timeout (timeout + 15 s) and was never logged.
        state = await settled(handle, 2)
    [(slow_row, [slow])] = [
        (r, a)
        for r, a in logged(engine, state.id)
        if r.status_code is None and a[0].outcome == "failed"
    ]
    [(_, [refused])] = [(r, a) for r, a in logged(engine, state.id) if a[0].outcome == "refused"]
    assert slow.error == "timed out after 1.5s"
    assert 1400 <= slow.latency_ms < 5000
    assert refused.error and "10.1.2.3 is private" in refused.error
    assert refused.latency_ms > 0
    assert slow_row.status == "failed"
