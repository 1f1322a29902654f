"""Durable time on the time-skipping server: the whole retry ladder, expiry, retention."""

from __future__ import annotations

from collections.abc import AsyncIterator
from datetime import timedelta
from typing import Any

import pytest
from sqlmodel import Session
from temporalio.client import WorkflowHandle
from temporalio.testing import WorkflowEnvironment
from temporalio.worker import Worker

from activities.contracts import DeliveryStatus, SessionState, SessionStatus
from activities.delivery.retry import DEFAULT_SCHEDULE
from activities.log.attempts import attempts_of, delivery_id
from activities.store.crypto import SecretBox
from tests.helpers import add_webhook, start
from tests.workflows.timeskipping import SessionWithoutSearchAttributes
from worker.devstack.receiver import Receiver, Reply
from worker.runtime.assembly import running_worker
from worker.runtime.settings import Settings


async def ladder_span(handle: WorkflowHandle[Any, SessionState]) -> timedelta:
    """Server time from the signal that fired the delivery (its first attempt
    follows at once, as a local activity) to its last attempt's start."""
    history = await handle.fetch_history()
    signalled = started = None
    for event in history.events:
        if event.HasField("workflow_execution_signaled_event_attributes") and not signalled:
            signalled = event.event_time.ToDatetime()
        elif event.HasField("activity_task_started_event_attributes") and signalled:
            started = event.event_time.ToDatetime()
    assert signalled and started
    return started - signalled


@pytest.fixture
async def ts_worker(
    time_env: WorkflowEnvironment, settings: Settings, engine, box: SecretBox
) -> AsyncIterator[Worker]:
    async with running_worker(
        time_env.client,
        settings,
        engine=engine,
        box=box,
        workflows=[SessionWithoutSearchAttributes],
    ) as worker:
        yield worker


async def test_whole_default_ladder_then_failed(
    time_env: WorkflowEnvironment,
    ts_worker: Worker,
    settings: Settings,
    engine,
    box: SecretBox,
    receiver: Receiver,
) -> None:
    hook = add_webhook(engine, box, alias="crm", type="session_deleted", url=receiver.url("/down"))
    receiver.always("/down", Reply(status=500))
    handle = await start(time_env.client, settings, attributes=False, retention=0)
    await handle.signal("delete")
    # The session ends only once its last delivery is settled: about 27.6 h later.
    state = await handle.result()
    elapsed = await ladder_span(handle)

    [delivery] = state.deliveries
    assert delivery.status == DeliveryStatus.FAILED
    assert delivery.attempts == len(DEFAULT_SCHEDULE) == 8
    requests = receiver.at("/down")
    assert len(requests) == 8
    assert len({r.headers["webhook-id"] for r in requests}) == 1
    span = sum(DEFAULT_SCHEDULE)  # 99 305 s, about 27.6 h
    assert timedelta(seconds=span * 0.8) <= elapsed <= timedelta(seconds=span * 1.2 + 600)
    with Session(engine) as session:
        log = attempts_of(
            session=session, delivery=delivery_id(event_id=delivery.event_id, webhook_id=hook)
        )
    assert [a.attempt for a in log] == list(range(1, 9))
    assert [a.outcome for a in log] == ["retrying"] * 7 + ["failed"]
    assert "retries exhausted (0s,5s,5m,30m,2h,5h,10h,10h)" in (delivery.error or "")


async def test_expiry_timer_then_retention_timer(
    time_env: WorkflowEnvironment,
    ts_worker: Worker,
    settings: Settings,
    engine,
    box: SecretBox,
    receiver: Receiver,
) -> None:
    add_webhook(engine, box, type="session_expired", url=receiver.url("/exp"))
    add_webhook(engine, box, type="session_deleted", url=receiver.url("/del"))
    started = await time_env.get_current_time()
    handle = await start(
        time_env.client, settings, attributes=False, expires_in="PT10M", retention=timedelta(days=3)
    )
    state = await handle.result()
    assert state.status == SessionStatus.DELETED
    assert [e.type for e in state.events] == [
        "WHEF_SESSION_CREATED",
        "WHEF_SESSION_EXPIRED",
        "WHEF_SESSION_DELETED",
    ]
    expired, deleted = state.events[1].timestamp, state.events[2].timestamp
    assert timedelta(minutes=10) <= expired - started < timedelta(minutes=11)
    assert timedelta(days=3) <= deleted - expired < timedelta(days=3, minutes=1)
    assert [r.json()["event"]["type"] for r in receiver.requests] == [
        "WHEF_SESSION_EXPIRED",
        "WHEF_SESSION_DELETED",
    ]


async def test_submitted_session_does_not_expire(
    time_env: WorkflowEnvironment,
    ts_worker: Worker,
    settings: Settings,
    engine,
    box: SecretBox,
    receiver: Receiver,
) -> None:
    add_webhook(engine, box, type="session_expired", url=receiver.url("/exp"))
    add_webhook(engine, box, type="session_deleted", url=receiver.url("/del"))
    handle = await start(
        time_env.client, settings, attributes=False, expires_in=600, retention=3600
    )
    await handle.signal("form_submitted", {"form_data": {"a": 1}})
    state = await handle.result()
    assert [e.type for e in state.events] == [
        "WHEF_SESSION_CREATED",
        "WHEF_CLIENT_FORM_SUBMITTED",
        "WHP_ARCHIVE",
        "WHEF_SESSION_DELETED",
    ]
    assert receiver.at("/exp") == []
    assert len(receiver.at("/del")) == 1


async def test_per_webhook_schedule_override(
    time_env: WorkflowEnvironment,
    ts_worker: Worker,
    settings: Settings,
    engine,
    box: SecretBox,
    receiver: Receiver,
) -> None:
    add_webhook(
        engine, box, type="session_deleted", url=receiver.url("/d"), retry_schedule=[0, 3600, 7200]
    )
    receiver.always("/d", Reply(status=500))
    handle = await start(time_env.client, settings, attributes=False, retention=0)
    await handle.signal("delete")
    state = await handle.result()
    elapsed = await ladder_span(handle)
    assert state.deliveries[0].attempts == 3
    assert len(receiver.at("/d")) == 3
    assert timedelta(hours=3 * 0.8) <= elapsed <= timedelta(hours=3 * 1.2, minutes=10)


async def test_sms_reminder_only_when_the_client_has_not_logged_in(
    time_env: WorkflowEnvironment,
    ts_worker: Worker,
    settings: Settings,
    engine,
    box: SecretBox,
    receiver: Receiver,
) -> None:
    add_webhook(engine, box, type="send_sms", url=receiver.url("/sms"))
    phone = {"id": 1, "name": "client", "phone": "+15551234567"}
    waiting = await start(
        time_env.client,
        settings,
        attributes=False,
        recipient=phone,
        reminder_after=3600,
        expires_in=7200,
        retention=0,
    )
    active = await start(
        time_env.client,
        settings,
        attributes=False,
        recipient=phone,
        reminder_after=3600,
        expires_in=7200,
        retention=0,
    )
    await active.signal("client_logged_in", {})
    state = await waiting.result()
    sms = [e for e in state.events if e.type == "WHP_SEND_SMS"]
    assert len(sms) == 2  # invitation, then the reminder an hour later
    assert timedelta(hours=1) <= sms[1].timestamp - sms[0].timestamp < timedelta(hours=1, minutes=1)
    other = await active.result()
    assert len([e for e in other.events if e.type == "WHP_SEND_SMS"]) == 1
    purposes = sorted(r.json()["purpose"] for r in receiver.at("/sms"))
    assert purposes == ["invitation", "invitation", "reminder"]
