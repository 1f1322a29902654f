"""The delivery log: every attempt of every delivery, readable from the command line."""

from __future__ import annotations

import asyncio
import uuid
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy.engine import Engine
from sqlmodel import Session, col, select

from activities.contracts import DeliveryStatus, Envelope
from activities.store.database import utcnow
from activities.store.tables import Attempt, Delivery

EXCERPT_CAP = 16 * 1024


def delivery_id(*, event_id: str, webhook_id: uuid.UUID) -> str:
    return f"{event_id}.{webhook_id.hex[:12]}"


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


def _excerpt(body: bytes | None) -> str | None:
    if not body:
        return None
    return body[:EXCERPT_CAP].decode("utf-8", errors="replace")


def _delivery(
    session: Session, *, project: str, webhook_id: uuid.UUID, envelope: Envelope
) -> Delivery:
    """The delivery of ``envelope`` to the webhook, new if it has none yet."""
    event = envelope.event
    key = delivery_id(event_id=event.id, webhook_id=webhook_id)
    return session.get(Delivery, key) or Delivery(
        id=key,
        project=project,
        session_id=envelope.session.id,
        webhook_id=webhook_id,
        event_id=event.id,
        event_type=event.type,
        sequence=event.sequence,
        envelope=envelope.body(),
    )


def record_attempts(*, session: Session, records: Sequence[AttemptRecord]) -> None:
    """Add the attempts and bring their deliveries up to date, in one transaction."""
    deliveries: dict[str, Delivery] = {}
    for record in records:
        event = record.envelope.event
        key = delivery_id(event_id=event.id, webhook_id=record.webhook_id)
        delivery = deliveries.get(key) or _delivery(
            session, project=record.project, webhook_id=record.webhook_id, envelope=record.envelope
        )
        deliveries[key] = delivery
        delivery.attempts += 1
        delivery.status = _STATUS.get(record.outcome, "failed")
        delivery.status_code = record.status_code
        delivery.last_error = record.error
        delivery.updated_at = utcnow()
        session.add(delivery)
        session.add(
            Attempt(
                delivery_id=key,
                # Numbered across redeliveries: a redelivery's first attempt follows the last.
                attempt=delivery.attempts,
                started_at=record.started_at,
                status_code=record.status_code,
                latency_ms=round(record.latency_ms, 2),
                outcome=record.outcome,
                error=record.error,
                response_excerpt=_excerpt(record.response),
            )
        )
    session.commit()


def mark_deliveries(
    *,
    session: Session,
    project: str,
    webhook_id: uuid.UUID,
    envelopes: Sequence[Envelope],
    status: DeliveryStatus,
    reason: str,
) -> None:
    """Set the status of deliveries that get no attempt now (held while their
    webhook is paused, failed when out of time), creating those not logged yet.
    A delivery already delivered stays so."""
    for envelope in envelopes:
        delivery = _delivery(session, project=project, webhook_id=webhook_id, envelope=envelope)
        if delivery.status == DeliveryStatus.DELIVERED:
            continue
        delivery.status = status
        delivery.last_error = reason
        delivery.updated_at = utcnow()
        session.add(delivery)
    session.commit()


class AttemptLog:
    """Group commit for the attempt log: attempts that finish together are
    written in one transaction, and each caller returns only once its own
    attempt is committed, so nothing is acknowledged that is not stored."""

    def __init__(self, engine: Engine) -> None:
        self._engine = engine
        self._pending: list[tuple[AttemptRecord, asyncio.Future[None]]] = []
        self._writer: asyncio.Task[None] | None = None

    async def record(self, record: AttemptRecord) -> None:
        future: asyncio.Future[None] = asyncio.get_running_loop().create_future()
        self._pending.append((record, future))
        if self._writer is None or self._writer.done():
            self._writer = asyncio.create_task(self._write_all())
        await future

    async def _write_all(self) -> None:
        while self._pending:
            batch, self._pending = self._pending, []
            try:
                await asyncio.to_thread(self._write, [record for record, _ in batch])
            except Exception as err:  # each caller sees the failure and retries its attempt
                for _, future in batch:
                    if not future.done():
                        future.set_exception(err)
                continue
            for _, future in batch:
                if not future.done():
                    future.set_result(None)

    def _write(self, records: list[AttemptRecord]) -> None:
        with Session(self._engine) as session:
            record_attempts(session=session, records=records)


_STATUS = {"delivered": "delivered", "retrying": "pending"}


def list_deliveries(
    *,
    session: Session,
    session_id: str | None = None,
    webhook_id: uuid.UUID | None = None,
    status: str | None = None,
    limit: int = 100,
) -> list[Delivery]:
    query = select(Delivery).order_by(col(Delivery.created_at).desc()).limit(limit)
    if session_id:
        query = query.where(Delivery.session_id == session_id)
    if webhook_id:
        query = query.where(Delivery.webhook_id == webhook_id)
    if status:
        query = query.where(Delivery.status == status)
    return list(session.exec(query))


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
