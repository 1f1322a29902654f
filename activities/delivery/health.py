"""A webhook's health as every worker shares it: its pace and its circuit breaker.

Pure functions over a ``Health`` snapshot: given the state and the time, they
say whether an attempt may go now, and what the state becomes. The store
(``activities.store.health``) applies each change as a compare-and-set, so
decisions taken on several workers at once stay consistent.

- Pace: a rate limit is a GCRA token bucket without burst, kept in one
  timestamp (``next_send_at``): requests are spaced evenly at the rate.
- Circuit: after ``threshold`` failed attempts in a row (any session, any
  worker) the circuit opens; one probe at a time goes out, with a growing
  pause between failed probes, and the other deliveries wait. The first
  success closes it, and for a while a slow start (a rate that doubles every
  ``ramp_doubling`` seconds) keeps the recovering endpoint from receiving
  every waiting delivery at once.
"""

from __future__ import annotations

import math
import random
from dataclasses import dataclass, replace
from datetime import datetime, timedelta


@dataclass(frozen=True)
class Health:
    """One webhook's shared state (a row of ``webhook_health``)."""

    version: int = 0
    next_send_at: datetime | None = None
    streak: int = 0
    failing_since: datetime | None = None
    open_until: datetime | None = None
    probe_until: datetime | None = None
    closed_at: datetime | None = None


@dataclass(frozen=True)
class CircuitPolicy:
    threshold: int = 10
    """Failed attempts in a row that open the circuit."""
    first_pause: float = 1.0
    """Seconds between the opening and the first probe; doubles per failed probe."""
    max_pause: float = 30.0
    """Longest pause between probes."""
    ramp_start: float = 2.0
    """Requests per second right after the circuit closes."""
    ramp_doubling: float = 2.0
    """Seconds in which the recovery rate doubles."""
    ramp_max: float = 500.0
    """The ramp ends when its rate reaches this."""


@dataclass(frozen=True)
class Admission:
    """Whether an attempt may go now: at once, after ``sleep`` seconds in the
    activity, or not now (come back in ``delay`` seconds, for ``reason``)."""

    send: bool
    probe: bool = False
    sleep: float = 0.0
    delay: float = 0.0
    reason: str = ""


GO = Admission(send=True)


def is_open(health: Health, policy: CircuitPolicy) -> bool:
    return health.streak >= policy.threshold


def ramp_rate(health: Health, *, now: datetime, policy: CircuitPolicy) -> float | None:
    """The slow-start rate while an endpoint recovers (None once the ramp is over)."""
    if health.closed_at is None:
        return None
    elapsed = max((now - health.closed_at).total_seconds(), 0.0)
    rate = policy.ramp_start * 2 ** min(elapsed / policy.ramp_doubling, 60.0)
    return rate if rate < policy.ramp_max else None


def needs_store(
    health: Health, *, now: datetime, rate: float | None, policy: CircuitPolicy
) -> bool:
    """False when an attempt may go on what a worker already knows: the circuit
    is closed, no rate limit and no recovery ramp apply."""
    return (
        is_open(health, policy)
        or rate is not None
        or ramp_rate(health, now=now, policy=policy) is not None
    )


def admit(
    health: Health,
    *,
    now: datetime,
    rate: float | None,
    policy: CircuitPolicy,
    lease: float,
    inline: float,
    rng: random.Random | None = None,
) -> tuple[Admission, Health | None]:
    """Decide one attempt; returns the decision and the new state (None: unchanged).

    ``lease``: how long a probe may take before another may go (its timeout).
    ``inline``: the longest wait worth spending in the activity.
    """
    rng = rng or random.Random()
    if is_open(health, policy):
        return _probe(health, now=now, lease=lease, rng=rng)
    ramp = ramp_rate(health, now=now, policy=policy)
    limits = [r for r in (rate, ramp) if r is not None]
    if not limits:
        return GO, None
    return _pace(health, now=now, rate=min(limits), inline=inline, rng=rng)


def _probe(
    health: Health, *, now: datetime, lease: float, rng: random.Random
) -> tuple[Admission, Health | None]:
    busy = [t for t in (health.probe_until, health.open_until) if t is not None and t > now]
    if not busy:
        probe_until = now + timedelta(seconds=lease)
        return Admission(send=True, probe=True), replace(health, probe_until=probe_until)
    base = max(max(busy) - now, timedelta(seconds=0.5)).total_seconds()
    # Waiters come back spread over as long again, not all at once.
    delay = base + rng.uniform(0, max(base, 1.0))
    reason = "circuit open (probing)" if health.probe_until in busy else "circuit open"
    return Admission(send=False, delay=delay, reason=reason), None


def _pace(
    health: Health, *, now: datetime, rate: float, inline: float, rng: random.Random
) -> tuple[Admission, Health | None]:
    # No burst: requests are spaced evenly, so no second ever sees more than the rate.
    interval = 1.0 / rate
    tat = max(health.next_send_at or now, now)
    wait = (tat - now).total_seconds()
    if wait <= inline:
        admission = Admission(send=True, sleep=max(wait, 0.0))
        return admission, replace(health, next_send_at=tat + timedelta(seconds=interval))
    delay = wait * (1 + rng.uniform(0, 0.2)) + rng.uniform(0, 0.5)
    return Admission(send=False, delay=delay, reason=f"rate limit {rate:g}/s"), None


def pause_after(failed_probes: int, policy: CircuitPolicy) -> float:
    """Seconds before the next probe, after ``failed_probes`` probes failed."""
    exponent = min(max(failed_probes, 0), 30)
    return min(policy.first_pause * float(2**exponent), policy.max_pause)


def succeeded(health: Health, *, now: datetime, policy: CircuitPolicy) -> Health | None:
    """The state after a delivered attempt: the streak and the clock reset, an
    open circuit closes (and its recovery ramp starts)."""
    if not (health.streak or health.failing_since or health.probe_until or health.open_until):
        return None
    closed_at = now if is_open(health, policy) else health.closed_at
    return replace(
        health,
        streak=0,
        failing_since=None,
        open_until=None,
        probe_until=None,
        closed_at=closed_at,
        # The ramp starts from a clean slate, not from the limit's old debt.
        next_send_at=None if closed_at == now else health.next_send_at,
    )


def failed(health: Health, *, now: datetime, policy: CircuitPolicy, probe: bool) -> Health:
    """The state after a failed attempt: the streak grows; at the threshold the
    circuit opens, and each failure while open pushes the next probe back.
    ``probe``: this attempt was the probe (its lease ends)."""
    streak = health.streak + 1
    opened = streak >= policy.threshold
    pause = pause_after(streak - policy.threshold, policy)
    return replace(
        health,
        streak=streak,
        failing_since=health.failing_since or now,
        open_until=now + timedelta(seconds=pause) if opened else None,
        probe_until=None if probe else health.probe_until,
        closed_at=None if opened else health.closed_at,
    )


def released(health: Health) -> Health | None:
    """A probe ended without telling success from failure (refused, 410): another may go."""
    return replace(health, probe_until=None) if health.probe_until else None


def failing_for(health: Health, *, now: datetime) -> float:
    """Seconds the webhook has failed every attempt (0 when its last attempt succeeded)."""
    if health.failing_since is None:
        return 0.0
    return max((now - health.failing_since).total_seconds(), 0.0)


def describe_duration(seconds: float) -> str:
    """``5 days``, ``3 hours``, ``90 seconds``: for messages."""
    for unit, size in (("day", 86400), ("hour", 3600), ("minute", 60)):
        if seconds >= size:
            count = math.floor(seconds / size * 10) / 10
            shown = f"{count:g}"
            return f"{shown} {unit}{'' if shown == '1' else 's'}"
    return f"{seconds:.0f} seconds"
