"""Redelivery: one delivery, a session's stream, or a window of a webhook's deliveries.

The REST API and the pane go through ``redeliver_one`` and ``redeliver_window``,
the command line (which shows what it planned) through ``redeliver_planned``
with a plan of ``redelivery_plans``. Each (session,
webhook) stream is sent again in event order, with the same ``webhook-id``s;
streams run side by side. A running session that still holds the deliveries
(failed, or held behind them) sends them itself (its ``redeliver`` signal), so
its state, details and ``HookflowFailedWebhooks`` say delivered afterwards;
otherwise a ``Redeliver`` workflow sends the stream from the delivery log.
"""

from __future__ import annotations

import asyncio
import functools
import hashlib
import json
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from sqlalchemy.engine import Engine
from temporalio.client import Client, WorkflowHandle
from temporalio.common import WorkflowIDConflictPolicy, WorkflowIDReusePolicy
from temporalio.exceptions import WorkflowAlreadyStartedError

from activities.catalog import REDELIVER_SIGNAL
from activities.contracts import (
    DeliveryStatus,
    Redeliver,
    RedeliverProgress,
    SessionState,
)
from activities.errors import Conflict
from activities.store.crypto import SecretBox
from worker.runtime.settings import Settings
from worker.services.ids import find, workflow_id
from worker.services.redelivery_plans import WindowStatus, plan_one, plan_window
from workflows.patches import START_MEMO
from workflows.redeliver import RedeliverWorkflow

Progress = Callable[[RedeliverProgress], None]
ClientSource = Callable[[], Awaitable[Client]]
"""Gives the Temporal client once the request is known to be valid (so a bad
request is refused without reaching Temporal)."""


@dataclass(frozen=True)
class Backend:
    """Where a door's work runs: Temporal (connected on first use), the settings,
    the store. The API's and the pane's ``Services.backend``."""

    temporal: ClientSource
    settings: Settings
    engine: Engine


POLL_EVERY = 0.5
AGREE_TRIES = 25  # about 2.5 s for a session to settle what its log already says
POLLED_STREAMS = 20  # progress of more streams is counted as they finish


@dataclass
class RedeliverySummary:
    """What a redelivery did (or, without waiting, started)."""

    total: int
    delivered: int = 0
    failed: int = 0
    errors: list[str] = field(default_factory=list)
    workflow_ids: list[str] = field(default_factory=list)
    waited: bool = True
    webhook: str = ""


class _Stream:
    """One stream being sent again: by its running session, or by a
    ``Redeliver`` workflow."""

    def __init__(self, handle: WorkflowHandle[Any, Any], req: Redeliver, *, by_session: bool):
        self.handle, self.req, self.by_session = handle, req, by_session
        self.events = [item.envelope.event.id for item in req.items]
        self.webhook_id = req.items[0].target.id

    async def progress(self) -> RedeliverProgress:
        if not self.by_session:
            part: RedeliverProgress = await self.handle.query(RedeliverWorkflow.progress)
            return part
        state = await self.handle.query("state", result_type=SessionState)
        mine = [
            d
            for d in state.deliveries
            if d.webhook_id == self.webhook_id and d.event_id in self.events
        ]
        done = RedeliverProgress(total=len(self.events))
        done.delivered = sum(1 for d in mine if d.status == DeliveryStatus.DELIVERED)
        if any(d.status == DeliveryStatus.FAILED for d in mine):
            done.failed = len(self.events) - done.delivered
            done.errors = [d.error for d in mine if d.status == DeliveryStatus.FAILED and d.error]
        return done

    async def result(self) -> RedeliverProgress:
        if not self.by_session:
            result: RedeliverProgress = await self.handle.result()
            return result
        while (now := await self.progress()).done < now.total:
            await asyncio.sleep(POLL_EVERY)
        return now


async def _start_stream(
    client: Client, settings: Settings, req: Redeliver, key: str | None
) -> _Stream:
    """Send one stream again: through its session while it runs and holds these
    deliveries (failed or held: released in order; waiting: tried now), else
    with a ``Redeliver`` workflow whose id is the request's, so a request
    repeated while it runs, or with the same idempotency key, redelivers once."""
    session = await _session_of(client, req)
    stream = _Stream(session, req, by_session=True)
    # The log and the session agree within moments (the session records what it
    # decides through a local activity; the log may also be a moment ahead of it):
    # ask again while the session still sends what the log says has settled.
    for _ in range(AGREE_TRIES):
        try:
            state = await session.query("state", result_type=SessionState)
        except Exception:  # ended, or never a session of this worker's: from the log
            state = None
        mine = {
            d.event_id: d
            for d in (state.deliveries if state else [])
            if d.webhook_id == stream.webhook_id and d.event_id in stream.events
        }
        sending = [d for d in mine.values() if d.status == DeliveryStatus.PENDING]
        if not sending:
            break
        await asyncio.sleep(POLL_EVERY / 5)
    if sending:
        raise Conflict(
            f"event {sending[0].event_id} is still being delivered by its session "
            f"({sending[0].attempts} attempts so far): it is not redelivered"
        )
    held = (DeliveryStatus.FAILED, DeliveryStatus.HELD, DeliveryStatus.WAITING)
    if state is not None and set(stream.events) <= {e for e, d in mine.items() if d.status in held}:
        await session.signal(
            REDELIVER_SIGNAL, {"webhook_id": str(stream.webhook_id), "event_ids": stream.events}
        )
        return stream
    if any(item.status == DeliveryStatus.WAITING for item in req.items):
        raise Conflict(
            f"a delivery to {req.items[0].target.alias} is waiting to be sent by its session: "
            "it is not redelivered"
        )
    workflow_id = _redelivery_id(req, key)
    try:
        handle = await client.start_workflow(
            RedeliverWorkflow.run,
            req,
            id=workflow_id,
            task_queue=settings.task_queue,
            id_conflict_policy=WorkflowIDConflictPolicy.USE_EXISTING,
            id_reuse_policy=(
                WorkflowIDReusePolicy.REJECT_DUPLICATE
                if key
                else WorkflowIDReusePolicy.ALLOW_DUPLICATE
            ),
            static_summary=f"redeliver {len(req.items)} to {req.items[0].target.alias}",
            memo=START_MEMO,
        )
    except WorkflowAlreadyStartedError:  # done before with this key: its result stands
        handle = client.get_workflow_handle(workflow_id)
    return _Stream(handle, req, by_session=False)


async def _session_of(client: Client, req: Redeliver) -> WorkflowHandle[Any, Any]:
    """The stream's session: of the request's project, under the per-project id
    or the old form; one that has gone answers no query, so the log sends it."""
    session_id = req.items[0].envelope.session.id
    try:
        found = await find(client, "session", project=req.project, object_id=session_id)
    except Exception:  # Temporal cannot say: the log sends the stream
        found = None
    if found is not None:
        return found.handle
    return client.get_workflow_handle(workflow_id("session", req.project, session_id))


def _redelivery_id(req: Redeliver, key: str | None) -> str:
    """The same request (the same deliveries, as far along as they were), or the
    same idempotency key, names the same workflow."""
    what = key or json.dumps(
        [str(req.items[0].target.id), [(i.envelope.event.id, i.attempts) for i in req.items]]
    )
    what = f"{req.project}:{what}" if key else what  # one project's key is not another's
    return "redeliver-" + hashlib.sha256(what.encode()).hexdigest()[:20]


async def run_streams(
    *,
    client: Client,
    settings: Settings,
    streams: Sequence[Redeliver],
    wait: bool = True,
    on_progress: Progress | None = None,
    idempotency_key: str | None = None,
) -> RedeliverySummary:
    """Start every stream; with ``wait``, report progress until all are done."""
    started = [await _start_stream(client, settings, req, idempotency_key) for req in streams]
    summary = RedeliverySummary(
        total=sum(len(req.items) for req in streams),
        workflow_ids=[stream.handle.id for stream in started],
        waited=wait,
        webhook=streams[0].items[0].target.alias if streams else "",
    )
    if not wait:
        return summary
    results = await _follow(started, summary.total, on_progress)
    for result in results:
        summary.delivered += result.delivered
        summary.failed += result.failed
        summary.errors += result.errors
    return summary


async def _follow(
    streams: Sequence[_Stream], total: int, on_progress: Progress | None
) -> list[RedeliverProgress]:
    tasks = [asyncio.ensure_future(stream.result()) for stream in streams]
    last: RedeliverProgress | None = None
    while True:
        finished = all(task.done() for task in tasks)
        if on_progress is not None:
            now = await _progress(streams, tasks, total)
            if now != last:
                on_progress(now)
                last = now
        if finished:
            return [task.result() for task in tasks]
        await asyncio.wait(tasks, timeout=POLL_EVERY, return_when=asyncio.ALL_COMPLETED)


async def _progress(
    streams: Sequence[_Stream],
    tasks: Sequence[asyncio.Future[RedeliverProgress]],
    total: int,
) -> RedeliverProgress:
    """Progress so far: finished streams' results, and the running ones' query."""
    sum_ = RedeliverProgress(total=total)
    polled = 0
    for stream, task in zip(streams, tasks, strict=True):
        part: RedeliverProgress | None = None
        if task.done() and task.exception() is None:
            part = task.result()
        elif not task.done() and polled < POLLED_STREAMS:
            polled += 1
            try:
                part = await stream.progress()
            except Exception:  # progress is best effort; the results decide the outcome
                part = None
        if part is not None:
            sum_.delivered += part.delivered
            sum_.failed += part.failed
    return sum_


def box_of(settings: Settings) -> SecretBox:
    return SecretBox(settings.secret_key(create=False))


async def redeliver_one(
    backend: Backend,
    *,
    delivery_id: str,
    project: str | None = None,
    wait: bool = True,
    idempotency_key: str | None = None,
) -> RedeliverySummary:
    """Send one delivery again, with the same ``webhook-id`` (of ``project`` when
    given: another project's is not found)."""
    plan = functools.partial(plan_one, delivery_id=delivery_id, project=project)
    return await _planned(plan, backend, wait, idempotency_key)


async def redeliver_window(
    backend: Backend,
    *,
    webhook: str,
    project: str | None = None,
    status: WindowStatus = "failed",
    since: datetime | None = None,
    until: datetime | None = None,
    wait: bool = True,
    idempotency_key: str | None = None,
) -> RedeliverySummary:
    """Send a webhook's failed (or held) deliveries of a time window again, each
    (session, webhook) stream in event order."""
    plan = functools.partial(
        plan_window,
        webhook=webhook,
        project=project,
        status=status,
        since=since,
        until=until,
    )
    return await _planned(plan, backend, wait, idempotency_key)


async def _planned(
    plan: Callable[..., list[Redeliver]],
    backend: Backend,
    wait: bool,
    idempotency_key: str | None,
) -> RedeliverySummary:
    """Plan from the log with the backend's database and key (off the event
    loop; a bad request never reaches Temporal), then send every stream."""
    box = box_of(backend.settings)
    streams = await asyncio.to_thread(plan, engine=backend.engine, box=box)
    return await redeliver_planned(
        streams,
        temporal=backend.temporal,
        settings=backend.settings,
        wait=wait,
        idempotency_key=idempotency_key,
    )


async def redeliver_planned(
    streams: Sequence[Redeliver],
    *,
    temporal: ClientSource,
    settings: Settings,
    wait: bool = True,
    on_progress: Progress | None = None,
    idempotency_key: str | None = None,
) -> RedeliverySummary:
    """Send streams a caller planned itself (``redelivery_plans``), so that it
    need not plan them twice."""
    return await run_streams(
        client=await temporal(),
        settings=settings,
        streams=streams,
        wait=wait,
        on_progress=on_progress,
        idempotency_key=idempotency_key,
    )
