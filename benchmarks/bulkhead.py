"""One tenant's slow endpoint beside another's healthy one: the healthy webhook's
delivery latency alone, beside the slow one (bulkhead: the default cap on its
attempts in flight), and beside it without the bulkhead, in one run.

The slow endpoint answers every request late (by default just within its
timeout, so its deliveries succeed and no circuit breaker steps in: only the
bulkhead protects the others); ``--slow-mode timeout`` makes it answer after
its timeout instead. Latency is from the signal to the healthy receiver's
arrival. Everything is on one dev server and one worker with its 200
activity slots; the receiver runs in a process of its own.

    .venv/bin/python -m benchmarks.bulkhead [--healthy 20] [--rounds 10] [--slow 250]
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
from typing import Any

from temporalio.client import Client, WorkflowHandle

from activities.contracts import SessionState
from activities.delivery.bulkhead import DEFAULT_MAX_IN_FLIGHT
from benchmarks.loopback import Loopback
from tests.helpers import add_webhook, local_setup, start, start_dev_env
from worker.runtime.assembly import MAX_ACTIVITIES, running_worker


@dataclass(frozen=True)
class Load:
    healthy: int
    rounds: int
    every: float
    slow: int
    slow_events: int
    slow_timeout: float
    slow_delay: float


@dataclass(frozen=True)
class Figures:
    latencies: list[float]
    slow_answered: int

    def pct(self, q: float) -> float:
        ordered = sorted(self.latencies)
        return ordered[min(int(q * len(ordered)), len(ordered) - 1)] * 1000


async def sessions(client: Client, settings: Any, project: str, count: int) -> list[Any]:
    handles = await asyncio.gather(
        *(start(client, settings, project=project, id=uuid.uuid4().hex[:10]) for _ in range(count))
    )
    for handle in handles:  # every session knows its webhooks before the clock starts
        while not (await handle.query("state", result_type=SessionState)).webhooks:
            await asyncio.sleep(0.02)
    return list(handles)


async def settled(handle: WorkflowHandle[Any, Any], events: int) -> None:
    """Until the session signalled last has queued its deliveries: the burst of
    signals is behind the worker, and what follows measures deliveries only."""
    while True:
        state = await handle.query("state", result_type=SessionState)
        if sum(d.event_type == "WHP_STORAGE_CALLBACK" for d in state.deliveries) >= events:
            return
        await asyncio.sleep(0.2)


async def signal_all(handles: list[WorkflowHandle[Any, Any]], tag: str) -> None:
    await asyncio.gather(
        *(
            h.signal("storage_completed", {"storage": {"sent": time.time(), "tag": tag}})
            for h in handles
        )
    )


async def phase(
    client: Client, rx: Loopback, load: Load, data_dir: Path, *, slow: bool, cap: int | None = None
) -> Figures:
    """One run: the healthy webhook alone, or beside the slow one (``cap``: its
    ``--max-in-flight``; None: the worker's default)."""
    name = uuid.uuid4().hex[:6]
    settings, engine, box = local_setup(data_dir / name, key="bench")
    healthy_path, slow_path = f"/healthy-{name}", f"/slow-{name}"
    add_webhook(engine, box, project="healthy", type="storage_callback", url=rx.url(healthy_path))
    add_webhook(
        engine,
        box,
        project="slow",
        type="storage_callback",
        url=rx.url(slow_path),
        timeout=load.slow_timeout,
        max_in_flight=cap,
    )
    rx.answer(slow_path, 200, delay=load.slow_delay)
    async with running_worker(client, settings, engine=engine, box=box):
        healthy = await sessions(client, settings, "healthy", load.healthy)
        if slow:
            slowest = await sessions(client, settings, "slow", load.slow)
            for n in range(load.slow_events):
                await signal_all(slowest, f"slow-{n}")
            await settled(slowest[-1], load.slow_events)
            await asyncio.sleep(load.slow_delay)  # the slow endpoint holds what it can
        for n in range(load.rounds):
            await signal_all(healthy, f"round-{n}")
            await asyncio.sleep(load.every)
        expected = load.healthy * load.rounds
        deadline = time.monotonic() + 300
        while len(rx.hits(healthy_path)) < expected and time.monotonic() < deadline:
            await asyncio.sleep(0.2)
        hits = rx.hits(healthy_path)
        slow_answered = len(rx.hits(slow_path))
    engine.dispose()
    return Figures([h.at - float(h.storage["sent"]) for h in hits], slow_answered)


def report(load: Load, rows: list[tuple[str, Figures]]) -> None:
    per_second = load.healthy / load.every
    print(f"load average before and after: {' / '.join(LOAD)}")
    print(
        f"healthy webhook: {load.healthy} sessions x {load.rounds} events ({per_second:g}/s); "
        f"slow webhook: {load.slow} sessions x {load.slow_events} events answered after "
        f"{load.slow_delay:g}s (timeout {load.slow_timeout:g}s); worker slots {MAX_ACTIVITIES}"
    )
    print(f"  {'healthy webhook latency':<40} {'p50':>8} {'p90':>8} {'max':>8}  slow answered")
    for label, figures in rows:
        print(
            f"  {label:<40} {figures.pct(0.5):6.0f}ms {figures.pct(0.9):6.0f}ms "
            f"{max(figures.latencies) * 1000:6.0f}ms  {figures.slow_answered}"
        )
    base, capped = rows[0][1], rows[1][1]
    print(
        f"  p90 beside the slow webhook, with the bulkhead: "
        f"{capped.pct(0.9) / base.pct(0.9):.2f}x alone"
    )


async def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--healthy", type=int, default=20, help="healthy sessions")
    parser.add_argument("--rounds", type=int, default=10, help="events per healthy session")
    parser.add_argument("--every", type=float, default=1.0, help="seconds between rounds")
    parser.add_argument("--slow", type=int, default=250, help="sessions of the slow webhook")
    parser.add_argument("--slow-events", type=int, default=2)
    parser.add_argument("--slow-timeout", type=float, default=5.0)
    parser.add_argument("--slow-mode", choices=["late", "timeout"], default="late")
    parser.add_argument(
        "--cap", type=int, help="the slow webhook's --max-in-flight (default: the worker's)"
    )
    args = parser.parse_args()
    delay = args.slow_timeout * 0.8 if args.slow_mode == "late" else args.slow_timeout + 3
    load = Load(
        args.healthy, args.rounds, args.every, args.slow, args.slow_events, args.slow_timeout, delay
    )
    LOAD.append(_load())
    env = await start_dev_env()
    try:
        with Loopback() as rx, tempfile.TemporaryDirectory() as tmp:
            rows = [
                ("alone", await phase(env.client, rx, load, Path(tmp), slow=False)),
                (
                    f"beside the slow one, bulkhead ({args.cap or DEFAULT_MAX_IN_FLIGHT})",
                    await phase(env.client, rx, load, Path(tmp), slow=True, cap=args.cap),
                ),
                (
                    f"beside the slow one, no bulkhead ({MAX_ACTIVITIES})",
                    await phase(env.client, rx, load, Path(tmp), slow=True, cap=MAX_ACTIVITIES),
                ),
            ]
    finally:
        await env.shutdown()
    LOAD.append(_load())
    report(load, rows)


LOAD: list[str] = []


def _load() -> str:
    return " ".join(f"{x:.1f}" for x in os.getloadavg())


if __name__ == "__main__":
    asyncio.run(main())
