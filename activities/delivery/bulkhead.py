"""The bulkhead: a cap on each webhook's attempts under way on one worker.

A worker has a fixed number of activity slots and one connection pool. An
endpoint that hangs until its timeout would, uncapped, end up holding every
slot and connection while deliveries to healthy webhooks queue behind it. The
cap (the webhook's ``--max-in-flight``, else the worker's default, well below
its slots) keeps the rest free: an attempt over the cap waits a moment, then
gives its slot back and comes again later: after the attempts put off before
it have had their turn, so that a crowd of waiting deliveries does not keep
the worker busy coming back for nothing.

A project's share caps the attempts of all its webhooks together: without it,
a project with many webhooks to a slow endpoint (each within its own cap) took
every slot of the worker and other projects' deliveries queued behind it.
While another project has asked for a place lately, a project holds at most
``share`` of the worker's slots; alone, all but a reserve the first request of
another project finds free. First attempts run as local activities, on the
worker's local slots (apart, and fewer): a project has the same share of
those. An attempt over its project's share is not kept waiting (it would hold
a slot): it is put off at once, as ``waiting``. A project may have a share
of its own (``hookflow projects set --share``), which the gate hands in
(``set_shares``) from a cache of the project settings.
"""

from __future__ import annotations

import asyncio
import random
import time
import uuid
from collections import deque
from collections.abc import Callable, Mapping

from temporalio import activity

from activities.contracts.limits import DEFAULT_MAX_IN_FLIGHT, DEFAULT_MAX_IN_FLIGHT_CEILING

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
# The worker's activity slots (worker.runtime.assembly.MAX_ACTIVITIES), and its
# local activity slots (the SDK's default), where first attempts run.
SLOTS = 200
LOCAL_SLOTS = 100
# Of the slots, what one project may hold while others want places.
DEFAULT_SHARE = 0.5
# Another project that asked for a place this recently is taken as wanting more.
_OTHERS_FOR = 60.0
# A refusal for the project's share is remembered this long, for the put_off
# that follows it at once (an event behind the first has none).
_REFUSED_FOR = 5.0


class Bulkhead:
    def __init__(
        self,
        default_limit: int = DEFAULT_MAX_IN_FLIGHT,
        *,
        slots: int = SLOTS,
        local_slots: int = LOCAL_SLOTS,
        share: float = DEFAULT_SHARE,
        ceiling: int = DEFAULT_MAX_IN_FLIGHT_CEILING,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        if not 0 < share <= 1:
            raise ValueError("a project's share of the worker is above 0 and at most 1")
        self.default_limit = default_limit
        self.ceiling = ceiling
        self._clock = clock
        self.slots = slots
        self.share_limit, self.solo_limit = _limits(slots, share)
        self.local_slots = local_slots
        self.local_share_limit, self.local_solo_limit = _limits(local_slots, share)
        # Projects with a share of their own: (places, local places) beside others.
        self._own_limits: dict[str, tuple[int, int]] = {}
        self._projects: dict[uuid.UUID, str] = {}
        self._project_counts: dict[tuple[str, bool], int] = {}
        # When each project last asked, and the activities refused for their
        # project's share: oldest first (see _forget).
        self._asked: dict[str, float] = {}
        self._refusals: dict[uuid.UUID, str] = {}
        self._over: dict[str, float] = {}
        self._project_waiting: dict[str, dict[str, float]] = {}
        self._project_started: dict[str, deque[float]] = {}
        self._project_seconds: dict[str, float] = {}
        self._counts: dict[uuid.UUID, int] = {}
        self._seconds: dict[uuid.UUID, float] = {}
        self._waiting: dict[uuid.UUID, dict[str, float]] = {}
        self._changed: asyncio.Condition | None = None
        self._waiters = 0

    def in_flight(self, webhook_id: uuid.UUID) -> int:
        return self._counts.get(webhook_id, 0)

    def belongs(self, webhook_id: uuid.UUID, project: str) -> None:
        """Note the webhook's project (the gate does, before each attempt)."""
        self._projects[webhook_id] = project

    def set_shares(self, shares: Mapping[str, float]) -> None:
        """The projects with a share of their own; the others, and a share out
        of bounds (never written by hookflow), have the default."""
        self._own_limits = {
            project: (_limits(self.slots, share)[0], _limits(self.local_slots, share)[0])
            for project, share in shares.items()
            if 0 < share <= 1
        }

    def share_limit_of(self, project: str, *, local: bool = False) -> int:
        """The places ``project`` may hold while another project wants some."""
        own = self._own_limits.get(project)
        if own is None:
            return self.local_share_limit if local else self.share_limit
        return own[1] if local else own[0]

    def project_in_flight(self, project: str, *, local: bool = False) -> int:
        return self._project_counts.get((project, local), 0)

    def cap(self, limit: int | None) -> int:
        """A webhook's attempts at once: its own cap (else the default), never
        over the server's ceiling (a webhook stored under a higher one keeps it)."""
        return min(limit or self.default_limit, self.ceiling)

    def project_limit(self, project: str, *, local: bool = False) -> int:
        """The attempts ``project`` may have under way now: its share while
        another project asked for a place lately, else all but a reserve."""
        _forget(self._asked, before=self._clock() - _OTHERS_FOR)
        others = any(p != project for p in self._asked) or any(
            n > 0 for (p, _local), n in self._project_counts.items() if p != project
        )
        beside = self.share_limit_of(project, local=local)
        if others:
            return beside
        return max(beside, self.local_solo_limit if local else self.solo_limit)

    def refusal(self, webhook_id: uuid.UUID, limit: int | None) -> str:
        """Why the last ``acquire`` for the webhook found no place."""
        return self._refusals.pop(webhook_id, None) or f"{self.cap(limit)} attempts in flight"

    async def acquire(
        self, webhook_id: uuid.UUID, *, key: str, limit: int | None, wait: float
    ) -> bool:
        """Take a place among the webhook's attempts for activity ``key``,
        waiting up to ``wait`` seconds for one (PATIENT_WAIT for a quick
        webhook while few wait); False when none came free.

        A newcomer leaves room for the activities put off earlier whose turn
        has come (in the webhook's line, and in its project's), so that those
        waiting are not passed for ever."""
        cap = self.cap(limit)
        project = self._projects.get(webhook_id)
        now = self._clock()
        _forget(self._over, before=now - _REFUSED_FOR)
        self._over.pop(key, None)
        project_due = 0
        if project is not None:
            self._asked.pop(project, None)  # to the end: the dict stays oldest first
            self._asked[project] = now
            line = self._project_waiting.get(project, {})
            project_due = 0 if line.pop(key, None) is not None else _due(line, now)
            if not self._project_free(project, project_due):
                self._refusals[webhook_id] = self._over_share(project, project_due)
                self._over[key] = now
                return False
        if self._seconds.get(webhook_id, QUICK) < QUICK and self._waiters < PATIENT_WAITERS:
            wait = max(wait, PATIENT_WAIT)
        waiting = self._waiting.get(webhook_id, {})
        due = 0 if waiting.pop(key, None) is not None else _due(waiting, now)

        def free() -> bool:
            return self.in_flight(webhook_id) + due < cap and (
                project is None or self._project_free(project, project_due)
            )

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
        if project is not None:
            pool = (project, _local())
            self._project_counts[pool] = self._project_counts.get(pool, 0) + 1
            self._project_started.setdefault(project, deque()).append(self._clock())
        return True

    def _project_free(self, project: str, due: int = 0) -> bool:
        """A place within the project's share, after the ``due`` places kept for
        those of its line whose turn has come."""
        local = _local()
        return self.project_in_flight(project, local=local) + due < self.project_limit(
            project, local=local
        )

    def _over_share(self, project: str, due: int) -> str:
        kept = f", {due} kept for its deliveries put off earlier" if due else ""
        return f"project {project} holds its share of this worker " + (
            f"({self.project_in_flight(project, local=True)} of {self.local_slots} "
            f"places for first attempts{kept})"
            if _local()
            else f"({self.project_in_flight(project)} of {self.slots} attempt places{kept})"
        )

    async def release(self, webhook_id: uuid.UUID, *, seconds: float) -> None:
        """Give the place back; ``seconds``: how long the attempts took."""
        left = self.in_flight(webhook_id) - 1
        if left > 0:
            self._counts[webhook_id] = left
        else:
            self._counts.pop(webhook_id, None)
        project = self._projects.get(webhook_id)
        if project is not None:
            pool = (project, _local())
            held = self._project_counts.get(pool, 0) - 1
            if held > 0:
                self._project_counts[pool] = held
            else:
                self._project_counts.pop(pool, None)
            started = self._project_started.get(project)
            if started:
                started.popleft()
            before = self._project_seconds.get(project, seconds)
            self._project_seconds[project] = before + _EWMA * (seconds - before)
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
        attempt to this webhook takes; refused for its project's share, behind
        the project's, each turn as long as its project's attempts take (or
        have taken so far): so that a crowd over its share does not keep the
        slots busy coming back for nothing."""
        project = self._projects.get(webhook_id)
        now = self._clock()
        if self._over.pop(key, None) is not None and project is not None:
            started = self._project_started.get(project)
            oldest = now - started[0] if started else 0.0
            turn = max(self._project_seconds.get(project, 1.0), oldest, 1.0)
            line = self._project_waiting.setdefault(project, {})
            per_turn = self.share_limit_of(project)
            return _queue(line, key, now=now, turn=turn, per_turn=per_turn, rng=rng)
        line = self._waiting.setdefault(webhook_id, {})
        turn = max(self._seconds.get(webhook_id, 1.0), 1.0)
        return _queue(line, key, now=now, turn=turn, per_turn=self.cap(limit), rng=rng)

    def _condition(self) -> asyncio.Condition:
        if self._changed is None:
            self._changed = asyncio.Condition()
        return self._changed


def _queue(
    line: dict[str, float],
    key: str,
    *,
    now: float,
    turn: float,
    per_turn: int,
    rng: random.Random | None,
) -> float:
    """Put ``key`` at the back of ``line`` (those put off, each with when it
    comes back; ``per_turn`` of them go each turn); the seconds until its turn."""
    line.pop(key, None)
    for other, until in list(line.items()):
        if until < now - _FORGET_AFTER:
            del line[other]
    rounds = 1 + len(line) / per_turn
    delay = min(turn * rounds * (rng or random).uniform(1.0, 1.25), MAX_DELAY)
    line[key] = now + delay
    return delay


def _due(line: dict[str, float], now: float) -> int:
    """How many of those put off in ``line`` have had their turn come lately:
    a place is kept for each."""
    return sum(now - _DUE_FOR <= t <= now for t in line.values())


def _forget(entries: dict[str, float], *, before: float) -> None:
    """Drop the entries noted before ``before``; ``entries`` is kept in the
    order they were noted (a key noted again is moved to the end), so only the
    stale ones at its front are looked at."""
    while entries:
        oldest = next(iter(entries))
        if entries[oldest] >= before:
            return
        del entries[oldest]


def _limits(slots: int, share: float) -> tuple[int, int]:
    """A project's places among ``slots``: its share beside others, and alone
    all but a tenth, kept for another project's first request."""
    beside = max(1, int(slots * share))
    return beside, max(beside, slots - max(1, slots // 10))


def _local() -> bool:
    """Whether this attempt runs as a local activity (a first attempt, inside
    its workflow task): those have the worker's local slots, apart and fewer."""
    return activity.in_activity() and activity.info().is_local
