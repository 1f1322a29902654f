"""A webhook's shared health: pace, circuit breaker and recovery ramp, decided
on a snapshot and applied by compare-and-set in a real SQLite store."""

from __future__ import annotations

import random
import threading
from datetime import UTC, datetime, timedelta

from sqlalchemy.engine import Engine

from activities.delivery.health import (
    CircuitPolicy,
    Health,
    admit,
    failed,
    ramp_rate,
    succeeded,
)
from activities.store.crypto import SecretBox
from activities.store.health import change_health
from tests.helpers import add_webhook

T0 = datetime(2026, 1, 1, tzinfo=UTC)
POLICY = CircuitPolicy(threshold=3, first_pause=1.0, max_pause=8.0)


def at(seconds: float) -> datetime:
    return T0 + timedelta(seconds=seconds)


def decide(health: Health, seconds: float, *, rate: float | None = None, inline: float = 0.0):  # type: ignore[no-untyped-def]
    return admit(
        health,
        now=at(seconds),
        rate=rate,
        policy=POLICY,
        lease=10,
        inline=inline,
        rng=random.Random(1),
    )


def test_the_circuit_opens_after_a_streak_and_lets_one_probe_out_at_a_time() -> None:
    health = Health()
    for n in range(3):
        admission, _ = decide(health, n)
        assert admission.send and not admission.probe
        health = failed(health, now=at(n), policy=POLICY, probe=False)
    assert health.streak == 3 and health.failing_since == at(0)
    assert health.open_until == at(2 + 1.0)  # the first pause after opening

    waiting, unchanged = decide(health, 2.5)
    assert not waiting.send and waiting.reason == "circuit open" and unchanged is None
    assert 0.5 <= waiting.delay <= 2.0  # until the pause ends, spread as long again

    probe, health = decide(health, 3.5)
    assert probe.send and probe.probe and health is not None
    assert health.probe_until == at(3.5 + 10)
    other, _ = decide(health, 4)
    assert not other.send and other.reason == "circuit open (probing)"


def test_each_failed_probe_doubles_the_pause_up_to_its_cap() -> None:
    health = Health(streak=3, failing_since=at(0), open_until=at(1))
    pauses = []
    for n in range(1, 7):
        probe, health = decide(health, 100 * n)  # type: ignore[assignment]
        assert probe.probe
        health = failed(health, now=at(100 * n), policy=POLICY, probe=True)
        assert health.probe_until is None
        pauses.append((health.open_until - at(100 * n)).total_seconds())  # type: ignore[operator]
    assert pauses == [2, 4, 8, 8, 8, 8]


def test_a_successful_probe_closes_the_circuit_and_starts_a_slow_ramp() -> None:
    health = Health(streak=5, failing_since=at(0), probe_until=at(20))
    closed = succeeded(health, now=at(10), policy=POLICY)
    assert closed is not None
    assert closed.streak == 0 and closed.failing_since is None and closed.probe_until is None
    assert closed.closed_at == at(10)
    assert ramp_rate(closed, now=at(10), policy=POLICY) == POLICY.ramp_start
    assert ramp_rate(closed, now=at(12), policy=POLICY) == 2 * POLICY.ramp_start
    assert ramp_rate(closed, now=at(40), policy=POLICY) is None  # past ramp_max
    # Right after closing, waiting deliveries go out at the ramp's rate, not at once.
    sent = 0
    state = closed
    for _ in range(20):
        admission, new = decide(state, 10, inline=0.0)
        if admission.send:
            sent += 1
            state = new or state
    assert sent == 1


def test_a_success_on_a_healthy_webhook_changes_nothing() -> None:
    assert succeeded(Health(), now=T0, policy=POLICY) is None


def test_a_rate_limit_spaces_requests_evenly() -> None:
    health = Health()
    sleeps = []
    for _ in range(5):
        admission, health = decide(health, 0, rate=4, inline=2.0)  # type: ignore[assignment]
        assert admission.send
        sleeps.append(admission.sleep)
    assert sleeps == [0, 0.25, 0.5, 0.75, 1.0]
    # Beyond the wait worth spending in the activity: come back later instead.
    far, unchanged = decide(health, 0, rate=4, inline=0.5)
    assert not far.send and unchanged is None and far.delay >= 1.25
    assert far.reason == "rate limit 4/s"


def test_compare_and_set_loses_no_update_under_contention(engine: Engine, box: SecretBox) -> None:
    webhook = add_webhook(engine, box, type="storage_callback", url="http://127.0.0.1:9/")
    policy = CircuitPolicy(threshold=10_000)

    def fail_many() -> None:
        for _ in range(25):
            change_health(
                engine=engine,
                webhook_id=webhook,
                change=lambda h: failed(h, now=T0, policy=policy, probe=False),
            )

    threads = [threading.Thread(target=fail_many) for _ in range(4)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    final = change_health(engine=engine, webhook_id=webhook, change=lambda h: None)
    assert final.streak == 100 and final.version == 100
