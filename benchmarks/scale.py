"""Deliveries per second of real ``hookflow worker`` processes, side by side in one run.

Each configuration runs the command-line worker in processes of its own on
one dev server, posting to one loopback receiver (a process of its own):

- one worker, SQLite configuration (the baseline: what ``hookflow up`` runs);
- one worker, PostgreSQL;
- one worker, PostgreSQL, with ``--metrics-port`` and ``--log-format json``;
- two workers on one task queue, PostgreSQL.

    .venv/bin/python -m benchmarks.scale [--sessions 50] [--events 10]

PostgreSQL is ``HOOKFLOW_TEST_POSTGRES_URL`` (default the local server's
``test`` database); each configuration works in a schema of its own.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import statistics
import tempfile
import time
import uuid
from collections.abc import Iterator
from pathlib import Path

from temporalio.client import Client
from temporalio.testing import WorkflowEnvironment

from activities.contracts import SessionState
from activities.store.crypto import SecretBox
from activities.store.database import init_db, make_engine
from benchmarks.loopback import Loopback
from tests.helpers import add_webhook, start
from tests.helpers import start_dev_env as dev_server
from tests.postgres import postgres_schema
from tests.worker.test_metrics import worker_env
from tests.worker.workers import WorkerProcess
from worker.runtime.settings import Settings

KEY = "bench-key"


@contextlib.contextmanager
def database(kind: str, data_dir: Path) -> Iterator[str]:
    if kind == "sqlite":
        yield f"sqlite:///{data_dir / 'hookflow.db'}"
    else:
        with postgres_schema() as url:
            yield url


async def run(
    env: WorkflowEnvironment,
    receiver: Loopback,
    *,
    url: str,
    workers: int,
    args: tuple[str, ...],
    metrics: bool,
    sessions: int,
    events: int,
    data_dir: Path,
) -> float:
    client: Client = env.client
    settings = Settings(
        data_dir=data_dir, task_queue=f"scale-{uuid.uuid4().hex[:6]}", database_url=url
    )
    engine = make_engine(url)
    init_db(engine)
    add_webhook(
        engine, SecretBox(KEY), project="bench", type="storage_callback", url=receiver.url("/hf")
    )
    environ = {**worker_env(env, data_dir, settings.task_queue), "HOOKFLOW_SECRET_KEY": KEY}
    environ["HOOKFLOW_DATABASE_URL"] = url
    processes = [
        WorkerProcess(
            env=environ, log=data_dir / f"worker-{n}.log", args=args, metrics=metrics
        ).start()
        for n in range(workers)
    ]
    try:
        await asyncio.gather(*(asyncio.to_thread(p.wait_ready) for p in processes))
        handles = [
            await start(client, settings, project="bench", id=uuid.uuid4().hex[:10])
            for _ in range(sessions)
        ]
        for handle in handles:  # steady state: every session knows its webhooks
            while not (await handle.query("state", result_type=SessionState)).webhooks:
                await asyncio.sleep(0.01)
        base = receiver.count("/hf")
        started = time.perf_counter()
        for n in range(events):
            await asyncio.gather(
                *(h.signal("storage_completed", {"storage": {"n": n}}) for h in handles)
            )
        await receiver.wait_for("/hf", base + sessions * events)
        elapsed = time.perf_counter() - started
        await asyncio.gather(*(h.signal("delete") for h in handles))
    finally:
        for process in processes:
            process.stop()
        engine.dispose()
    return sessions * events / elapsed


# name, database, worker processes, extra options, --metrics-port
CONFIGS: tuple[tuple[str, str, int, tuple[str, ...], bool], ...] = (
    ("1 worker,  SQLite", "sqlite", 1, (), False),
    ("1 worker,  PostgreSQL", "postgres", 1, (), False),
    ("1 worker,  PostgreSQL, metrics + JSON log", "postgres", 1, ("--log-format", "json"), True),
    ("2 workers, PostgreSQL", "postgres", 2, (), False),
)


async def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sessions", type=int, default=50)
    parser.add_argument("--events", type=int, default=10)
    parser.add_argument(
        "--rounds", type=int, default=1, help="Run every configuration this often, in turn."
    )
    opts = parser.parse_args()
    env = await dev_server()
    rates: dict[str, list[float]] = {name: [] for name, *_ in CONFIGS}
    try:
        with Loopback() as receiver:
            # In turn rather than one after the other: drift in the machine's load
            # then touches every configuration alike.
            for name, kind, workers, args, metrics in CONFIGS * opts.rounds:
                with tempfile.TemporaryDirectory() as tmp, database(kind, Path(tmp)) as url:
                    rate = await run(
                        env,
                        receiver,
                        url=url,
                        workers=workers,
                        args=args,
                        metrics=metrics,
                        sessions=opts.sessions,
                        events=opts.events,
                        data_dir=Path(tmp),
                    )
                rates[name].append(rate)
    finally:
        await env.shutdown()
    shape = f"{opts.sessions} sessions x {opts.events} events, median of {opts.rounds}"
    print(f"{opts.sessions * opts.events} deliveries a run ({shape})")
    baseline = statistics.median(rates[CONFIGS[0][0]])
    for name, runs in rates.items():
        rate = statistics.median(runs)
        shown = ", ".join(f"{r:.0f}" for r in runs)
        print(f"  {name:<44} {rate:6.1f} deliveries/s  ({rate / baseline:.2f}x)  [{shown}]")


if __name__ == "__main__":
    asyncio.run(main())
