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
