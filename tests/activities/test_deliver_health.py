"""Rate limit, bulkhead, circuit breaker and auto-disable, through the delivery
activity, against real loopback receivers and a real SQLite store."""

from __future__ import annotations

import asyncio
import logging
from datetime import timedelta
from pathlib import Path

import pytest
from sqlalchemy.engine import Engine
from sqlmodel import Session
from temporalio.exceptions import ApplicationError

from activities.contracts import DeliveryResult, FailureType
from activities.delivery import bulkhead as bulkhead_module
from activities.delivery.activity import DeliveryActivities
from activities.delivery.bulkhead import Bulkhead
from activities.delivery.health import CircuitPolicy
from activities.store.crypto import SecretBox
from activities.store.health import read_health, set_disable_after
from activities.store.tables import Webhook
from tests.activities.delivering import (
    Clock,
    delivery_activities,
    logged,
    request,
    run_deliver,
)
from tests.helpers import add_webhook
from worker.devstack.receiver import Receiver, Reply


def hook(engine: Engine, box: SecretBox, receiver: Receiver, path: str, **fields: object):  # type: ignore[no-untyped-def]
    return add_webhook(engine, box, type="storage_callback", url=receiver.url(path), **fields)


async def attempt(
    activities: DeliveryActivities, req: object, **env: object
) -> DeliveryResult | ApplicationError:
    """The activity's result, or the ApplicationError it raised."""
    try:
        return await run_deliver(activities, req, **env)  # type: ignore[arg-type]
    except ApplicationError as err:
        return err


async def test_the_rate_limit_holds_across_workers(
    engine: Engine, box: SecretBox, tmp_path: Path, receiver: Receiver
) -> None:
    webhook = hook(engine, box, receiver, "/paced", rate_limit=10)
    async with (
        delivery_activities(engine, box, tmp_path) as one,
        delivery_activities(engine, box, tmp_path) as two,
    ):
        results = await asyncio.gather(
            *(
                attempt(one if n % 2 else two, request(webhook, n), run=f"run-{n}")
                for n in range(1, 16)
            )
        )
    assert all(isinstance(r, DeliveryResult) for r in results), results
    times = sorted(r.at for r in receiver.at("/paced"))
    assert len(times) == 15
    # Evenly spaced at 10 a second: no second holds more than 10 (+1 at its edge).
    assert all(times[i + 10] - times[i] >= 0.9 for i in range(len(times) - 10))
    assert times[-1] - times[0] >= 1.3


def waiting(result: DeliveryResult | ApplicationError) -> str:
    """The reason of a put-off (the activity's result when nothing was sent)."""
    assert isinstance(result, DeliveryResult) and result.waiting is not None, result
    return result.waiting.reason


async def test_a_put_off_delivery_uses_no_step_of_its_ladder(
    engine: Engine, box: SecretBox, tmp_path: Path, receiver: Receiver
) -> None:
    webhook = hook(engine, box, receiver, "/one", max_in_flight=1, timeout=10)
    receiver.script("/one", Reply(delay=3.0))
    async with delivery_activities(engine, box, tmp_path) as activities:
        slow = asyncio.create_task(attempt(activities, request(webhook, 1), run="a"))
        await asyncio.sleep(0.3)
        second = request(webhook, 2, retry_schedule=[0, 60])
        put_off = await attempt(activities, second, run="b", attempt=2)
        # Not an error, not an attempt: the session waits and tries again.
        assert "1 attempts in flight" in waiting(put_off)
        assert isinstance(put_off, DeliveryResult) and put_off.waiting is not None
        assert put_off.waiting.seconds >= 1
        assert put_off.waiting.attempts == 1  # Temporal's first attempt failed before
        assert len(receiver.at("/one")) == 0  # the slow one is still out; nothing else went
        rows = {
            d.sequence: (d.status, d.next_attempt_at, len(a)) for d, a in logged(engine, webhook)
        }
        assert rows[2][0] == "waiting" and rows[2][1] is not None and rows[2][2] == 0
        assert isinstance(await slow, DeliveryResult)

        # The session's next activity goes on from the ladder's second step.
        again = await attempt(activities, second.model_copy(update={"attempt_offset": 1}), run="c")
    assert isinstance(again, DeliveryResult) and again.attempt == 2
    assert len(receiver.at("/one")) == 2
    rows = {d.sequence: (d.status, d.next_attempt_at) for d, _ in logged(engine, webhook)}
    assert rows[2] == ("delivered", None)


async def test_the_circuit_breaker_sends_one_probe_then_recovers(
    engine: Engine, box: SecretBox, tmp_path: Path, receiver: Receiver
) -> None:
    webhook = hook(engine, box, receiver, "/flaky")
    receiver.always("/flaky", Reply(status=503, delay=0.3))
    clock = Clock()
    policy = CircuitPolicy(threshold=3, first_pause=1.0)
    async with delivery_activities(engine, box, tmp_path, clock=clock, policy=policy) as acts:
        for n in range(3):  # three sessions fail in a row: the circuit opens
            failed = await attempt(acts, request(webhook, 1), run=f"s{n}")
            assert isinstance(failed, ApplicationError) and failed.type == FailureType.UNDELIVERED
        put_off = await attempt(acts, request(webhook, 1), run="s3")
        assert "circuit open" in waiting(put_off)
        assert len(receiver.at("/flaky")) == 3

        clock.advance(seconds=2)  # the pause is over: one probe, the other waits
        both = await asyncio.gather(
            attempt(acts, request(webhook, 1), run="s4"),
            attempt(acts, request(webhook, 1), run="s5"),
        )
        kinds = [r.type for r in both if isinstance(r, ApplicationError)]
        assert kinds == [FailureType.UNDELIVERED]
        assert [waiting(r) for r in both if isinstance(r, DeliveryResult)]
        assert len(receiver.at("/flaky")) == 4

        receiver.always("/flaky", Reply())
        clock.advance(seconds=60)
        probe = await attempt(acts, request(webhook, 1), run="s6")
        assert isinstance(probe, DeliveryResult)
        after = await attempt(acts, request(webhook, 2), run="s7")
        assert isinstance(after, DeliveryResult)
    with Session(engine) as session:
        health = read_health(session=session, webhook_id=webhook)
    assert health.streak == 0 and health.failing_since is None
    assert health.closed_at == clock.now  # the recovery ramp runs from here


async def test_a_probe_that_finds_no_place_lets_the_next_attempt_probe(
    engine: Engine,
    box: SecretBox,
    tmp_path: Path,
    receiver: Receiver,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """The circuit's probe, refused a place on the worker, sends nothing: the next
    attempt probes at once instead of waiting out the lost probe's lease."""
    monkeypatch.setattr(bulkhead_module, "PATIENT_WAITERS", 0)  # put off, not kept waiting
    webhook = hook(engine, box, receiver, "/mended", max_in_flight=1)
    receiver.script("/mended", Reply(status=503))
    clock = Clock()
    bulkhead = Bulkhead(1)
    policy = CircuitPolicy(threshold=1, first_pause=1.0)
    async with delivery_activities(
        engine, box, tmp_path, clock=clock, policy=policy, bulkhead=bulkhead
    ) as acts:
        failed = await attempt(acts, request(webhook, 1), run="a")
        assert isinstance(failed, ApplicationError)  # the circuit opens
        clock.advance(seconds=2)
        assert await bulkhead.acquire(webhook, key="elsewhere", limit=1, wait=0)
        busy = await attempt(acts, request(webhook, 1), run="b")
        assert "1 attempts in flight" in waiting(busy)
        await bulkhead.release(webhook, seconds=0.1)
        probe = await attempt(acts, request(webhook, 1), run="c")
        assert isinstance(probe, DeliveryResult) and probe.status_code == 200
    assert len(receiver.at("/mended")) == 2


async def test_a_delivery_put_off_past_its_ladder_is_never_exhausted(
    engine: Engine, box: SecretBox, tmp_path: Path, receiver: Receiver
) -> None:
    webhook = hook(engine, box, receiver, "/closing")
    receiver.always("/closing", Reply(status=503))
    policy = CircuitPolicy(threshold=1, first_pause=3600.0)
    async with delivery_activities(engine, box, tmp_path, policy=policy) as acts:
        assert isinstance(await attempt(acts, request(webhook, 1), run="a"), ApplicationError)
        req = request(webhook, 2, retry_schedule=[0, 1])
        # Put off at the ladder's last step, longer than what is left of the ladder.
        late = await attempt(acts, req, run="b", attempt=2, time_left=timedelta(seconds=5))
    assert "circuit open" in waiting(late)
    assert isinstance(late, DeliveryResult) and late.waiting is not None
    assert late.waiting.seconds > 5  # the ladder had 1 s to go
    assert len(receiver.at("/closing")) == 1
    status = {d.sequence: (d.status, len(a)) for d, a in logged(engine, webhook)}
    assert status[2] == ("waiting", 0)


async def test_a_webhook_failing_every_attempt_for_five_days_is_disabled(
    engine: Engine,
    box: SecretBox,
    tmp_path: Path,
    receiver: Receiver,
    caplog: pytest.LogCaptureFixture,
) -> None:
    webhook = hook(engine, box, receiver, "/dead", retry_schedule=[0, 3600])
    receiver.always("/dead", Reply(status=500))
    clock = Clock()
    async with delivery_activities(engine, box, tmp_path, clock=clock) as acts:
        first = await attempt(acts, request(webhook, 1), run="a")
        clock.advance(days=4, hours=23)
        later = await attempt(acts, request(webhook, 1), run="b")
        assert isinstance(first, ApplicationError) and isinstance(later, ApplicationError)
        assert first.type == later.type == FailureType.UNDELIVERED
        clock.advance(hours=1, minutes=1)
        with caplog.at_level(logging.WARNING):
            req = request(webhook, 1, 2)
            last = await attempt(acts, req, run="c")
        assert isinstance(last, ApplicationError)
        assert last.type == FailureType.DISABLED and last.non_retryable
        assert "failed every attempt for 5 days" in str(last)
        assert any(
            "disabled" in r.getMessage() and "failed every attempt" in r.getMessage()
            for r in caplog.records
        )
        with Session(engine) as session:
            row = session.get(Webhook, webhook)
            assert row is not None and not row.enabled
            assert "failed every attempt for 5 days" in (row.disabled_reason or "")
        held = {d.event_id: d.status for d, _ in logged(engine, webhook)}
        assert held[req.envelope.event.id] == held[req.following[0].event.id] == "held"

        paused = await attempt(acts, request(webhook, 3), run="d")
        assert isinstance(paused, ApplicationError) and paused.type == FailureType.PAUSED
    assert len(receiver.at("/dead")) == 3


async def test_a_success_resets_the_clock(
    engine: Engine, box: SecretBox, tmp_path: Path, receiver: Receiver
) -> None:
    webhook = hook(engine, box, receiver, "/shaky")
    receiver.script("/shaky", Reply(status=500), Reply(), Reply(status=500))
    clock = Clock()
    async with delivery_activities(engine, box, tmp_path, clock=clock) as acts:
        assert isinstance(await attempt(acts, request(webhook, 1), run="a"), ApplicationError)
        clock.advance(days=4)
        assert isinstance(await attempt(acts, request(webhook, 2), run="b"), DeliveryResult)
        clock.advance(days=2)
        again = await attempt(acts, request(webhook, 3), run="c")
    assert isinstance(again, ApplicationError) and again.type == FailureType.UNDELIVERED


async def test_the_project_sets_how_long_a_webhook_may_fail(
    engine: Engine, box: SecretBox, tmp_path: Path, receiver: Receiver
) -> None:
    quick = hook(engine, box, receiver, "/quick", project="fast")
    never = hook(engine, box, receiver, "/never", project="patient")
    receiver.always("/quick", Reply(status=500))
    receiver.always("/never", Reply(status=500))
    with Session(engine) as session:
        set_disable_after(session=session, project="fast", seconds=3600)
        set_disable_after(session=session, project="patient", seconds=0)
    clock = Clock()
    async with delivery_activities(engine, box, tmp_path, clock=clock) as acts:
        for n, when in enumerate((0, 3601)):
            clock.advance(seconds=when)
            quick_result = await attempt(acts, request(quick, 1, project="fast"), run=f"q{n}")
        for n in range(2):
            clock.advance(days=30)
            never_result = await attempt(acts, request(never, 1, project="patient"), run=f"n{n}")
    assert isinstance(quick_result, ApplicationError) and quick_result.type == FailureType.DISABLED
    assert "1 hour" in str(quick_result)
    assert isinstance(never_result, ApplicationError)
    assert never_result.type == FailureType.UNDELIVERED
