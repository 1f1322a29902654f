"""What a recovering endpoint sees: many sessions' deliveries pending while it is
down, then it comes back. Printed side by side in one run: with the circuit
breaker (one probe at a time while it is open, then a slow start) and without
it (every delivery retries on its own ladder).

Each session's created event goes to one webhook whose loopback receiver (a
process of its own) answers 503 from the start until ``--outage`` seconds
after the last session started, then 200. Figures come from the receiver:
requests while down, the peak request rate in any one second while down and
after it came back, and the time from its return until every delivery
arrived.

    .venv/bin/python -m benchmarks.recovery [--sessions 1000] [--outage 20]
"""

from __future__ import annotations

import argparse
import asyncio
import os
import tempfile
import time
import uuid
from dataclasses import dataclass
from pathlib import Path

from temporalio.client import Client

from activities.delivery.health import CircuitPolicy
from benchmarks.loopback import Loopback
from tests.helpers import add_webhook, local_setup, start, start_dev_env
from worker.runtime.assembly import running_worker

LADDER = [0, 2, 5, 10, 20, 30, 30, 30, 30, 30, 30, 30, 30, 30]
OFF = CircuitPolicy(threshold=10**9)
RAMP_SECONDS = 16


@dataclass(frozen=True)
class Figures:
    sessions: int
    down_requests: int
    down_peak: int
    up_peak: int
    drain: float
    delivered: int
    ramp: list[int]
    """Requests in each second from the first one answered after the return."""


def peak(times: list[float], window: float = 1.0) -> int:
    """The most requests in any ``window`` seconds."""
    ordered, best, first = sorted(times), 0, 0
    for last, at in enumerate(ordered):
        while at - ordered[first] >= window:
            first += 1
        best = max(best, last - first + 1)
    return best


async def run(
    client: Client, rx: Loopback, *, sessions: int, outage: float, data_dir: Path, breaker: bool
) -> Figures:
    settings, engine, box = local_setup(data_dir / uuid.uuid4().hex[:6], key="bench")
    path = f"/recovering-{uuid.uuid4().hex[:6]}"
    add_webhook(
        engine,
        box,
        project="bench",
        type="session_created",
        url=rx.url(path),
        retry_schedule=LADDER,
    )
    rx.answer(path, 503)
    circuit = None if breaker else OFF
    async with running_worker(client, settings, engine=engine, box=box, circuit=circuit):
        for first in range(0, sessions, 50):
            batch = range(first, min(first + 50, sessions))
            await asyncio.gather(
                *(start(client, settings, project="bench", id=uuid.uuid4().hex[:10]) for _ in batch)
            )
        await asyncio.sleep(outage)
        rx.answer(path, 200)
        up_at = time.time()
        delivered = await _drained(rx, path, sessions)
    engine.dispose()
    hits = rx.hits(path)
    down = [h.at for h in hits if not h.ok]
    up = [h.at for h in hits if h.at >= up_at]
    last = max((h.at for h in hits if h.ok), default=up_at)
    first = min((h.at for h in hits if h.ok), default=up_at)
    ramp = [sum(first + s <= at < first + s + 1 for at in up) for s in range(RAMP_SECONDS)]
    return Figures(sessions, len(down), peak(down), peak(up), last - up_at, delivered, ramp)


async def _drained(rx: Loopback, path: str, sessions: int, timeout: float = 900) -> int:
    deadline = time.monotonic() + timeout
    while True:
        delivered = len({h.webhook_id for h in rx.hits(path) if h.ok})
        if delivered >= sessions or time.monotonic() > deadline:
            return delivered
        await asyncio.sleep(0.5)


def report(rows: list[tuple[str, Figures]], outage: float) -> None:
    sessions = rows[0][1].sessions
    print(
        f"{sessions} sessions pending on one webhook, down until {outage:g}s after the last "
        f"started, then up (ladder {','.join(f'{s}s' for s in LADDER)}); "
        f"load average {' '.join(f'{x:.1f}' for x in os.getloadavg())}"
    )
    print(
        f"  {'':<22} {'requests while down':>20} {'peak/s down':>12} "
        f"{'peak/s recovering':>18} {'drain':>8} {'delivered':>10}"
    )
    for label, f in rows:
        print(
            f"  {label:<22} {f.down_requests:>20} {f.down_peak:>12} {f.up_peak:>18} "
            f"{f.drain:>7.1f}s {f.delivered:>10}"
        )
    print(f"  requests in each second from the first answered after the return ({RAMP_SECONDS} s):")
    for label, f in rows:
        print(f"  {label:<22} {' '.join(f'{n:>3}' for n in f.ramp)}")


async def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sessions", type=int, default=1000)
    parser.add_argument("--outage", type=float, default=20.0, help="seconds after the last start")
    args = parser.parse_args()
    env = await start_dev_env()
    rows = []
    try:
        with Loopback() as rx, tempfile.TemporaryDirectory() as tmp:
            for label, breaker in (("circuit breaker", True), ("no circuit breaker", False)):
                figures = await run(
                    env.client,
                    rx,
                    sessions=args.sessions,
                    outage=args.outage,
                    data_dir=Path(tmp),
                    breaker=breaker,
                )
                rows.append((label, figures))
    finally:
        await env.shutdown()
    report(rows, args.outage)


if __name__ == "__main__":
    asyncio.run(main())
