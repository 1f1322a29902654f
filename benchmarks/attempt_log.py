"""What the attempt log costs per attempt: CPU milliseconds, one at a time and many at once.

Every delivery attempt writes a row to the delivery log and brings its
delivery's row up to date before the activity returns (``AttemptLog.record``),
so its CPU is paid once per POST. This process writes ``--attempts`` attempts
(each a new delivery, as in steady state; then as many second attempts of the
same deliveries, as retries) through ``AttemptLog`` on a fresh store, with
``--concurrency`` attempts in flight at once, and prints this process's CPU
time per attempt (its threads included) and the rate. ``--source DIR`` runs
the same measurement on another checkout in the same run (say, the commit
before a change, extracted with ``git archive``), so the two figures sit side
by side on the same loaded machine.

    .venv/bin/python -m benchmarks.attempt_log [--attempts 4000] [--concurrency 1,50]
        [--postgres] [--source DIR]
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import json
import os
import subprocess
import sys
import tempfile
import time
import uuid
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent


def _record(webhook_id: uuid.UUID, n: int, *, outcome: str) -> Any:
    from activities.contracts import Envelope
    from activities.log.attempts import AttemptRecord

    envelope = Envelope.model_validate(
        {
            "event": {
                "id": f"evt_{n}_{webhook_id.hex[:6]}",
                "type": "WHEF_STORAGE_CALLBACK",
                "sequence": n,
                "timestamp": datetime.now(UTC),
            },
            "session": {
                "id": f"s{n % 997}",
                "reference": "r",
                "process_id": "p",
                "process_number": 1,
                "transaction_number": 1,
                "recipient": {"id": 1, "name": "client"},
                "labels": {},
            },
            "storage": {"n": n, "field": "x" * 200},
        }
    )
    return AttemptRecord(
        webhook_id=webhook_id,
        project="bench",
        envelope=envelope,
        started_at=datetime.now(UTC),
        status_code=200 if outcome == "delivered" else 503,
        latency_ms=3.25,
        outcome=outcome,
        error=None if outcome == "delivered" else "HTTP 503",
        response=b'{"ok": true}',
    )


def _store(url: str | None, tmp: Path) -> tuple[Any, Any, uuid.UUID]:
    from activities.store.crypto import SecretBox
    from activities.store.database import init_db, make_engine
    from tests.helpers import add_webhook

    engine = make_engine(url or f"sqlite:///{tmp / 'hookflow.db'}")
    init_db(engine)
    box = SecretBox("bench-key")
    project = f"bench-{uuid.uuid4().hex[:6]}"
    webhook = add_webhook(
        engine, box, project=project, type="storage_callback", url="http://127.0.0.1:9/x"
    )
    return engine, box, webhook


async def _run(log: Any, records: list[Any], concurrency: int) -> None:
    gate = asyncio.Semaphore(concurrency)

    async def one(record: Any) -> None:
        async with gate:
            await log.record(record)

    await asyncio.gather(*(one(r) for r in records))


def child(attempts: int, concurrency: int, url: str | None) -> dict[str, float]:
    """Runs in the checkout measured: CPU ms and wall time per attempt."""
    from activities.log.attempts import AttemptLog

    with tempfile.TemporaryDirectory() as tmp, contextlib.ExitStack() as stack:
        if url == "postgres":  # a schema of its own, dropped after
            from tests.postgres import postgres_schema

            url = stack.enter_context(postgres_schema())
        engine, box, webhook = _store(url, Path(tmp))
        log = AttemptLog(engine, box=box)
        base = uuid.uuid4().int % 10**6
        first = [_record(webhook, base + n, outcome="retrying") for n in range(attempts)]
        second = [_record(webhook, base + n, outcome="delivered") for n in range(attempts)]
        asyncio.run(_run(log, first[:50], concurrency))  # warm: connections, caches
        figures = {}
        for name, records in (("new delivery", first[50:]), ("next attempt", second[50:])):
            cpu, wall = time.process_time(), time.perf_counter()
            asyncio.run(_run(log, records, concurrency))
            cpu, wall = time.process_time() - cpu, time.perf_counter() - wall
            figures[name] = cpu / len(records) * 1000
            figures[name + " rate"] = len(records) / wall
        engine.dispose()
        return figures


def measure(source: Path, attempts: int, concurrency: int, url: str | None) -> dict[str, float]:
    env = {**os.environ, "PYTHONPATH": str(source)}
    argv = [sys.executable, __file__, "--child", str(attempts), str(concurrency), url or ""]
    out = subprocess.run(argv, cwd=source, env=env, check=True, capture_output=True, text=True)
    figures: dict[str, float] = json.loads(out.stdout.splitlines()[-1])
    return figures


def main() -> None:
    if len(sys.argv) > 1 and sys.argv[1] == "--child":
        sys.path.insert(0, os.getcwd())
        attempts, concurrency, url = int(sys.argv[2]), int(sys.argv[3]), sys.argv[4] or None
        print(json.dumps(child(attempts, concurrency, url)))
        return
    parser = argparse.ArgumentParser(description=(__doc__ or "").splitlines()[0])
    parser.add_argument("--attempts", type=int, default=4000)
    parser.add_argument("--concurrency", default="1,50")
    parser.add_argument(
        "--postgres",
        action="store_true",
        help="a fresh schema on HOOKFLOW_TEST_POSTGRES_URL (default: a SQLite file)",
    )
    parser.add_argument("--source", type=Path, action="append", help="another checkout")
    args = parser.parse_args()
    sources = [ROOT, *(path.resolve() for path in args.source or [])]
    where = "PostgreSQL" if args.postgres else "a SQLite file (WAL)"
    print(
        f"{args.attempts} attempts per row, {where}, load {os.getloadavg()[0]:.1f}; "
        "CPU ms per attempt (attempts/s)"
    )
    for concurrency in (int(c) for c in args.concurrency.split(",")):
        for source in sources:
            f = measure(source, args.attempts, concurrency, "postgres" if args.postgres else None)
            label = "this checkout" if source == ROOT else str(source)[-24:]
            print(
                f"  {concurrency:>3} at once, {label:<24} new delivery "
                f"{f['new delivery']:5.2f} ms ({f['new delivery rate']:6.0f}/s), next attempt "
                f"{f['next attempt']:5.2f} ms ({f['next attempt rate']:6.0f}/s)",
                flush=True,
            )


if __name__ == "__main__":
    main()
