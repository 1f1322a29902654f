"""Pages of the delivery log, for the API, the command line and the pane alike.

A page ends with an opaque cursor: the (created_at, id) of its last row, as
base64url JSON. The next page starts strictly after that key in the log's
order (newest first, ties by id, also descending: the index read backwards),
so deliveries written between two pages (newer, so before the cursor) never
shift a row into or out of the next page, as an offset would.
"""

from __future__ import annotations

import base64
import binascii
import json
import uuid
from dataclasses import dataclass
from datetime import UTC, datetime

from sqlmodel import Session

from activities.errors import ConfigError
from activities.log.attempts import list_deliveries
from activities.store.tables import Delivery

CURSOR_LIMIT = 400
"""Longest cursor accepted (an id is at most 200 characters)."""


def encode_cursor(row: Delivery) -> str:
    """The cursor that resumes the log after ``row``."""
    key = json.dumps([row.created_at.isoformat(), row.id], separators=(",", ":"))
    return base64.urlsafe_b64encode(key.encode()).decode().rstrip("=")


def decode_cursor(cursor: str) -> tuple[datetime, str]:
    """The (created_at, id) a cursor stands for; ``ConfigError`` if it was not
    one of ours."""
    try:
        if len(cursor) > CURSOR_LIMIT:
            raise ValueError
        raw = base64.urlsafe_b64decode(cursor + "=" * (-len(cursor) % 4))
        at, delivery_id = json.loads(raw)
        when = datetime.fromisoformat(at)
        if when.tzinfo is None or not isinstance(delivery_id, str):
            raise ValueError
    except (ValueError, TypeError, binascii.Error, UnicodeDecodeError):
        raise ConfigError(
            "invalid cursor: pass the `next` value of the previous page unchanged"
        ) from None
    return when.astimezone(UTC), delivery_id


@dataclass(frozen=True)
class DeliveryFilter:
    """Which deliveries a page shows (every front door offers these)."""

    project: str | None = None
    session_id: str | None = None
    webhook_id: uuid.UUID | None = None
    status: str | None = None
    since: datetime | None = None
    until: datetime | None = None


@dataclass(frozen=True)
class DeliveryPage:
    rows: list[Delivery]
    next: str | None
    """The cursor of the following page; None on the last page."""


def delivery_page(
    *, session: Session, where: DeliveryFilter, limit: int, after: str | None = None
) -> DeliveryPage:
    """Up to ``limit`` deliveries after the cursor ``after``, newest first."""
    rows = list_deliveries(
        session=session,
        project=where.project,
        session_id=where.session_id,
        webhook_id=where.webhook_id,
        status=where.status,
        since=where.since,
        until=where.until,
        after=decode_cursor(after) if after else None,
        limit=limit + 1,
    )
    more = len(rows) > limit
    rows = rows[:limit]
    return DeliveryPage(rows=rows, next=encode_cursor(rows[-1]) if more else None)
