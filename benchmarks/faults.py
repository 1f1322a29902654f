"""Fault injection: hookflow under load while its parts are killed, loopback only.

Each scenario runs its own Temporal dev server (a SQLite file in a temporary
data dir), ``hookflow worker`` processes and a loopback receiver, produces
session events at a steady pace, hurts the installation during the load, and
then counts what the receiver got:

- ``worker-kill``: SIGKILL of the worker during load; a new one takes over;
- ``server-kill``: SIGKILL of the dev server during load; restarted on the
  same data dir and ports, while the worker and the producer keep trying;
- ``outage-inside-ladder``: the endpoint answers 503 for less than the span of
  the webhook's ladder (``0,2,5,10,30,60`` s, an outage of 45 s); its circuit
  opens and the deliveries wait. When it is back every event arrives with no
  redelivery: nothing may fail and nobody is alerted;
- ``outage-past-ladder``: the endpoint answers 503 for longer than the ladder
  (``0,1`` s, an outage of 60 s): the deliveries whose ladder runs out fail
  (the ones behind them in their stream are held). Once the circuit is open
  only its probes are attempts, so with many sessions few fail (a failed probe
  fails its delivery); with fewer sessions than the circuit's threshold every
  stream's first event fails. When the endpoint is back, a bulk
  ``hookflow deliveries redeliver --webhook W --status failed`` must find every
  failed delivery, and after it every event arrives;
- ``postgres``: two workers sharing PostgreSQL (127.0.0.1:5432, database
  ``test``, a schema of the run's own, dropped after), one of them killed.

Printed per scenario: events produced, distinct deliveries received,
duplicates (the same event received again: at-least-once delivery), lost,
order violations (an event first received after a later one of its session),
deliveries failed in the delivery log at the end, alerts (``WHP_DELIVERY_FAILED``
received by the project's ``delivery_failed`` webhook), disagreements (a
delivery whose status in its session's ``state`` query is not its status in
the delivery log, once both settled) and the time to drain (from the last
event produced, or the endpoint's return, until every event arrived). Every
scenario is bounded by ``--timeout``.

    .venv/bin/python -m benchmarks.faults [--sessions 20] [--events 10] [--only outage-past-ladder]
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
from sqlmodel import Session, col, select

from activities.contracts import DeliveryStatus, SessionState
from activities.delivery.guard import parse_networks
from activities.store.crypto import SecretBox
from activities.store.database import init_db, make_engine
from activities.store.tables import Delivery
from benchmarks.cluster import BIN, Producer, Server, WorkerProcess, wait_until, worker_env
from benchmarks.loopback import Hit, Loopback
from tests.helpers import add_webhook
from worker.runtime.settings import Settings

PG = "postgresql+psycopg://postgres@127.0.0.1:5432/test"
INSIDE_LADDER: list[float] = [0, 2, 5, 10, 30, 60]
"""Spans 107 s: an outage of 45 s is inside it."""
PAST_LADDER: list[float] = [0, 1]
"""Spans 1 s: an outage of 60 s is past it. Two steps: while the circuit is open
only its probes are attempts, and a delivery fails on its second failed attempt."""
OPEN = frozenset({"pending", "waiting", "held", "failed"})
SENDING = frozenset({"pending", "waiting"})
SETTLE = 15.0
"""How long a disagreement may last before it counts (the log is written just
after the session decides)."""
EXAMPLES = 5


@dataclass(frozen=True)
class Load:
    sessions: int
    events: int
    every: float = 0.3
    timeout: float = 180.0
    webhook_timeout: float = 5.0
    """The webhook's timeout: a killed worker's attempts are retried after it and 15 s."""
    inside_outage: float = 45.0
    """How long the endpoint is down in ``outage-inside-ladder`` (less than
    ``INSIDE_LADDER``'s span)."""
    inside_ladder: tuple[float, ...] | None = tuple(INSIDE_LADDER)
    """The ladder of ``outage-inside-ladder`` (None: the webhook's default one)."""
    past_outage: float = 60.0
    """How long the endpoint is down in ``outage-past-ladder`` (more than
    ``PAST_LADDER``'s span), after the last event produced too."""

    @property
    def total(self) -> int:
        return self.sessions * self.events


@dataclass(frozen=True)
class Recovery:
    """Failed deliveries before a bulk redelivery, as each side counts them."""

    by_sessions: int
    in_log: int
    found: int
    """By ``hookflow deliveries redeliver --webhook W --status failed``."""


@dataclass(frozen=True)
class Tally:
    scenario: str
    produced: int
    distinct: int
    duplicates: int
    lost: int
    order_violations: int
    drain: float | None
    failed: int = 0
    """Deliveries to the webhook failed in the delivery log at the end."""
    alerts: int = 0
    """Distinct ``WHP_DELIVERY_FAILED`` deliveries the alert webhook received."""
    disagreements: int = 0
    """Deliveries whose session and delivery log disagreed on their status."""
    examples: tuple[str, ...] = ()
    recovery: Recovery | None = None
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
    webhook_id: uuid.UUID
    ladder: list[float]
    workers: list[WorkerProcess] = field(default_factory=list)
    session_ids: list[str] = field(default_factory=list)
    drain_from: float | None = None
    deadline: float = 0.0
    """``time.monotonic()`` by which the scenario ends, whatever happens."""
    recovery: Recovery | None = None
    mismatches: dict[tuple[str, str, str], str] = field(default_factory=dict)
    """(checkpoint, event id, webhook id): what the session and the log said."""
    note: str = ""

    @property
    def path(self) -> str:
        return f"/{self.name}"

    @property
    def alert_path(self) -> str:
        return f"/{self.name}-alerts"

    def left(self) -> float:
        return max(self.deadline - time.monotonic(), 0.0)

    def received(self) -> int:
        return len({h.webhook_id for h in self.rx.hits(self.path) if h.ok})

    def alerts(self) -> int:
        return len({h.webhook_id for h in self.rx.hits(self.alert_path) if h.ok})

    def log(self) -> list[Delivery]:
        """The delivery log's rows of this run's sessions (every webhook)."""
        with Session(self.engine) as session:
            query = select(Delivery).where(col(Delivery.session_id).in_(self.session_ids))
            return list(session.exec(query))

    def failed_in_log(self) -> int:
        return sum(
            1 for d in self.log() if d.webhook_id == self.webhook_id and d.status == "failed"
        )

    async def states(self) -> dict[str, SessionState]:
        """Every session's own view (its ``state`` query)."""
        client = self.producer.clients[0]

        async def one(session_id: str) -> tuple[str, SessionState | None]:
            handle = client.get_workflow_handle(f"session-faults:{session_id}")
            try:
                return session_id, await handle.query("state", result_type=SessionState)
            except Exception:  # a session that does not answer: every row of it disagrees
                return session_id, None

        found: dict[str, SessionState] = {}
        for first in range(0, len(self.session_ids), 25):
            part = self.session_ids[first : first + 25]
            for session_id, state in await asyncio.gather(*(one(i) for i in part)):
                if state is not None:
                    found[session_id] = state
        return found

    async def compare(self) -> dict[tuple[str, str], str]:
        """Each delivery the session and the log do not agree on: (event id,
        webhook id) -> what each says."""
        states = await self.states()
        rows = {(d.event_id, str(d.webhook_id)): d for d in self.log()}
        seen: set[tuple[str, str]] = set()
        differ: dict[tuple[str, str], str] = {}
        for session_id in self.session_ids:
            state = states.get(session_id)
            if state is None:
                differ[(session_id, "")] = f"session {session_id}: no answer to its state query"
                continue
            for record in state.deliveries:
                key = (record.event_id, str(record.webhook_id))
                seen.add(key)
                row = rows.get(key)
                logged = row.status if row is not None else "no row"
                if logged != record.status.value:
                    differ[key] = (
                        f"session {session_id} #{record.sequence} {record.event_type} -> "
                        f"{record.webhook_alias}: state {record.status.value} "
                        f"(attempts {record.attempts}, {record.error or '-'}), log {logged}"
                        + (f" (attempts {row.attempts}, {row.last_error or '-'})" if row else "")
                    )
        for key, row in rows.items():
            if key not in seen and row.status in OPEN:  # sessions forget only settled ones
                differ[key] = (
                    f"session {row.session_id} #{row.sequence} {row.event_type}: "
                    f"state has no record, log {row.status} (attempts {row.attempts})"
                )
        return differ

    async def agree(self, checkpoint: str) -> int:
        """Compare until the session and the log agree, for ``SETTLE`` seconds at
        most; what still differs then is kept. Returns how many differ."""
        deadline = time.monotonic() + min(SETTLE, self.left())
        while (differ := await self.compare()) and time.monotonic() < deadline:
            await asyncio.sleep(1.0)
        for (event_id, webhook_id), what in differ.items():
            self.mismatches[(checkpoint, event_id, webhook_id)] = what
        return len(differ)

    async def settled(self) -> bool:
        """Every session has stopped sending to the webhook (each of its
        deliveries is delivered, failed or held)."""
        states = await self.states()
        return len(states) == len(self.session_ids) and all(
            record.status.value not in SENDING
            for state in states.values()
            for record in state.deliveries
            if record.webhook_id == self.webhook_id
        )

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


async def outage_inside_ladder(run: Run) -> None:
    """Down for less than the ladder's span: the deliveries wait it out."""
    run.rx.answer(run.path, 503)
    await asyncio.sleep(min(run.load.inside_outage, run.left()))
    run.rx.answer(run.path, 200)
    run.drain_from = time.time()
    run.note = f"down {run.load.inside_outage:g}s, ladder {ladder_text(run.ladder) or 'default'}"


async def outage_past_ladder(run: Run) -> None:
    """Down for longer than the ladder (after the last event too): the
    deliveries whose ladder runs out fail; once the endpoint is back and the
    sessions settled, the failed ones are redelivered in bulk."""
    run.rx.answer(run.path, 503)
    await asyncio.sleep(min(run.load.past_outage, run.left()))
    while (
        run.producer.last_at == 0 or time.time() - run.producer.last_at < sum(run.ladder) + 2
    ) and run.left():
        await asyncio.sleep(0.5)
    run.rx.answer(run.path, 200)
    run.drain_from = time.time()
    # Whatever still waits for the circuit goes on; the failed ones and those
    # held behind them stay until an operator redelivers them.
    quiet = await wait_until_async(run.settled, timeout=min(run.left(), 120.0), every=1.0)
    before = await run.agree("before redelivery")
    in_states = sum(
        1
        for state in (await run.states()).values()
        for record in state.deliveries
        if record.webhook_id == run.webhook_id and record.status == DeliveryStatus.FAILED
    )
    in_log = run.failed_in_log()
    found, said = await redeliver_failed(run) if in_log or in_states else (0, "")
    run.recovery = Recovery(by_sessions=in_states, in_log=in_log, found=found)
    run.note = (
        f"down {run.load.past_outage:g}s, ladder {ladder_text(run.ladder)}; "
        f"failed before redelivery: {in_states} by the sessions, {in_log} in the log, "
        f"{found} found by redeliver"
        + ("" if quiet else "; sessions still sending when redelivered")
        + (f"; {before} disagreed before redelivery" if before else "")
        + (f"; redeliver said: {said}" if said else "")
    )


async def redeliver_failed(run: Run) -> tuple[int, str]:
    """Bulk recovery with the command line, as an operator would do it; returns
    how many deliveries it found (and what it said, when it found none)."""
    env = {**os.environ, **worker_env(run.settings, run.server.address)}
    command = [
        str(BIN / "hookflow"),
        *("deliveries", "redeliver", "--webhook", str(run.webhook_id)),
        *("--status", "failed", "--no-wait"),
    ]
    done = await asyncio.to_thread(
        subprocess.run,
        command,
        env=env,
        capture_output=True,
        text=True,
        check=False,
        timeout=max(run.left(), 10.0),
    )
    # "started <workflows>: N deliveries to <webhook>"
    words = done.stdout.split(": ", 1)[-1].split()
    if done.returncode or not words or not words[0].isdigit():
        return 0, " ".join((done.stdout + done.stderr).split())[:200]
    return int(words[0]), ""


async def wait_until_async(
    check: Callable[[], Awaitable[bool]], *, timeout: float, every: float = 0.5
) -> bool:
    deadline = time.monotonic() + timeout
    while not await check():
        if time.monotonic() > deadline:
            return False
        await asyncio.sleep(every)
    return True


def ladder_text(ladder: list[float]) -> str:
    return ",".join(f"{step:g}" for step in ladder)


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
    box = SecretBox("faults")
    webhook_id = add_webhook(
        engine,
        box,
        project="faults",
        type="storage_callback",
        url=rx.url(f"/{name}"),
        timeout=load.webhook_timeout,
        **({"retry_schedule": ladder} if ladder else {}),
    )
    run = Run(
        name,
        load,
        rx,
        server,
        settings,
        engine,
        Producer(settings, "faults", [client]),
        webhook_id,
        ladder or [],
        deadline=time.monotonic() + load.timeout + load.inside_outage + load.past_outage,
    )
    add_webhook(engine, box, project="faults", type="delivery_failed", url=rx.url(run.alert_path))
    try:
        for _ in range(workers):
            run.add_worker()
        run.session_ids = await run.producer.sessions(load.sessions)
        produce = asyncio.create_task(
            run.producer.events(run.session_ids, load.events, every=load.every)
        )
        await fault(run)
        await produce
        produced = run.producer.produced
        run.deadline = min(run.deadline, time.monotonic() + load.timeout)
        await wait_until(lambda: run.received() >= len(produced), timeout=run.left())
        since = run.drain_from or run.producer.last_at
        result = tally(name, produced, rx.hits(run.path), since)
        await run.agree("end")
        return replace(
            result,
            failed=run.failed_in_log(),
            alerts=run.alerts(),
            disagreements=len(run.mismatches),
            examples=tuple(
                f"{checkpoint}: {what}"
                for (checkpoint, _, _), what in list(run.mismatches.items())[:EXAMPLES]
            ),
            recovery=run.recovery,
            note=run.note,
        )
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
            elif name == "outage-inside-ladder":
                tallies.append(
                    await run_scenario(
                        name,
                        outage_inside_ladder,
                        load=load,
                        rx=rx,
                        data_dir=where,
                        ladder=list(load.inside_ladder) if load.inside_ladder else None,
                    )
                )
            elif name == "outage-past-ladder":
                tallies.append(
                    await run_scenario(
                        name,
                        outage_past_ladder,
                        load=load,
                        rx=rx,
                        data_dir=where,
                        ladder=PAST_LADDER,
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
    "outage-inside-ladder": "outage < ladder, no redelivery",
    "outage-past-ladder": "outage > ladder, bulk redeliver",
    "postgres": "2 workers on PostgreSQL, 1 killed",
}


def report(load: Load, tallies: list[Tally]) -> None:
    print(
        f"{load.sessions} sessions x {load.events} events per scenario, one webhook "
        f"(timeout {load.webhook_timeout:g}s) and a delivery_failed one, loopback"
    )
    print(
        f"  {'scenario':<34}{'produced':>9}{'received':>9}{'dupes':>6}{'lost':>5}"
        f"{'order':>6}{'failed':>7}{'alerts':>7}{'disagree':>9}{'drain':>8}"
    )
    for t in tallies:
        drain = "n/a" if t.drain is None else f"{t.drain:.1f}s"
        print(
            f"  {SCENARIOS[t.scenario]:<34}{t.produced:>9}{t.distinct:>9}{t.duplicates:>6}"
            f"{t.lost:>5}{t.order_violations:>6}{t.failed:>7}{t.alerts:>7}"
            f"{t.disagreements:>9}{drain:>8}"
        )
        if t.note:
            print(f"    {t.note}")
        for example in t.examples:
            print(f"    disagreement: {example}")


async def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sessions", type=int, default=20)
    parser.add_argument("--events", type=int, default=10)
    parser.add_argument("--timeout", type=float, default=180.0, help="drain limit per scenario")
    parser.add_argument(
        "--inside-outage", type=float, default=45.0, help="seconds down, inside the ladder"
    )
    parser.add_argument(
        "--inside-ladder",
        default=ladder_text(INSIDE_LADDER),
        help="its ladder, seconds apart, or 'default': a webhook's default ladder",
    )
    parser.add_argument(
        "--past-outage", type=float, default=60.0, help="seconds down, past the ladder"
    )
    parser.add_argument("--only", action="append", choices=list(SCENARIOS))
    args = parser.parse_args()
    load = Load(
        args.sessions,
        args.events,
        timeout=args.timeout,
        inside_outage=args.inside_outage,
        inside_ladder=None
        if args.inside_ladder == "default"
        else tuple(float(step) for step in args.inside_ladder.split(",")),
        past_outage=args.past_outage,
    )
    with tempfile.TemporaryDirectory() as tmp:
        tallies = await run_all(args.only or list(SCENARIOS), load, Path(tmp))
    report(load, tallies)


if __name__ == "__main__":
    asyncio.run(main())
