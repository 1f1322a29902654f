"""Fault injection: hookflow under load while its parts are killed, loopback only.

Each scenario runs its own Temporal dev server (a SQLite file in a temporary
data dir), ``hookflow worker`` processes and a loopback receiver, produces
session events at a steady pace, hurts the installation during the load, and
then counts what the receiver got:

- ``worker-kill``: SIGKILL of the worker during load; a new one takes over;
- ``server-kill``: SIGKILL of the dev server during load; restarted on the
  same data dir and ports, while the worker and the producer keep trying;
- ``outage``: the endpoint answers 503 for longer than the webhook's short
  ladder (longer than a delivery's whole deadline, which waiting for an open
  circuit also uses), then comes back; failed deliveries are redelivered in
  bulk with ``hookflow deliveries redeliver``;
- ``postgres``: two workers sharing PostgreSQL (127.0.0.1:5432, database
  ``test``, a schema of the run's own, dropped after), one of them killed.

Printed per scenario: events produced, distinct deliveries received,
duplicates (the same event received again: at-least-once delivery), lost,
order violations (an event received after a later one of its session) and
the time to drain (from the last event produced, or the endpoint's return,
until every event arrived). Every scenario is bounded by ``--timeout``.

    .venv/bin/python -m benchmarks.faults [--sessions 20] [--events 10] [--only outage]
"""

from __future__ import annotations

import argparse
import asyncio
import os
import subprocess
import tempfile
import time
import uuid
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field, replace
from pathlib import Path

import psycopg
from sqlalchemy.engine import Engine
from sqlmodel import Session, select

from activities.delivery.guard import parse_networks
from activities.store.crypto import SecretBox
from activities.store.database import init_db, make_engine
from activities.store.tables import Delivery
from benchmarks.cluster import BIN, Producer, Server, WorkerProcess, wait_until, worker_env
from benchmarks.loopback import Hit, Loopback
from tests.helpers import add_webhook
from worker.runtime.settings import Settings

PG = "postgresql+psycopg://postgres@127.0.0.1:5432/test"
SHORT_LADDER = [0, 1, 2]


@dataclass(frozen=True)
class Load:
    sessions: int
    events: int
    every: float = 0.3
    timeout: float = 180.0
    webhook_timeout: float = 5.0
    """The webhook's timeout: a killed worker's attempts are retried after it and 15 s."""
    outage: float = 90.0
    """How long the endpoint is down: longer than a delivery's whole deadline
    (its ladder, or waiting for an open circuit, until schedule-to-close)."""

    @property
    def total(self) -> int:
        return self.sessions * self.events


@dataclass(frozen=True)
class Tally:
    scenario: str
    produced: int
    distinct: int
    duplicates: int
    lost: int
    order_violations: int
    drain: float | None
    note: str = ""


def tally(scenario: str, produced: set[tuple[str, int]], hits: list[Hit], since: float) -> Tally:
    """What the receiver got against what was produced (``since``: drain clock start)."""
    firsts: dict[tuple[str, int], Hit] = {}
    accepted = [h for h in hits if h.ok]
    for hit in accepted:
        firsts.setdefault((hit.session, int(hit.storage.get("n", 0))), hit)
    highest: dict[str, int] = {}
    violations = 0
    for hit in sorted(firsts.values(), key=lambda h: h.at):
        if hit.sequence < highest.get(hit.session, 0):
            violations += 1
        highest[hit.session] = max(highest.get(hit.session, 0), hit.sequence)
    lost = produced - set(firsts)
    last = max((firsts[key].at for key in produced if key in firsts), default=since)
    return Tally(
        scenario=scenario,
        produced=len(produced),
        distinct=len(set(firsts) & produced),
        duplicates=len(accepted) - len(firsts),
        lost=len(lost),
        order_violations=violations,
        drain=None if lost else max(last - since, 0.0),
    )


@dataclass
class Run:
    """One scenario's installation, and what a fault needs to reach."""

    name: str
    load: Load
    rx: Loopback
    server: Server
    settings: Settings
    engine: Engine
    producer: Producer
    workers: list[WorkerProcess] = field(default_factory=list)
    drain_from: float | None = None
    note: str = ""

    @property
    def path(self) -> str:
        return f"/{self.name}"

    def received(self) -> int:
        return len({h.webhook_id for h in self.rx.hits(self.path) if h.ok})

    def add_worker(self) -> WorkerProcess:
        log = self.settings.data_dir / f"worker-{len(self.workers)}.log"
        worker = WorkerProcess(worker_env(self.settings, self.server.address), log).start()
        self.workers.append(worker)
        return worker

    async def during_load(self) -> None:
        """Until a third of the events arrived: the moment a fault strikes."""
        await wait_until(lambda: self.received() >= self.load.total // 3, timeout=60)


Fault = Callable[[Run], Awaitable[None]]


async def kill_worker(run: Run) -> None:
    await run.during_load()
    run.workers[0].kill()
    run.note = f"killed at {run.received()}/{run.load.total}"
    run.add_worker()


async def kill_server(run: Run) -> None:
    await run.during_load()
    run.server.kill()
    run.note = f"killed at {run.received()}/{run.load.total}"
    await asyncio.sleep(1)
    await run.server.start()
    for worker in run.workers:
        if not worker.alive:  # a worker that gave up on the server is started again
            worker.start()


async def outage(run: Run) -> None:
    run.rx.answer(run.path, 503)
    await asyncio.sleep(run.load.outage)
    while run.producer.last_at == 0 or time.time() - run.producer.last_at < 2:
        await asyncio.sleep(0.5)  # down for longer than the ladder after the last event too
    run.rx.answer(run.path, 200)
    run.drain_from = time.time()
    await redeliver_failed(run)


async def redeliver_failed(run: Run) -> None:
    """Bulk recovery with the command line, as an operator would do it."""
    await asyncio.sleep(max(SHORT_LADDER) + 2)  # let the last ladders run out
    with Session(run.engine) as session:
        failed = [d.id for d in session.exec(select(Delivery).where(Delivery.status == "failed"))]
    env = {**os.environ, **worker_env(run.settings, run.server.address)}

    def redeliver(ids: list[str]) -> None:
        for delivery in ids:
            subprocess.run(
                [str(BIN / "hookflow"), "deliveries", "redeliver", delivery, "--no-wait"],
                env=env,
                capture_output=True,
                check=False,
            )

    await asyncio.gather(*(asyncio.to_thread(redeliver, failed[i::4]) for i in range(4)))
    run.note = f"{len(failed)} redelivered"


async def run_scenario(
    name: str,
    fault: Fault,
    *,
    load: Load,
    rx: Loopback,
    data_dir: Path,
    database_url: str | None = None,
    workers: int = 1,
    ladder: list[float] | None = None,
) -> Tally:
    data_dir.mkdir(parents=True)
    server = Server(data_dir / "temporal")
    client = await server.start()
    settings = Settings(
        data_dir=data_dir,
        task_queue=f"faults-{uuid.uuid4().hex[:8]}",
        database_url=database_url or f"sqlite:///{data_dir / 'hookflow.db'}",
        allow_networks=parse_networks("127.0.0.0/8"),
        secret_key_env="faults",
    )
    engine = make_engine(settings.database_url)
    init_db(engine)
    run = Run(name, load, rx, server, settings, engine, Producer(settings, "faults", [client]))
    add_webhook(
        engine,
        SecretBox("faults"),
        project="faults",
        type="storage_callback",
        url=rx.url(run.path),
        timeout=load.webhook_timeout,
        **({"retry_schedule": ladder} if ladder else {}),
    )
    try:
        for _ in range(workers):
            run.add_worker()
        ids = await run.producer.sessions(load.sessions)
        produce = asyncio.create_task(run.producer.events(ids, load.events, every=load.every))
        await fault(run)
        await produce
        produced = run.producer.produced
        await wait_until(lambda: run.received() >= len(produced), timeout=load.timeout)
        since = run.drain_from or run.producer.last_at
        return replace(tally(name, produced, rx.hits(run.path), since), note=run.note)
    finally:
        for worker in run.workers:
            worker.stop()
        await server.stop()
        engine.dispose()


def fresh_schema() -> tuple[str, str]:
    """A schema of this run's own in the ``test`` database: (its name, the URL using it)."""
    schema = f"faults_{uuid.uuid4().hex[:10]}"
    with psycopg.connect("host=127.0.0.1 port=5432 dbname=test user=postgres") as conn:
        conn.execute(f'CREATE SCHEMA "{schema}"')
    return schema, f"{PG}?options=-csearch_path%3D{schema}"


def drop_schema(schema: str) -> None:
    with psycopg.connect("host=127.0.0.1 port=5432 dbname=test user=postgres") as conn:
        conn.execute(f'DROP SCHEMA IF EXISTS "{schema}" CASCADE')


async def run_all(names: list[str], load: Load, tmp: Path) -> list[Tally]:
    tallies = []
    with Loopback() as rx:
        for name in names:
            where = tmp / name
            if name == "worker-kill":
                tallies.append(
                    await run_scenario(name, kill_worker, load=load, rx=rx, data_dir=where)
                )
            elif name == "server-kill":
                tallies.append(
                    await run_scenario(name, kill_server, load=load, rx=rx, data_dir=where)
                )
            elif name == "outage":
                tallies.append(
                    await run_scenario(
                        name, outage, load=load, rx=rx, data_dir=where, ladder=SHORT_LADDER
                    )
                )
            elif name == "postgres":
                schema, url = fresh_schema()
                try:
                    tallies.append(
                        await run_scenario(
                            name,
                            kill_worker,
                            load=load,
                            rx=rx,
                            data_dir=where,
                            database_url=url,
                            workers=2,
                        )
                    )
                finally:
                    drop_schema(schema)
    return tallies


SCENARIOS = {
    "worker-kill": "worker SIGKILL during load",
    "server-kill": "dev server SIGKILL, restart",
    "outage": "outage > ladder, bulk redeliver",
    "postgres": "2 workers on PostgreSQL, 1 killed",
}


def report(load: Load, tallies: list[Tally]) -> None:
    print(
        f"{load.sessions} sessions x {load.events} events per scenario, one webhook "
        f"(timeout {load.webhook_timeout:g}s), loopback"
    )
    print(
        f"  {'scenario':<36}{'produced':>9}{'received':>9}{'dupes':>7}{'lost':>6}"
        f"{'order':>7}{'drain':>9}"
    )
    for t in tallies:
        drain = "n/a" if t.drain is None else f"{t.drain:.1f}s"
        print(
            f"  {SCENARIOS[t.scenario]:<36}{t.produced:>9}{t.distinct:>9}{t.duplicates:>7}"
            f"{t.lost:>6}{t.order_violations:>7}{drain:>9}  {t.note}"
        )


async def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sessions", type=int, default=20)
    parser.add_argument("--events", type=int, default=10)
    parser.add_argument("--timeout", type=float, default=180.0, help="drain limit per scenario")
    parser.add_argument("--outage", type=float, default=90.0, help="seconds the endpoint is down")
    parser.add_argument("--only", action="append", choices=list(SCENARIOS))
    args = parser.parse_args()
    load = Load(args.sessions, args.events, timeout=args.timeout, outage=args.outage)
    with tempfile.TemporaryDirectory() as tmp:
        tallies = await run_all(args.only or list(SCENARIOS), load, Path(tmp))
    report(load, tallies)


if __name__ == "__main__":
    asyncio.run(main())
