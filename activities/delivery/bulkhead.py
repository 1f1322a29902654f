"""The bulkhead: a cap on each webhook's attempts under way on one worker.

A worker has a fixed number of activity slots and one connection pool. An
endpoint that hangs until its timeout would, uncapped, end up holding every
slot and connection while deliveries to healthy webhooks queue behind it. The
cap (the webhook's ``--max-in-flight``, else the worker's default, well below
its slots) keeps the rest free: an attempt over the cap waits a moment, then
gives its slot back and comes again later.
"""

from __future__ import annotations

import asyncio
import random
import uuid

# A quarter of the worker's 200 activity slots (worker.assembly.MAX_ACTIVITIES).
DEFAULT_MAX_IN_FLIGHT = 50
_EWMA = 0.2


class Bulkhead:
    def __init__(self, default_limit: int = DEFAULT_MAX_IN_FLIGHT) -> None:
        self.default_limit = default_limit
        self._counts: dict[uuid.UUID, int] = {}
        self._seconds: dict[uuid.UUID, float] = {}
        self._changed: asyncio.Condition | None = None

    def in_flight(self, webhook_id: uuid.UUID) -> int:
        return self._counts.get(webhook_id, 0)

    async def acquire(self, webhook_id: uuid.UUID, *, limit: int | None, wait: float) -> bool:
        """Take a place among the webhook's attempts, waiting up to ``wait``
        seconds for one; False when none came free."""
        cap = limit or self.default_limit
        if self.in_flight(webhook_id) < cap:
            self._counts[webhook_id] = self.in_flight(webhook_id) + 1
            return True
        changed = self._condition()
        try:
            async with asyncio.timeout(wait), changed:
                await changed.wait_for(lambda: self.in_flight(webhook_id) < cap)
                self._counts[webhook_id] = self.in_flight(webhook_id) + 1
                return True
        except TimeoutError:
            return False

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

    def retry_delay(self, webhook_id: uuid.UUID, *, rng: random.Random | None = None) -> float:
        """When to come back: about as long as an attempt to this webhook takes."""
        typical = max(self._seconds.get(webhook_id, 1.0), 1.0)
        return min(typical * (rng or random).uniform(1.0, 2.0), 120.0)

    def _condition(self) -> asyncio.Condition:
        if self._changed is None:
            self._changed = asyncio.Condition()
        return self._changed
