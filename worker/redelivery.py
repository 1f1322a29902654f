"""Redelivery: one delivery, a session's stream, or a window of a webhook's deliveries.

The command line, the REST API and the pane all go through ``redeliver_one``,
``redeliver_stream`` and ``redeliver_window``. Each (session,
webhook) stream is sent again in event order, with the same ``webhook-id``s;
streams run side by side. ``_start_stream`` is the one Temporal call: today it
starts a ``Redeliver`` workflow per stream.
"""

from __future__ import annotations

import asyncio
import uuid
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any, Literal

from sqlalchemy.engine import Engine
from sqlmodel import Session
from temporalio.client import Client, WorkflowHandle

from activities.contracts import DeliveryCarry, Envelope, Redeliver, RedeliverProgress
from activities.delivery.retry import parse_duration
from activities.errors import ConfigError, Conflict, NotFound
from activities.log.attempts import deliveries_from, deliveries_in_window
from activities.store.tables import Delivery, Webhook
from activities.store.webhooks import find_webhook, target_of
from worker.settings import Settings
from workflows.redeliver import RedeliverWorkflow

WindowStatus = Literal["failed", "held"]
Progress = Callable[[RedeliverProgress], None]
ClientSource = Callable[[], Awaitable[Client]]
"""Gives the Temporal client once the request is known to be valid (so a bad
request is refused without reaching Temporal)."""
POLL_EVERY = 0.5
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


def parse_when(text: str, *, now: datetime | None = None) -> datetime:
    """An ISO 8601 time (UTC if no zone is given), or a duration ago (``24h``, ``30m``)."""
    now = now or datetime.now(UTC)
    try:
        return now - timedelta(seconds=parse_duration(text))
    except ValueError:
        pass
    try:
        when = datetime.fromisoformat(text)
    except ValueError:
        raise ConfigError(f"{text!r} is neither a time (ISO 8601) nor a duration (24h)") from None
    return when if when.tzinfo else when.replace(tzinfo=UTC)


def _usable(webhook: Webhook) -> Webhook:
    if not webhook.enabled:
        raise Conflict(
            f"webhook {webhook.alias} is disabled ({webhook.disabled_reason}): "
            "enable it with `hookflow webhooks update --enable` first"
        )
    return webhook


def _streams(webhook: Webhook, rows: Sequence[Delivery]) -> list[Redeliver]:
    """One request per session stream, its events in sequence order."""
    target = target_of(webhook, "redelivery")
    by_session: dict[str, list[DeliveryCarry]] = {}
    for row in sorted(rows, key=lambda r: (r.session_id, r.sequence)):
        carry = DeliveryCarry(target=target, envelope=Envelope.model_validate(row.envelope))
        by_session.setdefault(row.session_id, []).append(carry)
    return [Redeliver(project=webhook.project, items=items) for items in by_session.values()]


def plan_one(*, engine: Engine, delivery_id: str, project: str | None = None) -> list[Redeliver]:
    """A delivery (of ``project`` when given: another project's is not found)."""
    with Session(engine) as session:
        row = session.get(Delivery, delivery_id)
        if row is None or (project and row.project != project):
            raise NotFound(f"no delivery {delivery_id}")
        webhook = session.get(Webhook, row.webhook_id)
        if webhook is None:
            raise Conflict(f"the webhook of delivery {delivery_id} was deleted")
        return _streams(_usable(webhook), [row])


def plan_stream(
    *, engine: Engine, session_id: str, webhook: str, from_sequence: int, project: str | None
) -> list[Redeliver]:
    """A session's stream to one webhook, from a sequence on."""
    with Session(engine) as session:
        found = _usable(find_webhook(session=session, ref=webhook, project=project))
        rows = deliveries_from(
            session=session, session_id=session_id, webhook_id=found.id, from_sequence=from_sequence
        )
        if not rows:
            raise NotFound(
                f"no deliveries of session {session_id} to {found.alias} "
                f"from sequence {from_sequence}"
            )
        return _streams(found, rows)


def plan_window(
    *,
    engine: Engine,
    webhook: str,
    project: str | None,
    status: WindowStatus,
    since: datetime | None,
    until: datetime | None,
) -> list[Redeliver]:
    """A webhook's failed (or held) deliveries created in [since, until)."""
    if since and until and since >= until:
        raise ConfigError("since must be before until")
    with Session(engine) as session:
        found = _usable(find_webhook(session=session, ref=webhook, project=project))
        rows = deliveries_in_window(
            session=session, webhook_id=found.id, statuses=[status], since=since, until=until
        )
        if not rows:
            raise NotFound(f"no {status} deliveries to {found.alias} in that window")
        return _streams(found, rows)


async def _start_stream(
    client: Client, settings: Settings, req: Redeliver
) -> WorkflowHandle[Any, RedeliverProgress]:
    """Send one stream again: the single Temporal call of a redelivery."""
    return await client.start_workflow(
        RedeliverWorkflow.run,
        req,
        id=f"redeliver-{uuid.uuid4().hex[:12]}",
        task_queue=settings.task_queue,
        static_summary=f"redeliver {len(req.items)} to {req.items[0].target.alias}",
    )


async def run_streams(
    *,
    client: Client,
    settings: Settings,
    streams: Sequence[Redeliver],
    wait: bool = True,
    on_progress: Progress | None = None,
) -> RedeliverySummary:
    """Start every stream; with ``wait``, report progress until all are done."""
    handles = [await _start_stream(client, settings, req) for req in streams]
    summary = RedeliverySummary(
        total=sum(len(req.items) for req in streams),
        workflow_ids=[handle.id for handle in handles],
        waited=wait,
        webhook=streams[0].items[0].target.alias if streams else "",
    )
    if not wait:
        return summary
    results = await _follow(handles, summary.total, on_progress)
    for result in results:
        summary.delivered += result.delivered
        summary.failed += result.failed
        summary.errors += result.errors
    return summary


async def _follow(
    handles: Sequence[WorkflowHandle[Any, RedeliverProgress]],
    total: int,
    on_progress: Progress | None,
) -> list[RedeliverProgress]:
    tasks = [asyncio.ensure_future(handle.result()) for handle in handles]
    last: RedeliverProgress | None = None
    while True:
        finished = all(task.done() for task in tasks)
        if on_progress is not None:
            now = await _progress(handles, tasks, total)
            if now != last:
                on_progress(now)
                last = now
        if finished:
            return [task.result() for task in tasks]
        await asyncio.wait(tasks, timeout=POLL_EVERY, return_when=asyncio.ALL_COMPLETED)


async def _progress(
    handles: Sequence[WorkflowHandle[Any, RedeliverProgress]],
    tasks: Sequence[asyncio.Future[RedeliverProgress]],
    total: int,
) -> RedeliverProgress:
    """Progress so far: finished streams' results, and the running ones' query."""
    sum_ = RedeliverProgress(total=total)
    polled = 0
    for handle, task in zip(handles, tasks, strict=True):
        part: RedeliverProgress | None = None
        if task.done() and task.exception() is None:
            part = task.result()
        elif not task.done() and polled < POLLED_STREAMS:
            polled += 1
            try:
                part = await handle.query(RedeliverWorkflow.progress)
            except Exception:  # progress is best effort; the results decide the outcome
                part = None
        if part is not None:
            sum_.delivered += part.delivered
            sum_.failed += part.failed
    return sum_


async def redeliver_one(
    *,
    temporal: ClientSource,
    settings: Settings,
    engine: Engine,
    delivery_id: str,
    project: str | None = None,
    wait: bool = True,
    on_progress: Progress | None = None,
) -> RedeliverySummary:
    """Send one delivery again, with the same ``webhook-id`` (of ``project`` when
    given: another project's is not found)."""
    streams = await asyncio.to_thread(
        plan_one, engine=engine, delivery_id=delivery_id, project=project
    )
    return await run_streams(
        client=await temporal(),
        settings=settings,
        streams=streams,
        wait=wait,
        on_progress=on_progress,
    )


async def redeliver_stream(
    *,
    temporal: ClientSource,
    settings: Settings,
    engine: Engine,
    session_id: str,
    webhook: str,
    from_sequence: int = 1,
    project: str | None = None,
    wait: bool = True,
    on_progress: Progress | None = None,
) -> RedeliverySummary:
    """Send a session's stream to one webhook again, from a sequence on."""
    streams = await asyncio.to_thread(
        plan_stream,
        engine=engine,
        session_id=session_id,
        webhook=webhook,
        from_sequence=from_sequence,
        project=project,
    )
    return await run_streams(
        client=await temporal(),
        settings=settings,
        streams=streams,
        wait=wait,
        on_progress=on_progress,
    )


async def redeliver_window(
    *,
    temporal: ClientSource,
    settings: Settings,
    engine: Engine,
    webhook: str,
    project: str | None = None,
    status: WindowStatus = "failed",
    since: datetime | None = None,
    until: datetime | None = None,
    wait: bool = True,
    on_progress: Progress | None = None,
) -> RedeliverySummary:
    """Send a webhook's failed (or held) deliveries of a time window again, each
    (session, webhook) stream in event order."""
    streams = await asyncio.to_thread(
        plan_window,
        engine=engine,
        webhook=webhook,
        project=project,
        status=status,
        since=since,
        until=until,
    )
    return await run_streams(
        client=await temporal(),
        settings=settings,
        streams=streams,
        wait=wait,
        on_progress=on_progress,
    )
