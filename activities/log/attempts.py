"""The delivery log: every attempt of every delivery, readable from the command line.

The log's copies of personal data, each delivery's envelope and each
attempt's response excerpt, are encrypted at rest with the secret box, in the
columns they always had: the envelope column (JSON) holds ``{"sealed": token}``
and the excerpt column (text) ``sealed:<token>``. Rows written before that
are read as they are.
"""

from __future__ import annotations

import asyncio
import json
import uuid
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import bindparam
from sqlalchemy.engine import Engine
from sqlmodel import Session, col, func, or_, select
from temporalio import activity

from activities.contracts import DeliverInput, DeliveryMark, DeliveryStatus, Envelope
from activities.log.observe import observe
from activities.log.rows import (
    EXCERPT_CAP,
    SEALED,
    SEALED_TEXT,
    Seals,
    delivery_id,
    write_attempts,
    write_marks,
)
from activities.store.crypto import SecretBox
from activities.store.tables import Attempt, Delivery, Webhook

__all__ = ["EXCERPT_CAP", "SEALED", "AttemptLog", "AttemptRecord", "delivery_id"]


@dataclass(frozen=True)
class AttemptRecord:
    webhook_id: uuid.UUID
    project: str
    envelope: Envelope
    started_at: datetime
    status_code: int | None
    latency_ms: float
    outcome: str  # delivered | retrying | failed | gone | refused
    error: str | None
    response: bytes | None
    attempt: int | None = None
    """The step of the ladder (attempts made by earlier activities included)."""
    next_attempt_at: datetime | None = None
    """When the ladder's next step is due (``retrying`` only)."""
    request_headers: dict[str, str] | None = None
    """As sent, credentials masked (``headers.sent_headers``)."""
    response_headers: dict[str, str] | None = None
    """As received, bounded (``headers.bounded``)."""
    redelivery: bool = False
    """Of a redelivery: may move a delivered row (any other attempt arriving
    after the row was delivered, a late duplicate, leaves it delivered)."""

    @classmethod
    def unsent(
        cls, req: DeliverInput, envelope: Envelope, *, started_at: datetime, error: str
    ) -> AttemptRecord:
        """The row of a delivery that could not even be built (a missing document)."""
        return cls(
            webhook_id=req.webhook_id,
            project=req.project,
            envelope=envelope,
            started_at=started_at,
            status_code=None,
            latency_ms=0.0,
            outcome="failed",
            error=error,
            response=None,
        )


def envelope_of(delivery: Delivery, *, box: SecretBox) -> dict[str, Any]:
    """The envelope as it was sent (opened when it is stored sealed)."""
    stored = delivery.envelope
    if set(stored) == {SEALED} and isinstance(stored[SEALED], str):
        opened: dict[str, Any] = json.loads(box.open(stored[SEALED]))
        return opened
    return stored


def excerpt_of(attempt: Attempt, *, box: SecretBox) -> str | None:
    """The attempt's response excerpt in clear."""
    text = attempt.response_excerpt
    if text is not None and text.startswith(SEALED_TEXT):
        return box.open(text.removeprefix(SEALED_TEXT))
    return text


def record_attempts(*, session: Session, records: Sequence[AttemptRecord], box: SecretBox) -> None:
    """Add the attempts and bring their deliveries up to date, in one transaction."""
    write_attempts(session.connection(), records, seals=Seals(box))
    session.commit()


def record_marks(
    *, session: Session, project: str, marks: Sequence[DeliveryMark], box: SecretBox
) -> None:
    """Record transitions that come without an attempt (held, released, waiting,
    skipped, failed by the session) in one transaction (``rows.write_marks``)."""
    write_marks(session.connection(), project, marks, seals=Seals(box))
    session.commit()


@dataclass(frozen=True)
class _Marks:
    project: str
    marks: Sequence[DeliveryMark]


class AttemptLog:
    """Group commit for the delivery log: attempts and marks that come together
    are written in one transaction, and each caller returns only once its own
    write is committed, so nothing is acknowledged that is not stored. Each
    stored attempt is then observed (metrics, one log line)."""

    def __init__(self, engine: Engine, *, box: SecretBox) -> None:
        self._engine = engine
        self._seals = Seals(box)
        self._pending: list[tuple[AttemptRecord | _Marks, asyncio.Future[None]]] = []
        self._writer: asyncio.Task[None] | None = None
        # A webhook's type never changes, so it is read once per worker.
        self._types: dict[uuid.UUID, str] = {}

    async def record(self, record: AttemptRecord) -> None:
        await self._commit(record)
        attempt = record.attempt
        if attempt is None and activity.in_activity():
            attempt = activity.info().attempt
        webhook_type = self._types.get(record.webhook_id, "unknown")
        observe(record, webhook_type=webhook_type, attempt=attempt)

    async def mark(self, project: str, marks: Sequence[DeliveryMark]) -> None:
        """Transitions without an attempt (held, released, waiting, skipped, failed)."""
        await self._commit(_Marks(project, marks))

    async def _commit(self, item: AttemptRecord | _Marks) -> None:
        future: asyncio.Future[None] = asyncio.get_running_loop().create_future()
        self._pending.append((item, future))
        if self._writer is None or self._writer.done():
            self._writer = asyncio.create_task(self._write_all())
        await future

    async def _write_all(self) -> None:
        while self._pending:
            batch, self._pending = self._pending, []
            try:
                await asyncio.to_thread(self._write, [item for item, _ in batch])
            except Exception as err:
                if len(batch) == 1:
                    _fail(batch[0][1], err)
                    continue
                # One bad write (or a deadlock) does not fail the others: each
                # goes again alone, and only its own caller sees its failure.
                for item, future in batch:
                    try:
                        await asyncio.to_thread(self._write, [item])
                    except Exception as alone:
                        _fail(future, alone)
                    else:
                        _done(future)
                continue
            for _, future in batch:
                _done(future)

    def _write(self, items: list[AttemptRecord | _Marks]) -> None:
        """In order: each run of attempts in one insert, each set of marks in turn."""
        with self._engine.begin() as connection:
            records = [i for i in items if isinstance(i, AttemptRecord)]
            for webhook_id in {r.webhook_id for r in records} - self._types.keys():
                webhook_type = connection.execute(_WEBHOOK_TYPE, {"id": webhook_id}).scalar()
                if webhook_type is not None:
                    self._types[webhook_id] = webhook_type
            run: list[AttemptRecord] = []
            for item in [*items, None]:
                if isinstance(item, AttemptRecord):
                    run.append(item)
                    continue
                if run:
                    write_attempts(connection, run, seals=self._seals)
                    run = []
                if item is not None:
                    write_marks(connection, item.project, item.marks, seals=self._seals)


def _done(future: asyncio.Future[None]) -> None:
    if not future.done():
        future.set_result(None)


def _fail(future: asyncio.Future[None], err: Exception) -> None:
    """For the caller awaiting ``future``, which retries its attempt or its marks."""
    if not future.done():
        future.set_exception(err)


_WEBHOOK_TYPE = select(Webhook.type).where(Webhook.id == bindparam("id"))


def list_deliveries(
    *,
    session: Session,
    session_id: str | None = None,
    webhook_id: uuid.UUID | None = None,
    status: str | None = None,
    limit: int = 100,
    project: str | None = None,
    since: datetime | None = None,
    until: datetime | None = None,
    after: tuple[datetime, str] | None = None,
) -> list[Delivery]:
    """Deliveries, newest first, filtered; ``since``/``until`` bound when each was created;
    ``after`` is the (created_at, id) of the previous page's last row (keyset paging)."""
    query = select(Delivery).order_by(col(Delivery.created_at).desc(), col(Delivery.id).desc())
    query = _filtered(query, session_id=session_id, webhook_id=webhook_id, project=project)
    if status:
        query = query.where(Delivery.status == status)
    if since:
        query = query.where(Delivery.created_at >= since)
    if until:
        query = query.where(Delivery.created_at < until)
    if after:
        at, last = after
        # The bound on created_at alone lets the index seek to the cursor.
        query = query.where(
            Delivery.created_at <= at, or_(Delivery.created_at < at, col(Delivery.id) < last)
        )
    return list(session.exec(query.limit(limit)))


def _filtered(
    query: Any, *, session_id: str | None, webhook_id: uuid.UUID | None, project: str | None
) -> Any:
    if session_id:
        query = query.where(Delivery.session_id == session_id)
    if webhook_id:
        query = query.where(Delivery.webhook_id == webhook_id)
    if project:
        query = query.where(Delivery.project == project)
    return query


def deliveries_in_window(
    *,
    session: Session,
    webhook_id: uuid.UUID,
    statuses: Sequence[str],
    since: datetime | None = None,
    until: datetime | None = None,
) -> list[Delivery]:
    """A webhook's deliveries in a time window with one of ``statuses``, ordered
    by stream (session) and, within each, by event sequence."""
    query = select(Delivery).where(
        Delivery.webhook_id == webhook_id, col(Delivery.status).in_(list(statuses))
    )
    if since:
        query = query.where(Delivery.created_at >= since)
    if until:
        query = query.where(Delivery.created_at < until)
    query = query.order_by(col(Delivery.session_id), col(Delivery.sequence))
    return list(session.exec(query))


OPEN_STATUSES = (
    DeliveryStatus.PENDING,
    DeliveryStatus.WAITING,
    DeliveryStatus.HELD,
    DeliveryStatus.FAILED,
)


def count_open(*, session: Session) -> dict[tuple[str, str], int]:
    """Deliveries not delivered (pending, waiting, held, failed), per (project, status)."""
    query = (
        select(Delivery.project, Delivery.status, func.count())
        .where(col(Delivery.status).in_([str(s) for s in OPEN_STATUSES]))
        .group_by(col(Delivery.project), col(Delivery.status))
    )
    return {(project, status): count for project, status, count in session.exec(query)}


def attempts_by_delivery(
    *, session: Session, deliveries: Sequence[str]
) -> dict[str, list[Attempt]]:
    """Every attempt of each delivery named, in order (one query for a page of them)."""
    found: dict[str, list[Attempt]] = {key: [] for key in deliveries}
    if deliveries:
        query = (
            select(Attempt)
            .where(col(Attempt.delivery_id).in_(list(deliveries)))
            .order_by(col(Attempt.id))
        )
        for attempt in session.exec(query):
            found[attempt.delivery_id].append(attempt)
    return found


def last_attempts(*, session: Session, deliveries: Sequence[str]) -> dict[str, Attempt]:
    """The latest attempt of each delivery named (for latency and response excerpts)."""
    if not deliveries:
        return {}
    query = (
        select(Attempt)
        .where(col(Attempt.delivery_id).in_(list(deliveries)))
        .order_by(col(Attempt.id))
    )
    return {attempt.delivery_id: attempt for attempt in session.exec(query)}


def attempts_of(*, session: Session, delivery: str) -> list[Attempt]:
    query = select(Attempt).where(Attempt.delivery_id == delivery).order_by(col(Attempt.id))
    return list(session.exec(query))


def deliveries_from(
    *, session: Session, session_id: str, webhook_id: uuid.UUID, from_sequence: int
) -> list[Delivery]:
    """A session's deliveries to one webhook from a sequence on, in event order."""
    query = (
        select(Delivery)
        .where(
            Delivery.session_id == session_id,
            Delivery.webhook_id == webhook_id,
            Delivery.sequence >= from_sequence,
        )
        .order_by(col(Delivery.sequence))
    )
    return list(session.exec(query))
