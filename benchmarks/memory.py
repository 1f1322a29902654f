"""Worker memory with many open sessions (DESIGN: 10,000 in under 500 MB).

Starts N sessions on one worker (each with a webhook resolved and its
created event delivered) and prints the worker process's resident memory
before and after, beside the per-session cost.

    .venv/bin/python -m benchmarks.memory [--sessions 10000]
"""

from __future__ import annotations

import argparse
import asyncio
import tempfile
import time
import uuid
from pathlib import Path

from activities.contracts import CreateSession
from tests.helpers import add_webhook, local_setup, start_dev_env
from worker.devstack.receiver import Receiver
from worker.runtime.assembly import running_worker


def rss_mb(pid: int | None = None) -> float:
    """Resident memory of process ``pid`` (this one by default), in MB."""
    for line in Path(f"/proc/{pid or 'self'}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) / 1024
    return float("nan")


async def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sessions", type=int, default=10_000)
    args = parser.parse_args()
    env = await start_dev_env()
    with tempfile.TemporaryDirectory() as tmp, Receiver() as receiver:
        settings, engine, box = local_setup(Path(tmp), key="bench")
        add_webhook(engine, box, project="bench", type="session_created", url=receiver.url("/c"))
        async with running_worker(env.client, settings, engine=engine, box=box):
            before = rss_mb()
            started = time.perf_counter()
            batch = 200
            for offset in range(0, args.sessions, batch):
                await asyncio.gather(
                    *(
                        env.client.start_workflow(
                            "Session", req, id=req.workflow_id, task_queue=settings.task_queue
                        )
                        for req in (
                            CreateSession(id=uuid.uuid4().hex[:12], project="bench")
                            for _ in range(min(batch, args.sessions - offset))
                        )
                    )
                )
            while len(receiver.requests) < args.sessions:
                await asyncio.sleep(0.5)
            elapsed = time.perf_counter() - started
            after = rss_mb()
    await env.shutdown()
    print(f"{args.sessions} open sessions on one worker (created event delivered to each)")
    print(f"  worker process RSS {before:7.1f} MB before, {after:7.1f} MB after")
    per_session = (after - before) * 1024 / args.sessions
    print(f"  {per_session:7.1f} KB per session; all started in {elapsed:.0f} s")


if __name__ == "__main__":
    asyncio.run(main())
