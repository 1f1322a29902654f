"""The bulkhead: a cap on each webhook's attempts under way on one worker.

A worker has a fixed number of activity slots and one connection pool. An
endpoint that hangs until its timeout would, uncapped, end up holding every
slot and connection while deliveries to healthy webhooks queue behind it. The
cap (the webhook's ``--max-in-flight``, else the worker's default, well below
its slots) keeps the rest free: an attempt over the cap waits a moment, then
gives its slot back and comes again later: after the attempts put off before
it have had their turn, so that a crowd of waiting deliveries does not keep
the worker busy coming back for nothing.
"""

from __future__ import annotations

import asyncio
import random
import time
import uuid

# A tenth of the worker's 200 activity slots (worker.assembly.MAX_ACTIVITIES): enough
# for about 200 deliveries a second to an endpoint that answers in 100 ms.
DEFAULT_MAX_IN_FLIGHT = 20
_EWMA = 0.2
MAX_DELAY = 120.0
# A put-off activity that has not come back this long after its turn is forgotten.
_FORGET_AFTER = 30.0
# How long after its turn a put-off activity has a place kept for it.
_DUE_FOR = 5.0
# A webhook whose requests take less than this is quick: a place comes free
# soon, so an attempt waits for one up to PATIENT_WAIT rather than being put
# off (a put-off costs a round trip to the server), as long as fewer than
# PATIENT_WAITERS attempts wait on the worker: the other slots stay free for
# other webhooks.
QUICK = 1.0
PATIENT_WAIT = 15.0
PATIENT_WAITERS = 100


class Bulkhead:
    def __init__(self, default_limit: int = DEFAULT_MAX_IN_FLIGHT) -> None:
        self.default_limit = default_limit
        self._counts: dict[uuid.UUID, int] = {}
        self._seconds: dict[uuid.UUID, float] = {}
        self._waiting: dict[uuid.UUID, dict[str, float]] = {}
        self._changed: asyncio.Condition | None = None
        self._waiters = 0

    def in_flight(self, webhook_id: uuid.UUID) -> int:
        return self._counts.get(webhook_id, 0)

    async def acquire(
        self, webhook_id: uuid.UUID, *, key: str, limit: int | None, wait: float
    ) -> bool:
        """Take a place among the webhook's attempts for activity ``key``,
        waiting up to ``wait`` seconds for one (PATIENT_WAIT for a quick
        webhook while few wait); False when none came free.

        A newcomer leaves room for the activities put off earlier whose turn
        has come, so that those waiting are not passed for ever."""
        cap = limit or self.default_limit
        if self._seconds.get(webhook_id, QUICK) < QUICK and self._waiters < PATIENT_WAITERS:
            wait = max(wait, PATIENT_WAIT)
        waiting = self._waiting.get(webhook_id, {})
        returning = waiting.pop(key, None) is not None
        now = time.monotonic()
        due = 0 if returning else sum(now - _DUE_FOR <= t <= now for t in waiting.values())

        def free() -> bool:
            return self.in_flight(webhook_id) + due < cap

        if not free():
            changed = self._condition()
            self._waiters += 1
            try:
                async with asyncio.timeout(wait), changed:
                    await changed.wait_for(free)
            except TimeoutError:
                return False
            finally:
                self._waiters -= 1
        self._counts[webhook_id] = self.in_flight(webhook_id) + 1
        return True

    async def release(self, webhook_id: uuid.UUID, *, seconds: float) -> None:
        """Give the place back; ``seconds``: how long the attempts took."""
        left = self.in_flight(webhook_id) - 1
        if left > 0:
            self._counts[webhook_id] = left
        else:
            self._counts.pop(webhook_id, None)
        before = self._seconds.get(webhook_id, seconds)
        self._seconds[webhook_id] = before + _EWMA * (seconds - before)
        changed = self._condition()
        async with changed:
            changed.notify_all()

    def put_off(
        self,
        webhook_id: uuid.UUID,
        *,
        key: str,
        limit: int | None,
        rng: random.Random | None = None,
    ) -> float:
        """Seconds until activity ``key``, which found no place, should come
        back: behind those put off before it, each turn about as long as an
        attempt to this webhook takes."""
        now = time.monotonic()
        waiting = self._waiting.setdefault(webhook_id, {})
        waiting.pop(key, None)
        for other, until in list(waiting.items()):
            if until < now - _FORGET_AFTER:
                del waiting[other]
        ahead = len(waiting)
        turn = max(self._seconds.get(webhook_id, 1.0), 1.0)
        rounds = 1 + ahead / (limit or self.default_limit)
        delay = min(turn * rounds * (rng or random).uniform(1.0, 1.25), MAX_DELAY)
        waiting[key] = now + delay
        return delay

    def _condition(self) -> asyncio.Condition:
        if self._changed is None:
            self._changed = asyncio.Condition()
        return self._changed
