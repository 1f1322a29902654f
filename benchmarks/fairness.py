"""One project's flood of slow deliveries beside another project's deliveries:
project B's delivery latency alone, beside project A with the fair share of the
worker's attempt slots, and beside it with the share turned off, in one run.

Project A has ``--a-webhooks`` webhooks (each at the ``max_in_flight``
ceiling, 50) to one loopback endpoint that answers late (just within its
timeout, so no circuit breaker steps in), and ``--a-sessions`` sessions with
one event each: ``a-webhooks x a-sessions`` deliveries hang there at once.
Project B's sessions then send events to a healthy endpoint; latency is from
the signal to B's receiver. One dev server, one worker with its 200 activity
slots; the receiver runs in a process of its own.

    .venv/bin/python -m benchmarks.fairness [--a-sessions 30] [--a-webhooks 10]
"""

from __future__ import annotations

import argparse
import asyncio
import tempfile
import time
import uuid
from dataclasses import dataclass, replace
from pathlib import Path

from temporalio.client import Client

from benchmarks.bulkhead import Figures, sessions, settled, signal_all
from benchmarks.loopback import Loopback
from tests.helpers import add_webhook, local_setup, start_dev_env
from worker.runtime.assembly import MAX_ACTIVITIES, running_worker


@dataclass(frozen=True)
class Load:
    a_sessions: int
    a_webhooks: int
    b_sessions: int
    rounds: int
    every: float
    slow_delay: float
    slow_timeout: float


async def phase(
    client: Client, rx: Loopback, load: Load, data_dir: Path, *, flood: bool, share: float
) -> Figures:
    """B's deliveries, alone or beside A's flood, with a project's ``share`` of the slots."""
    name = uuid.uuid4().hex[:6]
    settings, engine, box = local_setup(data_dir / name, key="bench")
    settings = replace(settings, project_share=share)
    b_path, a_path = f"/b-{name}", f"/a-{name}"
    add_webhook(engine, box, project="b", type="storage_callback", url=rx.url(b_path))
    for n in range(load.a_webhooks):
        add_webhook(
            engine,
            box,
            project="a",
            alias=f"slow-{n}",
            type="storage_callback",
            url=rx.url(a_path),
            timeout=load.slow_timeout,
            max_in_flight=50,
        )
    rx.answer(a_path, 200, delay=load.slow_delay)
    async with running_worker(client, settings, engine=engine, box=box):
        b = await sessions(client, settings, "b", load.b_sessions)
        if flood:
            a = await sessions(client, settings, "a", load.a_sessions)
            await signal_all(a, "flood")
            await settled(a[-1], 1)
            await asyncio.sleep(2.0)  # A's deliveries have taken what they can
        for n in range(load.rounds):
            await signal_all(b, f"round-{n}")
            await asyncio.sleep(load.every)
        expected = load.b_sessions * load.rounds
        deadline = time.monotonic() + 300
        while len(rx.hits(b_path)) < expected and time.monotonic() < deadline:
            await asyncio.sleep(0.2)
        hits = rx.hits(b_path)
        a_answered = len(rx.hits(a_path))
    engine.dispose()
    return Figures([h.at - float(h.storage["sent"]) for h in hits], a_answered)


async def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--a-sessions", type=int, default=30)
    parser.add_argument("--a-webhooks", type=int, default=10)
    parser.add_argument("--b-sessions", type=int, default=10)
    parser.add_argument("--rounds", type=int, default=5)
    parser.add_argument("--every", type=float, default=1.0)
    parser.add_argument("--slow-timeout", type=float, default=10.0)
    parser.add_argument("--share", type=float, default=0.5, help="HOOKFLOW_PROJECT_SHARE")
    args = parser.parse_args()
    load = Load(
        args.a_sessions,
        args.a_webhooks,
        args.b_sessions,
        args.rounds,
        args.every,
        args.slow_timeout * 0.8,
        args.slow_timeout,
    )
    env = await start_dev_env()
    try:
        with Loopback() as rx, tempfile.TemporaryDirectory() as tmp:
            rows = [
                ("B alone", await phase(env.client, rx, load, Path(tmp), flood=False, share=1.0)),
                (
                    f"B beside A, fair share {args.share:g}",
                    await phase(env.client, rx, load, Path(tmp), flood=True, share=args.share),
                ),
                (
                    "B beside A, no fair share (1)",
                    await phase(env.client, rx, load, Path(tmp), flood=True, share=1.0),
                ),
            ]
    finally:
        await env.shutdown()
    print(
        f"project A: {load.a_webhooks} webhooks x {load.a_sessions} sessions = "
        f"{load.a_webhooks * load.a_sessions} deliveries answered after {load.slow_delay:g}s "
        f"(timeout {load.slow_timeout:g}s); project B: {load.b_sessions} sessions x "
        f"{load.rounds} events; worker slots {MAX_ACTIVITIES}"
    )
    print(f"  {'project B delivery latency':<36} {'p50':>8} {'p90':>8} {'max':>8}  A answered")
    for label, figures in rows:
        print(
            f"  {label:<36} {figures.pct(0.5):6.0f}ms {figures.pct(0.9):6.0f}ms "
            f"{max(figures.latencies) * 1000:6.0f}ms  {figures.slow_answered}"
        )
    alone, fair, unfair = (figures for _label, figures in rows)
    print(
        f"  p90 beside A: {fair.pct(0.9) / alone.pct(0.9):.2f}x alone with the fair share, "
        f"{unfair.pct(0.9) / alone.pct(0.9):.2f}x without (target: within 2x)"
    )


if __name__ == "__main__":
    asyncio.run(main())
