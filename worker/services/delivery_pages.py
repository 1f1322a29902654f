"""Pages of the delivery log, for the API, the command line and the pane alike.

A page ends with an opaque cursor (``worker.services.cursors``): the
(created_at, id) of its last row. The next page starts strictly after that key
in the log's order (newest first, ties by id, also descending: the index read backwards),
so deliveries written between two pages (newer, so before the cursor) never
shift a row into or out of the next page, as an offset would.
"""

from __future__ import annotations

import uuid
from dataclasses import asdict, dataclass
from datetime import UTC, datetime

from sqlmodel import Session

from activities.log.attempts import list_deliveries
from activities.store.tables import Delivery
from worker.services.cursors import Page, decode_cursor, encode_cursor, invalid_cursor


def encode_delivery_cursor(row: Delivery) -> str:
    """The cursor that resumes the log after ``row``."""
    return encode_cursor([row.created_at.isoformat(), row.id])


def decode_delivery_cursor(cursor: str) -> tuple[datetime, str]:
    """The (created_at, id) a cursor stands for; ``ConfigError`` if it was not
    one of ours."""
    at, delivery_id = decode_cursor(cursor, size=2)
    try:
        when = datetime.fromisoformat(at)
    except ValueError:
        raise invalid_cursor() from None
    if when.tzinfo is None:
        raise invalid_cursor()
    return when.astimezone(UTC), delivery_id


@dataclass(frozen=True)
class DeliveryFilter:
    """Which deliveries a page shows (every front door offers these): the
    filters of ``list_deliveries``, by the same names."""

    project: str | None = None
    session_id: str | None = None
    webhook_id: uuid.UUID | None = None
    status: str | None = None
    since: datetime | None = None
    until: datetime | None = None


DeliveryPage = Page[Delivery]


def delivery_page(
    *, session: Session, where: DeliveryFilter, limit: int, after: str | None = None
) -> DeliveryPage:
    """Up to ``limit`` deliveries after the cursor ``after``, newest first."""
    rows = list_deliveries(
        session=session,
        **asdict(where),
        after=decode_delivery_cursor(after) if after else None,
        limit=limit + 1,
    )
    more = len(rows) > limit
    rows = rows[:limit]
    return DeliveryPage(rows=rows, next=encode_delivery_cursor(rows[-1]) if more else None)
