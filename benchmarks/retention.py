"""What retention costs: deleting a million old rows, and what the log's readers wait meanwhile.

Fills a store (a SQLite file as ``hookflow up`` makes it, or PostgreSQL with
``--database-url``) with ``--rows`` settled deliveries older than the
retention, one attempt each (so twice as many rows in all), plus a tenth as
many recent ones that stay; then runs retention as the daily schedule does
(1,000 deliveries a transaction) while a reader runs the queries of
``deliveries list`` (``list_deliveries``: newest first, one project, a page
of 50) and, beside it, a writer that logs new attempts as a busy worker does.
Prints the time to delete, the rows per second, and the latency of the
readers' and the writer's calls during the deletion against the same calls
without it.

    .venv/bin/python -m benchmarks.retention [--rows 1000000] [--database-url URL]
"""

from __future__ import annotations

import argparse
import asyncio
import statistics
import tempfile
import threading
import time
import uuid
from collections.abc import Callable
from datetime import timedelta
from pathlib import Path

from sqlalchemy import insert, text
from sqlalchemy.engine import Engine
from sqlmodel import Session

from activities.contracts.retention import RetentionInput
from activities.log.attempts import list_deliveries
from activities.log.retention import Retention
from activities.store.crypto import SecretBox
from activities.store.database import init_db, make_engine, utcnow
from activities.store.tables import Attempt, Delivery

CHUNK = 20_000


def fill(engine: Engine, *, rows: int, age: timedelta, project: str, status: str) -> None:
    when = utcnow() - age
    webhook = uuid.uuid4()
    for start in range(0, rows, CHUNK):
        keys = [
            f"evt_{uuid.uuid4().hex}.{webhook.hex[:12]}" for _ in range(min(CHUNK, rows - start))
        ]
        with Session(engine) as session:
            session.execute(
                insert(Delivery),
                [
                    {
                        "id": key,
                        "project": project,
                        "session_id": f"s{(start + n) // 10}",
                        "webhook_id": webhook,
                        "event_id": key.split(".")[0],
                        "event_type": "WHEF_CLIENT_FORM_LOADED",
                        "sequence": n % 10,
                        "status": status,
                        "attempts": 1,
                        "envelope": {"sealed": "x" * 200},
                        "created_at": when,
                        "updated_at": when,
                    }
                    for n, key in enumerate(keys)
                ],
            )
            session.execute(
                insert(Attempt),
                [
                    {
                        "delivery_id": key,
                        "attempt": 1,
                        "started_at": when,
                        "status_code": 200,
                        "latency_ms": 12.5,
                        "outcome": "delivered",
                        "response_excerpt": "sealed:" + "y" * 120,
                    }
                    for key in keys
                ],
            )
            session.commit()
        print(f"\r  filled {min(start + CHUNK, rows):,} of {rows:,}", end="", flush=True)
    print()


class Probe:
    """Calls ``work`` in a loop on a thread of its own and keeps each call's latency."""

    def __init__(self, work: Callable[[], None], every: float) -> None:
        self._work = work
        self._every = every
        self._stop = threading.Event()
        self.latencies: list[float] = []
        self._thread = threading.Thread(target=self._run, daemon=True)

    def _run(self) -> None:
        while not self._stop.is_set():
            began = time.perf_counter()
            self._work()
            self.latencies.append((time.perf_counter() - began) * 1000)
            self._stop.wait(self._every)

    def __enter__(self) -> Probe:
        self._thread.start()
        return self

    def __exit__(self, *_: object) -> None:
        self._stop.set()
        self._thread.join()


def summary(latencies: list[float]) -> str:
    if not latencies:
        return "no calls"
    ordered = sorted(latencies)
    p99 = ordered[min(len(ordered) - 1, int(len(ordered) * 0.99))]
    return (
        f"{len(ordered)} calls, median {statistics.median(ordered):.1f} ms, "
        f"p99 {p99:.1f} ms, max {ordered[-1]:.1f} ms"
    )


def reader(engine: Engine) -> None:
    with Session(engine) as session:
        list_deliveries(session=session, project="acme", limit=50)


def writer(engine: Engine) -> None:
    """What the attempt log writes for one attempt of a new delivery."""
    key = f"evt_{uuid.uuid4().hex}.live"
    now = utcnow()
    with Session(engine) as session:
        session.execute(
            insert(Delivery),
            [
                {
                    "id": key,
                    "project": "acme",
                    "session_id": "live",
                    "webhook_id": uuid.uuid4(),
                    "event_id": key,
                    "event_type": "WHEF_CLIENT_FORM_LOADED",
                    "sequence": 1,
                    "status": "delivered",
                    "attempts": 1,
                    "envelope": {},
                    "created_at": now,
                    "updated_at": now,
                }
            ],
        )
        session.execute(
            insert(Attempt),
            [
                {
                    "delivery_id": key,
                    "attempt": 1,
                    "started_at": now,
                    "latency_ms": 1.0,
                    "outcome": "delivered",
                }
            ],
        )
        session.commit()


def measure(engine: Engine, seconds: float) -> tuple[list[float], list[float]]:
    with Probe(lambda: reader(engine), 0.05) as read, Probe(lambda: writer(engine), 0.05) as write:
        time.sleep(seconds)
    return read.latencies, write.latencies


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--rows", type=int, default=1_000_000)
    parser.add_argument("--database-url", help="default: a SQLite file in a temporary folder")
    parser.add_argument("--batch", type=int, default=1000)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as folder:
        url = args.database_url or f"sqlite:///{Path(folder) / 'hookflow.db'}"
        engine = make_engine(url)
        init_db(engine)
        if engine.dialect.name == "postgresql":
            with engine.begin() as connection:
                connection.execute(text("TRUNCATE delivery, attempt"))
        print(f"{engine.dialect.name}: {args.rows:,} old deliveries + {args.rows:,} attempts")
        fill(engine, rows=args.rows, age=timedelta(days=40), project="acme", status="delivered")
        fill(
            engine, rows=args.rows // 10, age=timedelta(days=1), project="acme", status="delivered"
        )
        if engine.dialect.name == "postgresql":
            with engine.begin() as connection:
                connection.execute(text("ANALYZE delivery; ANALYZE attempt"))
        quiet_read, quiet_write = measure(engine, 10)
        work = Retention(
            engine=engine,
            box=SecretBox("benchmark"),
            documents=Path(folder) / "documents",
            storage=Path(folder) / "storage",
            batch=args.batch,
        )
        with (
            Probe(lambda: reader(engine), 0.05) as read,
            Probe(lambda: writer(engine), 0.05) as write,
        ):
            began = time.perf_counter()
            result = asyncio.run(work.run(RetentionInput(), open_sessions=None))
            took = time.perf_counter() - began
        rows = result.deliveries + result.attempts
        print(
            f"deleted {result.deliveries:,} deliveries and {result.attempts:,} attempts "
            f"in {took:.1f} s ({rows / took:,.0f} rows/s, {args.batch} deliveries a transaction)"
        )
        print(f"list_deliveries, quiet:           {summary(quiet_read)}")
        print(f"list_deliveries, during deletion: {summary(read.latencies)}")
        print(f"attempt written, quiet:           {summary(quiet_write)}")
        print(f"attempt written, during deletion: {summary(write.latencies)}")
        engine.dispose()


if __name__ == "__main__":
    main()
