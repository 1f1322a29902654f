"""The bulkhead: a cap on one webhook's attempts on a worker; those put off come
back in turn, not all at once."""

from __future__ import annotations

import asyncio
import random
import uuid

import pytest

from activities.delivery import bulkhead as bulkhead_module
from activities.delivery.bulkhead import MAX_DELAY, Bulkhead


async def test_the_cap_is_per_webhook_and_a_freed_place_is_taken_by_a_waiter() -> None:
    bulkhead = Bulkhead(default_limit=2)
    slow, other = uuid.uuid4(), uuid.uuid4()
    assert await bulkhead.acquire(slow, key="a", limit=None, wait=0)
    assert await bulkhead.acquire(slow, key="b", limit=None, wait=0)
    assert not await bulkhead.acquire(slow, key="c", limit=None, wait=0.05)
    assert await bulkhead.acquire(other, key="d", limit=None, wait=0)  # another webhook: free
    waiter = asyncio.create_task(bulkhead.acquire(slow, key="c", limit=None, wait=2))
    await asyncio.sleep(0.05)
    assert not waiter.done()
    await bulkhead.release(slow, seconds=1.0)
    assert await waiter
    assert bulkhead.in_flight(slow) == 2
    assert await bulkhead.acquire(slow, key="e", limit=5, wait=0)  # the webhook's own cap


def test_those_put_off_come_back_behind_the_ones_before_them() -> None:
    bulkhead = Bulkhead(default_limit=10)
    webhook = uuid.uuid4()
    rng = random.Random(7)
    delays = [bulkhead.put_off(webhook, key=f"k{n}", limit=None, rng=rng) for n in range(40)]
    # Each turn is an attempt's time (1 s when unknown); ten places a turn.
    assert 1.0 <= delays[0] <= 1.25
    assert 4.9 <= delays[-1] <= 6.2  # 39 ahead: about four more turns
    assert delays[-1] > delays[9] > delays[0]
    assert all(d <= MAX_DELAY for d in delays)
    # Put off again, an activity goes to the back of the line (not behind itself).
    again = bulkhead.put_off(webhook, key="k0", limit=None, rng=rng)
    assert 4.9 <= again <= 6.2


async def test_a_newcomer_leaves_room_for_those_whose_turn_has_come() -> None:
    bulkhead = Bulkhead(default_limit=2)
    webhook = uuid.uuid4()
    assert await bulkhead.acquire(webhook, key="a", limit=None, wait=0)
    assert await bulkhead.acquire(webhook, key="b", limit=None, wait=0)
    assert not await bulkhead.acquire(webhook, key="late", limit=None, wait=0)
    delay = bulkhead.put_off(webhook, key="late", limit=None)
    await bulkhead.release(webhook, seconds=delay)  # a place frees before its turn
    assert await bulkhead.acquire(webhook, key="new", limit=None, wait=0)
    await bulkhead.release(webhook, seconds=delay)
    await asyncio.sleep(delay)  # its turn has come: the place is kept for it
    assert not await bulkhead.acquire(webhook, key="newer", limit=None, wait=0)
    assert await bulkhead.acquire(webhook, key="late", limit=None, wait=0)


async def test_a_quick_webhook_waits_for_a_place_rather_than_being_put_off(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    bulkhead = Bulkhead(default_limit=1)
    quick, slow = uuid.uuid4(), uuid.uuid4()
    for webhook, seconds in ((quick, 0.01), (slow, 4.0)):
        assert await bulkhead.acquire(webhook, key="first", limit=None, wait=0)
        await bulkhead.release(webhook, seconds=seconds)  # how long its requests take
        assert await bulkhead.acquire(webhook, key="busy", limit=None, wait=0)
    # A slow webhook's place may stay taken for long: the attempt is put off.
    assert not await bulkhead.acquire(slow, key="next", limit=None, wait=0.05)
    # A quick one's place comes free soon: the attempt waits past ``wait``.
    waiter = asyncio.create_task(bulkhead.acquire(quick, key="next", limit=None, wait=0.05))
    await asyncio.sleep(0.2)
    assert not waiter.done()
    await bulkhead.release(quick, seconds=0.01)
    assert await waiter
    # Unless many attempts wait already: the worker's other slots stay free.
    monkeypatch.setattr(bulkhead_module, "PATIENT_WAITERS", 0)
    assert not await bulkhead.acquire(quick, key="crowd", limit=None, wait=0.05)


class Clock:
    """A monotonic clock the test moves by hand."""

    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


async def test_a_stored_cap_over_the_ceiling_is_held_to_the_ceiling() -> None:
    bulkhead = Bulkhead(default_limit=20, ceiling=3)
    webhook = uuid.uuid4()  # stored with 200 under an older, higher limit
    took = [await bulkhead.acquire(webhook, key=f"k{n}", limit=200, wait=0) for n in range(4)]
    assert took == [True, True, True, False]
    assert bulkhead.refusal(webhook, 200) == "3 attempts in flight"


async def test_one_put_off_for_its_projects_share_gets_its_place_when_it_returns() -> None:
    clock = Clock()
    bulkhead = Bulkhead(slots=2, share=0.5, clock=clock)  # the project: one place
    busy, late = uuid.uuid4(), uuid.uuid4()
    for webhook in (busy, late):
        bulkhead.belongs(webhook, "acme")
    assert await bulkhead.acquire(busy, key="a", limit=None, wait=0)
    assert not await bulkhead.acquire(late, key="old", limit=None, wait=0)
    delay = bulkhead.put_off(late, key="old", limit=None, rng=random.Random(1))
    await bulkhead.release(busy, seconds=0.5)
    clock.now += delay / 2  # a place frees before its turn: a newcomer may take it
    assert await bulkhead.acquire(busy, key="b", limit=None, wait=0)
    await bulkhead.release(busy, seconds=0.5)
    clock.now += delay / 2  # its turn has come: the place is kept for it
    assert not await bulkhead.acquire(busy, key="c", limit=None, wait=0)
    assert bulkhead.refusal(busy, None) == (
        "project acme holds its share of this worker "
        "(0 of 2 attempt places, 1 kept for its deliveries put off earlier)"
    )
    assert await bulkhead.acquire(late, key="old", limit=None, wait=0)


async def test_refusals_and_requests_are_forgotten_after_their_window() -> None:
    clock = Clock()
    bulkhead = Bulkhead(slots=2, share=0.5, clock=clock)
    hold = uuid.uuid4()
    bulkhead.belongs(hold, "acme")
    assert await bulkhead.acquire(hold, key="held", limit=None, wait=0)
    for n in range(500):  # events behind a batch's first, refused and never put off
        webhook = uuid.uuid4()
        bulkhead.belongs(webhook, "acme" if n % 2 else f"p{n}")
        await bulkhead.acquire(webhook, key=f"run{n}/1", limit=None, wait=0)
    assert len(bulkhead._over) >= 250 and len(bulkhead._asked) > 250
    clock.now += 61
    assert await bulkhead.acquire(uuid.uuid4(), key="next", limit=None, wait=0)
    bulkhead.belongs(hold, "acme")
    assert not await bulkhead.acquire(hold, key="next2", limit=None, wait=0)
    assert list(bulkhead._over) == ["next2"] and list(bulkhead._asked) == ["acme"]
