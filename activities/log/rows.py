"""The attempt log's hot path: a batch of attempts written with a few Core statements.

Every POST writes one attempt row and brings its delivery's row up to date,
so this is paid once per attempt. The statements are built once, at import,
and run on a plain connection (no ORM session, no model object per row): a
batch is one upsert of its deliveries (``INSERT ... ON CONFLICT DO UPDATE ...
RETURNING``, which SQLite and PostgreSQL both speak) and one insert of its
attempts, two statements whatever its size.
"""

from __future__ import annotations

import json
import uuid
from collections.abc import Sequence
from datetime import datetime
from typing import TYPE_CHECKING, Any

from sqlalchemy import Insert, Table, and_, case, insert, or_
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.engine import Connection

from activities.contracts import DeliveryMark, DeliveryStatus, Envelope
from activities.contracts.states import TRANSITIONS
from activities.log.headers import seal_headers
from activities.store.crypto import SecretBox
from activities.store.database import utcnow
from activities.store.tables import Attempt, Delivery

if TYPE_CHECKING:
    from activities.log.attempts import AttemptRecord

EXCERPT_CAP = 16 * 1024
SEALED = "sealed"
SEALED_TEXT = "sealed:"

_DELIVERY: Table = Delivery.metadata.tables[Delivery.__tablename__]
_ATTEMPT: Table = Attempt.metadata.tables[Attempt.__tablename__]
# What an attempt changes on a delivery's row already logged, unless it is settled.
_KEPT = ("status", "status_code", "last_error", "next_attempt_at")


def _upsert(dialect: str, *, redelivery: bool) -> Insert:
    """New deliveries inserted, known ones brought up to date (their attempts
    added), each delivery's attempt count returned: the same on both backends.
    A settled row is never rewound (``states.TRANSITIONS``): a skipped one keeps
    its status, and a delivered one unless a redelivery's attempt moves it."""
    stmt = (postgresql.insert if dialect == "postgresql" else sqlite.insert)(_DELIVERY)
    status = _DELIVERY.c.status
    settled = status == "skipped"
    if not redelivery:
        settled = or_(settled, and_(status == "delivered", stmt.excluded.status != "delivered"))
    update: dict[str, Any] = {
        name: case((settled, _DELIVERY.c[name]), else_=stmt.excluded[name]) for name in _KEPT
    }
    update["updated_at"] = stmt.excluded.updated_at
    update["attempts"] = _DELIVERY.c.attempts + stmt.excluded.attempts
    stmt = stmt.on_conflict_do_update(index_elements=[_DELIVERY.c.id], set_=update)
    return stmt.returning(_DELIVERY.c.id, _DELIVERY.c.attempts)


_UPSERTS = {
    (name, redelivery): _upsert(name, redelivery=redelivery)
    for name in ("postgresql", "sqlite")
    for redelivery in (False, True)
}
_NEW_ATTEMPTS = insert(_ATTEMPT)
# An attempt's outcome as its delivery's status (anything else: failed).
_STATUS = {"delivered": "delivered", "retrying": "pending"}


def _mark_upsert(dialect: str) -> Insert:
    """A transition the session decided (held, released, waiting, skipped, failed):
    new deliveries are inserted with it, known ones move only where ``TRANSITIONS``
    allows. A delivered row stays delivered (only an attempt says otherwise), and
    a release (``pending``) never rewinds a row already pending, under way."""
    stmt = (postgresql.insert if dialect == "postgresql" else sqlite.insert)(_DELIVERY)
    old, new, pending = _DELIVERY.c.status, stmt.excluded.status, DeliveryStatus.PENDING
    allowed = or_(  # (pairs of equalities: an IN list cannot go with many rows)
        *(
            and_(old == was.value, new == to.value)
            for was, targets in TRANSITIONS.items()
            if was != DeliveryStatus.DELIVERED
            for to in sorted(targets)
            if not (was == to == pending)
        )
    )
    later = stmt.excluded.updated_at
    update: dict[str, Any] = {
        "status": new,
        "last_error": stmt.excluded.last_error,
        "next_attempt_at": stmt.excluded.next_attempt_at,
        "updated_at": case((later > _DELIVERY.c.created_at, later), else_=_DELIVERY.c.created_at),
    }
    return stmt.on_conflict_do_update(index_elements=[_DELIVERY.c.id], set_=update, where=allowed)


_MARKS = {name: _mark_upsert(name) for name in ("postgresql", "sqlite")}


class Seals:
    """Each delivery's envelope sealed once per worker: the envelope of a delivery
    never changes, and its row is written at each mark and attempt (bounded)."""

    def __init__(self, box: SecretBox, *, budget: int = 8 * 1024 * 1024) -> None:
        self.box = box
        self._budget = budget  # characters of sealed text kept, at most
        self._held = 0
        self._sealed: dict[str, str] = {}

    def envelope(self, key: str, envelope: Envelope) -> dict[str, str]:
        token = self._sealed.pop(key, None)
        if token is None:
            token = self.box.seal(json.dumps(envelope.body()))
            self._held += len(token)
        self._sealed[key] = token  # (the most recent last)
        while self._held > self._budget and self._sealed:
            self._held -= len(self._sealed.pop(next(iter(self._sealed))))
        return {SEALED: token}


def delivery_id(*, event_id: str, webhook_id: uuid.UUID) -> str:
    return f"{event_id}.{webhook_id.hex[:12]}"


def delivery_row(
    *,
    key: str,
    project: str,
    webhook_id: uuid.UUID,
    envelope: Envelope,
    seals: Seals,
    now: datetime,
) -> dict[str, Any]:
    """A new delivery row, its envelope sealed (personal data at rest)."""
    event = envelope.event
    return {
        "id": key,
        "project": project,
        "session_id": envelope.session.id,
        "webhook_id": webhook_id,
        "event_id": event.id,
        "event_type": event.type,
        "sequence": event.sequence,
        "status": "pending",
        "attempts": 0,
        "status_code": None,
        "last_error": None,
        "envelope": seals.envelope(key, envelope),
        "created_at": now,
        "updated_at": now,
        "next_attempt_at": None,
    }


def excerpt(body: bytes | None, box: SecretBox) -> str | None:
    """The response's first 16 KiB, sealed (it may echo personal data)."""
    if not body:
        return None
    return SEALED_TEXT + box.seal(body[:EXCERPT_CAP].decode("utf-8", errors="replace"))


def attempt_row(record: AttemptRecord, *, key: str, number: int, box: SecretBox) -> dict[str, Any]:
    """The attempt's row: the one place a field of ``AttemptRecord`` becomes a column."""
    return {
        "delivery_id": key,
        "attempt": number,
        "started_at": record.started_at,
        "status_code": record.status_code,
        "latency_ms": round(record.latency_ms, 2),
        "outcome": record.outcome,
        "error": record.error,
        "response_excerpt": excerpt(record.response, box),
        "request_headers": seal_headers(record.request_headers, box),
        "response_headers": seal_headers(record.response_headers, box),
    }


def write_attempts(
    connection: Connection, records: Sequence[AttemptRecord], *, seals: Seals
) -> None:
    """Add the attempts and bring their deliveries up to date (the caller commits):
    one upsert of the batch's deliveries (their attempt counts come back), one
    insert of its attempts."""
    rows: dict[str, dict[str, Any]] = {}
    numbered: list[tuple[str, int, AttemptRecord]] = []
    now = utcnow()
    for record in records:
        key = delivery_id(event_id=record.envelope.event.id, webhook_id=record.webhook_id)
        row = rows.get(key)
        if row is None:  # (sealed for an upsert that may only update: one seal per delivery)
            row = rows[key] = delivery_row(
                key=key,
                project=record.project,
                webhook_id=record.webhook_id,
                envelope=record.envelope,
                seals=seals,
                now=now,
            )
        row["attempts"] += 1
        row["redelivery"] = row.get("redelivery", False) or record.redelivery
        status = _STATUS.get(record.outcome, "failed")
        if row["status"] != "delivered" or status == "delivered" or record.redelivery:
            row["status"] = status
            row["status_code"] = record.status_code
            row["last_error"] = record.error
            row["next_attempt_at"] = record.next_attempt_at
        numbered.append((key, row["attempts"], record))
    totals: dict[str, int] = {}
    for redelivery in (False, True):
        batch = [  # (in key order: writers lock the rows they share in one order)
            {k: v for k, v in row.items() if k != "redelivery"}
            for _, row in sorted(rows.items())
            if row["redelivery"] == redelivery
        ]
        if batch:
            upsert = _UPSERTS[connection.dialect.name, redelivery]
            totals.update(connection.execute(upsert, batch).all())
    # Numbered across redeliveries: a redelivery's first attempt follows the last.
    attempts = [
        attempt_row(
            record, key=key, number=totals[key] - rows[key]["attempts"] + nth, box=seals.box
        )
        for key, nth, record in numbered
    ]
    connection.execute(_NEW_ATTEMPTS, attempts)


def write_marks(
    connection: Connection, project: str, marks: Sequence[DeliveryMark], *, seals: Seals
) -> None:
    """Record transitions that come without an attempt (the caller commits): one
    upsert per round, a delivery's second mark in the round after its first (a
    multi-row upsert may not touch one row twice), so each applies in turn."""
    now = utcnow()
    rounds: list[dict[str, dict[str, Any]]] = []
    for mark in marks:
        key = delivery_id(event_id=mark.envelope.event.id, webhook_id=mark.webhook_id)
        row = delivery_row(
            key=key,
            project=project,
            webhook_id=mark.webhook_id,
            envelope=mark.envelope,
            seals=seals,
            now=now,
        )
        row.update(
            status=mark.status.value, last_error=mark.error, next_attempt_at=mark.next_attempt_at
        )
        nth = next((i for i, r in enumerate(rounds) if key not in r), len(rounds))
        if nth == len(rounds):
            rounds.append({})
        rounds[nth][key] = row
    for batch in rounds:
        connection.execute(_MARKS[connection.dialect.name], [batch[k] for k in sorted(batch)])
