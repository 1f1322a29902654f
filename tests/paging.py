"""Delivery log rows written straight to the test's SQLite file, for paging tests:
enough for several pages, some sharing a creation time (the cursor's tie-break)."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime, timedelta

from sqlalchemy.engine import Engine
from sqlmodel import Session

from activities.store.tables import Delivery

BASE = datetime(2026, 1, 1, tzinfo=UTC)


def add_deliveries(
    engine: Engine,
    count: int,
    *,
    start: datetime = BASE,
    webhook_id: uuid.UUID | None = None,
    status: str = "failed",
    project: str = "acme",
) -> list[str]:
    """``count`` deliveries, two per creation time, one second apart from ``start``;
    their ids, newest first as the log lists them."""
    hook = webhook_id or uuid.uuid4()
    rows = [
        Delivery(
            id=f"d-{uuid.uuid4().hex[:12]}",
            project=project,
            session_id=f"s{n % 3}",
            webhook_id=hook,
            event_id=f"evt_{n}",
            event_type="WHEF_SESSION_CREATED",
            sequence=n + 1,
            status=status,
            created_at=start + timedelta(seconds=n // 2),
        )
        for n in range(count)
    ]
    # The log's order: newest first, ties by id, descending too.
    keys = sorted(((row.created_at, row.id) for row in rows), reverse=True)
    with Session(engine) as session:
        session.add_all(rows)
        session.commit()
    return [delivery_id for _, delivery_id in keys]
