"""What a page of the delivery log costs deep into it: cursor (keyset) against offset.

Fills a SQLite file (as ``hookflow up`` makes it, with the migrations' indexes)
with ``--rows`` deliveries of one project, then reads a page of 100 at several
depths both ways: ``OFFSET n`` (what the API did before, up to 1,000,000) and
the cursor of the page before (``worker/services/delivery_pages.py``). Prints
the median time of each, side by side.

    .venv/bin/python -m benchmarks.delivery_pages [--rows 300000]
"""

from __future__ import annotations

import argparse
import statistics
import tempfile
import time
import uuid
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

from sqlalchemy import insert
from sqlmodel import Session, col, select

from activities.store.database import init_db, make_engine
from activities.store.tables import Delivery
from worker.services.delivery_pages import DeliveryFilter, delivery_page, encode_delivery_cursor

PAGE = 100
START = datetime(2026, 1, 1, tzinfo=UTC)


def fill(engine_url: str, rows: int) -> None:
    engine = make_engine(engine_url)
    init_db(engine)
    hook = uuid.uuid4()
    with engine.begin() as conn:
        for first in range(0, rows, 10_000):
            conn.execute(
                insert(Delivery),
                [
                    {
                        "id": f"d-{n:09d}",
                        "project": "acme",
                        "session_id": f"s{n % 1000}",
                        "webhook_id": hook,
                        "event_id": f"evt_{n}",
                        "event_type": "WHEF_SESSION_CREATED",
                        "sequence": n,
                        "status": "delivered",
                        "envelope": {},
                        "created_at": START + timedelta(milliseconds=n),
                        "updated_at": START + timedelta(milliseconds=n),
                    }
                    for n in range(first, min(first + 10_000, rows))
                ],
            )
    engine.dispose()


def timed(call: object, repeat: int = 7) -> float:
    times = []
    for _ in range(repeat):
        began = time.perf_counter()
        call()  # type: ignore[operator]
        times.append(time.perf_counter() - began)
    return statistics.median(times) * 1000


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rows", type=int, default=300_000)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        url = f"sqlite:///{Path(tmp) / 'hookflow.db'}"
        began = time.perf_counter()
        fill(url, args.rows)
        print(f"{args.rows} deliveries written in {time.perf_counter() - began:.1f} s")
        engine = make_engine(url)
        where = DeliveryFilter(project="acme")
        print(f"{'depth':>10}  {'offset (before)':>16}  {'cursor (now)':>13}")
        with Session(engine) as db:
            for depth in (0, 1_000, 10_000, 100_000, args.rows - PAGE):
                if depth >= args.rows:
                    continue
                query = (
                    select(Delivery)
                    .where(Delivery.project == "acme")
                    .order_by(col(Delivery.created_at).desc(), col(Delivery.id))
                )
                previous = db.exec(query.offset(max(depth - 1, 0)).limit(1)).one()
                cursor = encode_delivery_cursor(previous) if depth else None

                def by_offset(depth: int = depth, query: Any = query) -> None:
                    list(db.exec(query.offset(depth).limit(PAGE)))

                def by_cursor(cursor: str | None = cursor) -> None:
                    delivery_page(session=db, where=where, limit=PAGE, after=cursor)

                print(f"{depth:>10}  {timed(by_offset):>13.2f} ms  {timed(by_cursor):>10.2f} ms")
        engine.dispose()


if __name__ == "__main__":
    main()
