"""Whether an attempt to a webhook may go now: the worker's bulkhead (the
webhook's cap and its project's share of the worker), and the
pace and circuit every worker shares (``activities.delivery.health``).

A worker keeps the last health it saw of each webhook for a moment, so that
while a webhook is healthy and unlimited an attempt costs no database round
trip; anything else (a rate limit, an open circuit, a recovery ramp) is
decided on the shared row.

The projects' own shares of the worker (``hookflow projects set --share``)
are read the same way: all of them in one query, off the event loop, at most
once every SHARE_TTL seconds; a changed share reaches the bulkhead that late.
"""

from __future__ import annotations

import asyncio
import logging
import time
import uuid
from collections.abc import Callable
from datetime import datetime

from sqlalchemy.engine import Engine
from sqlalchemy.exc import SQLAlchemyError
from sqlmodel import Session

from activities.delivery.bulkhead import Bulkhead
from activities.delivery.endpoint import Endpoint
from activities.delivery.health import (
    GO,
    Admission,
    CircuitPolicy,
    Health,
    admit,
    failed,
    needs_store,
    released,
    succeeded,
)
from activities.store.database import utcnow
from activities.store.health import change_health, shares

log = logging.getLogger(__name__)

# A probe that has not reported after its timeout and this much is taken as lost.
PROBE_MARGIN = 5.0
# How long the projects' own shares are kept before they are read again; a
# failed read is tried again after SHARE_RETRY (the last shares read stay).
SHARE_TTL = 30.0
SHARE_RETRY = 5.0


class Gate:
    def __init__(
        self,
        *,
        engine: Engine,
        policy: CircuitPolicy | None = None,
        bulkhead: Bulkhead | None = None,
        clock: Callable[[], datetime] = utcnow,
        cache_ttl: float = 0.5,
        share_ttl: float = SHARE_TTL,
    ) -> None:
        self.policy = policy or CircuitPolicy()
        self.bulkhead = bulkhead or Bulkhead()
        self.clock = clock
        self._engine = engine
        self._ttl = cache_ttl
        self._seen: dict[uuid.UUID, tuple[float, Health]] = {}
        self._share_ttl = share_ttl
        self._shares_until = -float("inf")
        self._reading: asyncio.Task[None] | None = None

    async def admit(self, endpoint: Endpoint, *, inline: float) -> Admission:
        """May an attempt go now? ``inline``: the longest wait worth spending here."""
        if endpoint.project is not None:  # the bulkhead counts the project's share
            await self._fresh_shares()
            self.bulkhead.belongs(endpoint.id, endpoint.project)
        now = self.clock()
        seen = self._cached(endpoint.id)
        if seen is not None and not needs_store(
            seen, now=now, rate=endpoint.rate_limit, policy=self.policy
        ):
            return GO
        decided: list[Admission] = []

        def decide(health: Health) -> Health | None:
            admission, new = admit(
                health,
                now=now,
                rate=endpoint.rate_limit,
                policy=self.policy,
                lease=endpoint.timeout + PROBE_MARGIN,
                inline=inline,
            )
            decided[:] = [admission]
            return new

        await self._change(endpoint.id, decide)
        return decided[0]

    async def settle(self, endpoint: Endpoint, *, outcome: str, probe: bool) -> Health | None:
        """Count an attempt's outcome (``Verdict.outcome``); returns the state
        after it, or None when nothing changed."""
        now, policy = self.clock(), self.policy
        if outcome == "delivered":
            seen = self._cached(endpoint.id)
            if not probe and seen is not None and succeeded(seen, now=now, policy=policy) is None:
                return None
            return await self._change(endpoint.id, lambda h: succeeded(h, now=now, policy=policy))
        if outcome == "retrying":
            return await self._change(
                endpoint.id, lambda h: failed(h, now=now, policy=policy, probe=probe)
            )
        # Refused or gone says nothing of the endpoint's health; a probe lets another go.
        return await self._change(endpoint.id, released) if probe else None

    async def _change(
        self, webhook_id: uuid.UUID, change: Callable[[Health], Health | None]
    ) -> Health:
        health = await asyncio.to_thread(
            change_health, engine=self._engine, webhook_id=webhook_id, change=change
        )
        self._seen[webhook_id] = (time.monotonic() + self._ttl, health)
        return health

    async def _fresh_shares(self) -> None:
        """Hand the bulkhead the projects' own shares, read again once stale
        (one read at a time, however many attempts wait for it)."""
        if time.monotonic() < self._shares_until:
            return
        if self._reading is None or self._reading.done():
            self._reading = asyncio.create_task(self._read_shares())
        await asyncio.shield(self._reading)

    async def _read_shares(self) -> None:
        try:
            found = await asyncio.to_thread(_read_shares, self._engine)
        except SQLAlchemyError as err:
            log.warning("projects' shares not read (the last ones stay): %s", type(err).__name__)
            self._shares_until = time.monotonic() + SHARE_RETRY
            return
        self.bulkhead.set_shares(found)
        self._shares_until = time.monotonic() + self._share_ttl

    def _cached(self, webhook_id: uuid.UUID) -> Health | None:
        seen = self._seen.get(webhook_id)
        if seen is None or seen[0] < time.monotonic():
            return None
        return seen[1]


def _read_shares(engine: Engine) -> dict[str, float]:
    with Session(engine) as session:
        return shares(session=session)
