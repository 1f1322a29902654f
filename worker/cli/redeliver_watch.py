"""Following a redelivery from the command line: each attempt as the delivery log
records it, the count done, and the outcome."""

from __future__ import annotations

import asyncio
import uuid
from collections.abc import Awaitable, Sequence
from dataclasses import dataclass, field

import click
from sqlalchemy import func
from sqlalchemy.engine import Engine
from sqlmodel import Session, col, select

from activities.contracts import Redeliver, RedeliverProgress
from activities.log.attempts import delivery_id as log_id
from activities.store.tables import Attempt, Delivery, Webhook
from worker.cli.output import CommandError
from worker.services.redelivery import RedeliverySummary

WATCH_EVERY = 0.5
"""How often the attempt log is read while a redelivery is waited for."""
WATCHED = 1000
"""At most this many deliveries have their attempts shown one by one."""


@dataclass
class Watch:
    """Shows a redelivery as it goes: a line when it starts, each attempt of its
    deliveries as the delivery log records it, and the count done."""

    engine: Engine
    streams: Sequence[Redeliver] = ()
    started: bool = False
    _ids: list[str] = field(default_factory=list)
    _labels: dict[str, str] = field(default_factory=dict)
    _seen: int = 0
    _progress: RedeliverProgress | None = None
    _shown: RedeliverProgress | None = None

    def progress(self, progress: RedeliverProgress) -> None:
        """The service's progress: shown after the attempts read with it."""
        self._announce()
        self._progress = progress

    def _announce(self) -> None:
        """Once the redelivery runs (before its first attempt or count is shown)."""
        if not self.started:
            self.started = True
            click.echo(
                "waiting for the result; Ctrl-C leaves it running (or use --no-wait)", err=True
            )

    async def follow(self, work: Awaitable[RedeliverySummary]) -> RedeliverySummary:
        """Await the redelivery, printing each new attempt of its deliveries."""
        await asyncio.to_thread(self._prepare)
        task = asyncio.ensure_future(work)
        while not task.done():
            await asyncio.wait([task], timeout=WATCH_EVERY)
            await self._show_new()
        await self._show_new()
        return task.result()

    def _prepare(self) -> None:
        self._ids = [
            log_id(event_id=item.envelope.event.id, webhook_id=item.target.id)
            for stream in self.streams
            for item in stream.items
        ][:WATCHED]
        with Session(self.engine) as session:
            rows = session.exec(select(Delivery).where(col(Delivery.id).in_(self._ids)))
            aliases: dict[uuid.UUID, str] = {}
            for row in rows:
                if row.webhook_id not in aliases:
                    webhook = session.get(Webhook, row.webhook_id)
                    aliases[row.webhook_id] = webhook.alias if webhook else str(row.webhook_id)
                self._labels[row.id] = (
                    f"#{row.sequence} {row.event_type} of {row.session_id} "
                    f"-> {aliases[row.webhook_id]}"
                )
            latest = session.exec(
                select(func.max(Attempt.id)).where(col(Attempt.delivery_id).in_(self._ids))
            ).one()
        self._seen = latest or 0

    async def _show_new(self) -> None:
        try:
            attempts = await asyncio.to_thread(self._new_attempts)
        except Exception:  # the attempts are shown best effort; the result decides
            attempts = []
        for attempt in attempts:
            self._announce()
            click.echo(
                f"  {_attempt_line(attempt, self._labels.get(attempt.delivery_id))}", err=True
            )
        if self._progress is not None and self._progress != self._shown:
            _print_progress(self._progress)
            self._shown = self._progress

    def _new_attempts(self) -> list[Attempt]:
        if not self._ids:
            return []
        with Session(self.engine) as session:
            found = list(
                session.exec(
                    select(Attempt)
                    .where(col(Attempt.delivery_id).in_(self._ids), col(Attempt.id) > self._seen)
                    .order_by(col(Attempt.id))
                )
            )
        if found:
            self._seen = max(a.id or 0 for a in found)
        return found


def _attempt_line(attempt: Attempt, label: str | None) -> str:
    """``attempt 3 of #1 WHEF_SESSION_CREATED of S -> crm: HTTP 503, retrying (12 ms)``."""
    answer = f"HTTP {attempt.status_code}" if attempt.status_code is not None else "no answer"
    line = f"attempt {attempt.attempt} of {label or attempt.delivery_id}: {answer}, "
    line += f"{attempt.outcome} ({attempt.latency_ms:.0f} ms)"
    if attempt.error and attempt.outcome != "delivered":
        line += f": {attempt.error}"
    return line


def _print_progress(progress: RedeliverProgress) -> None:
    click.echo(
        f"redelivering: {progress.done}/{progress.total} ({progress.failed} failed)", err=True
    )


def report(summary: RedeliverySummary) -> None:
    ids = summary.workflow_ids
    started = ", ".join(ids) if len(ids) <= 3 else f"{len(ids)} workflows"
    if not summary.waited:
        click.echo(f"started {started}: {summary.total} deliveries to {summary.webhook}")
        return
    click.echo(f"{summary.delivered} delivered, {summary.failed} failed ({started})")
    for error in summary.errors:
        click.echo(f"  {error}")
    if summary.failed:
        raise CommandError(f"{summary.failed} of {summary.total} redeliveries failed")
