"""What retention costs: deleting a million old rows, and what the log's readers wait meanwhile.

Fills a store with ``--rows`` settled deliveries older than the retention, one
attempt each (so twice as many rows in all), plus a tenth as many recent ones
that stay; then runs retention as the daily schedule does (1,000 deliveries a
transaction) while three callers run in a loop beside it: ``deliveries list``
(``list_deliveries``: one project, newest first, a page of 50), ``deliveries
show`` (one delivery by id and its attempts) and a writer that logs new
attempts as a busy worker does. Prints the time to delete, the rows per
second, and each caller's p50/p99 during the deletion beside the same calls
idle; the query plans (EXPLAIN) of the list, the show and a retention batch;
and, as the baseline, the list idle without the (project, created_at) index.

Runs on a SQLite file (as ``hookflow up`` makes it) and on PostgreSQL
(127.0.0.1:5432, database ``test``, in a schema of its own, dropped after)
when it is reachable; ``--database-url`` runs on that database only.

    .venv/bin/python -m benchmarks.retention [--rows 1000000] [--database-url URL]
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import random
import tempfile
import threading
import time
import uuid
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from datetime import timedelta
from pathlib import Path
from typing import Any

from sqlalchemy import create_engine, delete, insert, text
from sqlalchemy.engine import Engine
from sqlalchemy.exc import OperationalError
from sqlalchemy.pool import NullPool
from sqlmodel import Session, col, select

from activities.contracts.retention import RetentionInput
from activities.contracts.states import SETTLED
from activities.log.attempts import attempts_of, list_deliveries
from activities.log.retention import Retention
from activities.store.crypto import SecretBox
from activities.store.database import init_db, make_engine, utcnow
from activities.store.tables import Attempt, Delivery

CHUNK = 20_000
PROJECT = "acme"
POSTGRES = "postgresql+psycopg://postgres@127.0.0.1:5432/test"
NEW_INDEX = "ix_delivery_project_created_at_id"


def fill(engine: Engine, *, rows: int, age: timedelta, project: str, status: str) -> list[str]:
    """``rows`` deliveries last changed ``age`` ago and before, a second apart
    (as a log fills, in order), one attempt each; their ids."""
    newest = utcnow() - age
    webhook = uuid.uuid4()
    made: list[str] = []
    for start in range(0, rows, CHUNK):
        count = min(CHUNK, rows - start)
        keys = [f"evt_{uuid.uuid4().hex}.{webhook.hex[:12]}" for _ in range(count)]
        times = [newest - timedelta(seconds=start + n) for n in range(count)]
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
                        "created_at": times[n],
                        "updated_at": times[n],
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
                        "started_at": times[n],
                        "status_code": 200,
                        "latency_ms": 12.5,
                        "outcome": "delivered",
                        "response_excerpt": "sealed:" + "y" * 120,
                    }
                    for n, key in enumerate(keys)
                ],
            )
            session.commit()
        made.extend(keys)
        print(f"\r  filled {min(start + CHUNK, rows):,} of {rows:,}", end="", flush=True)
    print()
    return made


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


def percentiles(latencies: list[float]) -> str:
    """p50 / p99 of the calls, in milliseconds, and how many calls."""
    if not latencies:
        return "no calls"
    ordered = sorted(latencies)
    p50 = ordered[len(ordered) // 2]
    p99 = ordered[min(len(ordered) - 1, int(len(ordered) * 0.99))]
    return f"p50 {p50:7.2f} ms  p99 {p99:8.2f} ms  ({len(ordered)} calls)"


def list_page(engine: Engine) -> None:
    """``deliveries list --project acme``: the newest page of 50."""
    with Session(engine) as session:
        list_deliveries(session=session, project=PROJECT, limit=50)


def show_one(engine: Engine, kept: list[str]) -> None:
    """``deliveries show ID``: one delivery (of those that stay) and its attempts."""
    key = random.choice(kept)
    with Session(engine) as session:
        assert session.get(Delivery, key) is not None
        attempts_of(session=session, delivery=key)


def writer(engine: Engine) -> None:
    """What the attempt log writes for one attempt of a new delivery."""
    key, now = f"evt_{uuid.uuid4().hex}.live", utcnow()
    with Session(engine) as session:
        session.add(
            Delivery(
                id=key,
                project=PROJECT,
                session_id="live",
                webhook_id=uuid.uuid4(),
                event_id=key,
                event_type="WHEF_CLIENT_FORM_LOADED",
                sequence=1,
                status="delivered",
                attempts=1,
                created_at=now,
                updated_at=now,
            )
        )
        session.add(
            Attempt(delivery_id=key, attempt=1, started_at=now, latency_ms=1.0, outcome="delivered")
        )
        session.commit()


@dataclass
class Calls:
    listed: list[float]
    shown: list[float]
    written: list[float]


@contextlib.contextmanager
def callers(engine: Engine, kept: list[str], *, write: bool = True) -> Iterator[Calls]:
    """The log's readers (and a writer) calling in a loop while the block runs."""
    probes = [
        Probe(lambda: list_page(engine), 0.02),
        Probe(lambda: show_one(engine, kept), 0.02),
        Probe(lambda: writer(engine), 0.05) if write else None,
    ]
    with contextlib.ExitStack() as stack:
        for probe in probes:
            if probe is not None:
                stack.enter_context(probe)
        yield Calls(*(p.latencies if p is not None else [] for p in probes))


# --- query plans -------------------------------------------------------------------


def plan(engine: Engine, query: Any) -> str:
    """The database's plan for ``query``, one line."""
    compiled = query.compile(dialect=engine.dialect, compile_kwargs={"render_postcompile": True})
    sql = str(compiled)
    with engine.connect() as connection:
        if engine.dialect.name == "sqlite":
            params = tuple(compiled.params[name] for name in compiled.positiontup)
            rows = connection.exec_driver_sql(f"EXPLAIN QUERY PLAN {sql}", params).all()
            return "; ".join(str(row[-1]) for row in rows)
        rows = connection.exec_driver_sql(f"EXPLAIN {sql}", compiled.params).all()
        lines = [" ".join(str(row[0]).split()) for row in rows]
        steps = [line.split(" (cost")[0] for line in lines if "Scan" in line or "Sort" in line]
        return " / ".join(step[:100] for step in steps)


def plans(engine: Engine, kept: list[str]) -> list[tuple[str, str]]:
    """The list page, the show, and a retention batch: its first and later
    selects, its delete and its attempts' (as ``Retention._delete_batch``
    makes them: keep these in step with it)."""
    cutoff = utcnow() - timedelta(days=30)
    expired = (
        col(Delivery.project) == PROJECT,
        col(Delivery.status).in_([str(s) for s in SETTLED]),
        col(Delivery.updated_at) < cutoff,
    )
    batch = (
        select(Delivery.id, Delivery.session_id, Delivery.event_type, Delivery.updated_at)
        .where(*expired)
        .order_by(col(Delivery.updated_at), col(Delivery.id))
        .limit(1000)
    )
    after, key = cutoff - timedelta(days=10), "evt_8"  # where a batch left off
    later = batch.where(
        col(Delivery.updated_at) >= after,
        (col(Delivery.updated_at) > after)
        | ((col(Delivery.updated_at) == after) & (col(Delivery.id) > key)),
    )
    listing = (
        select(Delivery)
        .where(Delivery.project == PROJECT)
        .order_by(col(Delivery.created_at).desc(), col(Delivery.id))
        .limit(50)
    )
    show = select(Attempt).where(Attempt.delivery_id == kept[0]).order_by(col(Attempt.id))
    attempts = select(Attempt.id).where(col(Attempt.delivery_id).in_(kept[:1000]))
    gone = delete(Delivery).where(
        col(Delivery.id).in_(kept[:1000]),
        col(Delivery.project) == PROJECT,
        col(Delivery.status).in_([str(s) for s in SETTLED]),
        col(Delivery.updated_at).between(after - timedelta(hours=1), after),
    )
    return [
        ("list page", plan(engine, listing)),
        ("show: attempts", plan(engine, show)),
        ("retention batch", plan(engine, batch)),
        ("later batch", plan(engine, later)),
        ("batch's delete", plan(engine, gone)),
        ("batch's attempts", plan(engine, attempts)),
    ]


# --- one database ----------------------------------------------------------------


@dataclass
class Figures:
    name: str
    deleted: int = 0
    seconds: float = 0.0
    idle: Calls | None = None
    busy: Calls | None = None
    no_index: list[float] | None = None
    index_seconds: float = 0.0


def bench(url: str, name: str, *, rows: int, batch: int, folder: Path) -> Figures:
    engine = make_engine(url)
    init_db(engine)
    figures = Figures(name)
    print(f"{name}: {rows:,} expired deliveries + {rows:,} attempts, {rows // 10:,} recent ones")
    began = time.perf_counter()
    fill(engine, rows=rows, age=timedelta(days=40), project=PROJECT, status="delivered")
    kept = fill(engine, rows=rows // 10, age=timedelta(days=1), project=PROJECT, status="delivered")
    print(f"  filled in {time.perf_counter() - began:.0f} s")
    with engine.begin() as connection:
        for table in ("delivery", "attempt"):
            connection.execute(text(f"ANALYZE {table}"))
    for what, shown in plans(engine, kept):
        print(f"  plan, {what + ':':18} {shown}")
    # The baseline: the list page without the (project, created_at) index.
    with engine.begin() as connection:
        connection.execute(text(f"DROP INDEX {NEW_INDEX}"))
    engine.dispose()  # no connection keeps a plan made with the index
    print(f"  plan, {'list, no index:':18} {plans(engine, kept)[0][1]}")
    with callers(engine, kept, write=False) as bare:
        time.sleep(5)
    figures.no_index = bare.listed
    began = time.perf_counter()
    with engine.begin() as connection:
        connection.execute(text(f"CREATE INDEX {NEW_INDEX} ON delivery (project, created_at, id)"))
    figures.index_seconds = time.perf_counter() - began
    with callers(engine, kept) as idle:
        time.sleep(10)
    figures.idle = idle
    work = Retention(
        engine=engine,
        box=SecretBox("benchmark"),
        documents=folder / "documents",
        storage=folder / "storage",
        batch=batch,
    )
    with callers(engine, kept) as busy:
        began = time.perf_counter()
        result = asyncio.run(work.run(RetentionInput(), open_sessions=None))
        figures.seconds = time.perf_counter() - began
    figures.busy = busy
    figures.deleted = result.deliveries + result.attempts
    assert result.deliveries == rows, result
    engine.dispose()
    return figures


@contextlib.contextmanager
def postgres_schema() -> Iterator[str | None]:
    """A URL whose connections work in a fresh schema of the local server's
    ``test`` database, dropped on exit; None when PostgreSQL is not reachable."""
    name = f"bench_retention_{uuid.uuid4().hex[:8]}"
    admin = create_engine(POSTGRES, poolclass=NullPool)
    try:
        with admin.begin() as connection:
            connection.execute(text(f'CREATE SCHEMA "{name}"'))
    except OperationalError as err:
        print(f"PostgreSQL: not reachable at 127.0.0.1:5432 ({type(err.orig).__name__}), skipped")
        admin.dispose()
        yield None
        return
    try:
        yield f"{POSTGRES}?options=-csearch_path%3D{name}"
    finally:
        with admin.begin() as connection:
            connection.execute(text(f'DROP SCHEMA "{name}" CASCADE'))
        admin.dispose()


def report(all_figures: list[Figures], *, batch: int) -> None:
    print()
    for f in all_figures:
        assert f.idle is not None and f.busy is not None and f.no_index is not None
        print(
            f"{f.name}: deleted {f.deleted:,} rows in {f.seconds:.1f} s "
            f"({f.deleted / f.seconds:,.0f} rows/s, {batch} deliveries a transaction)"
        )
        print(f"  {'':30} {'idle':40} during the deletion")
        for what, idle, busy in (
            ("deliveries list (page of 50)", f.idle.listed, f.busy.listed),
            ("deliveries show (one + tries)", f.idle.shown, f.busy.shown),
            ("attempt written", f.idle.written, f.busy.written),
        ):
            print(f"  {what:30} {percentiles(idle):40} {percentiles(busy)}")
        print(
            f"  {'list, no (project, created_at)':30} {percentiles(f.no_index):40} "
            f"(baseline; the index took {f.index_seconds:.1f} s to build)"
        )


def main() -> None:
    parser = argparse.ArgumentParser(description=(__doc__ or "").split("\n")[0])
    parser.add_argument("--rows", type=int, default=1_000_000)
    parser.add_argument("--database-url", help="this database only (default: SQLite, PostgreSQL)")
    parser.add_argument("--batch", type=int, default=1000)
    args = parser.parse_args()
    results: list[Figures] = []
    with tempfile.TemporaryDirectory() as folder:
        where = Path(folder)
        if args.database_url:
            results.append(
                bench(args.database_url, "given", rows=args.rows, batch=args.batch, folder=where)
            )
        else:
            url = f"sqlite:///{where / 'hookflow.db'}"
            results.append(bench(url, "SQLite", rows=args.rows, batch=args.batch, folder=where))
            with postgres_schema() as pg:
                if pg is not None:
                    results.append(
                        bench(pg, "PostgreSQL", rows=args.rows, batch=args.batch, folder=where)
                    )
    report(results, batch=args.batch)


if __name__ == "__main__":
    main()
