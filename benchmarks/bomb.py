"""Worker memory while endpoints answer with compression bombs, beside a plain answer.

For each kind of response, a fresh ``hookflow worker`` process (the real
command, SQLite configuration, attempt log) delivers N sessions' created event
at once to one loopback endpoint that answers with it; the worker's peak
resident memory (VmHWM) is printed beside the plain answer's. The last line
reads one single-layer bomb the way the worker did before (httpx's streaming
decoder, stopped at the cap), in a process of its own, for comparison.

    .venv/bin/python -m benchmarks.bomb [--sessions 20] [--inflated-mib 1024]
"""

from __future__ import annotations

import argparse
import asyncio
import os
import subprocess
import sys
import tempfile
import time
import uuid
from dataclasses import dataclass
from pathlib import Path

from sqlalchemy.engine import Engine
from sqlmodel import Session, col, func, select

from activities.contracts import CreateSession
from activities.store.tables import Delivery
from tests.helpers import add_webhook, local_setup, start_dev_env
from tests.servers import MIB, bomb_reply
from worker.devstack.receiver import Receiver, Reply
from worker.runtime.settings import Settings
from worker.services.sessions import start_session

BIN = Path(sys.executable).parent


@dataclass(frozen=True)
class Case:
    name: str
    reply: Reply
    inflated: int


def cases(inflated: int) -> list[Case]:
    plain = b'{"status": "success"}'
    return [
        Case("plain JSON", Reply(body=plain), len(plain)),
        Case("gzip bomb", bomb_reply(inflated, ("gzip",)), inflated),
        Case("deflate bomb", bomb_reply(inflated, ("deflate",)), inflated),
        Case("gzip, gzip (layered)", bomb_reply(inflated, ("gzip", "gzip")), inflated),
        Case("gzip x3 (layered)", bomb_reply(inflated, ("gzip", "gzip", "gzip")), inflated),
    ]


def memory_mb(pid: int, field: str) -> float:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith(field + ":"):
            return int(line.split()[1]) / 1024
    return float("nan")


def delivered(engine: Engine, webhook_id: uuid.UUID) -> int:
    with Session(engine) as session:
        query = select(func.count()).where(
            col(Delivery.webhook_id) == webhook_id, col(Delivery.status) == "delivered"
        )
        return int(session.exec(query).one())


class WorkerProcess:
    """``hookflow worker`` against the benchmark's server, configuration and queue."""

    def __init__(self, settings: Settings, address: str, key: str) -> None:
        env = {
            **os.environ,
            "TEMPORAL_ADDRESS": address,
            "HOOKFLOW_DATA_DIR": str(settings.data_dir),
            "HOOKFLOW_DATABASE_URL": settings.database_url,
            "HOOKFLOW_SECRET_KEY": key,
            "HOOKFLOW_TASK_QUEUE": settings.task_queue,
            "HOOKFLOW_ALLOW_NETWORKS": "127.0.0.0/8",
        }
        self.process = subprocess.Popen(
            [str(BIN / "hookflow"), "worker"], env=env, stdout=subprocess.PIPE, text=True
        )
        assert self.process.stdout is not None
        line = self.process.stdout.readline()
        if not line.startswith("worker on"):
            self.stop()
            raise RuntimeError(f"the worker did not start: {line!r}")

    def stop(self) -> None:
        self.process.terminate()
        self.process.wait(timeout=60)


async def run_case(
    case: Case, *, env_address: str, client: object, sessions: int, tmp: Path
) -> tuple[float, float, float]:
    """Idle RSS, peak RSS and seconds for ``sessions`` deliveries answered with ``case``."""
    settings, engine, box = local_setup(tmp / uuid.uuid4().hex[:8], key="bench")
    with Receiver() as receiver:
        receiver.always("/hook", case.reply)
        hook = add_webhook(
            engine, box, project="bench", type="session_created", url=receiver.url("/hook")
        )
        worker = WorkerProcess(settings, env_address, "bench")
        try:
            idle = memory_mb(worker.process.pid, "VmRSS")
            started = time.perf_counter()
            await asyncio.gather(
                *(
                    start_session(
                        client, settings, CreateSession(id=uuid.uuid4().hex[:12], project="bench")
                    )  # type: ignore[arg-type]
                    for _ in range(sessions)
                )
            )
            while delivered(engine, hook) < sessions:
                await asyncio.sleep(0.2)
            elapsed = time.perf_counter() - started
            peak = memory_mb(worker.process.pid, "VmHWM")
        finally:
            worker.stop()
            engine.dispose()
    return idle, peak, elapsed


_BEFORE = """
import asyncio, httpx, sys
from pathlib import Path
cap = 256 * 1024
def hwm():
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith("VmHWM:"):
            return int(line.split()[1]) / 1024
async def main(url):
    async with httpx.AsyncClient() as client:
        await client.post(url.replace("/bomb", "/plain"), content=b"{}")
        before = hwm()
        async with client.stream("POST", url, content=b"{}") as response:
            size = 0
            async for chunk in response.aiter_bytes():
                size += len(chunk)
                if size > cap:
                    break
        print(before, hwm())
asyncio.run(main(sys.argv[1]))
"""


def before_the_change(inflated: int) -> tuple[float, float]:
    """Peak RSS of a process reading one single-layer bomb with httpx's decoder."""
    with Receiver() as receiver:
        receiver.always("/bomb", bomb_reply(inflated, ("gzip",)))
        receiver.always("/plain", Reply())
        done = subprocess.run(
            [sys.executable, "-c", _BEFORE, receiver.url("/bomb")],
            capture_output=True,
            text=True,
            check=True,
            timeout=300,
        )
    before, peak = (float(x) for x in done.stdout.split())
    return before, peak


async def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sessions", type=int, default=20, help="deliveries at once")
    parser.add_argument("--inflated-mib", type=int, default=1024, help="size of each bomb inflated")
    args = parser.parse_args()
    inflated = args.inflated_mib * MIB
    env = await start_dev_env()
    address = env.client.service_client.config.target_host
    rows = []
    try:
        with tempfile.TemporaryDirectory() as tmp:
            for case in cases(inflated):
                idle, peak, elapsed = await run_case(
                    case,
                    env_address=address,
                    client=env.client,
                    sessions=args.sessions,
                    tmp=Path(tmp),
                )
                rows.append((case, idle, peak, elapsed))
    finally:
        await env.shutdown()
    print(f"hookflow worker, {args.sessions} deliveries at once, each answered with:")
    heads = ("on the wire", "inflated", "idle RSS", "peak RSS", "time")
    widths = (12, 10, 9, 9, 6)
    print(
        f"  {'response':<22} " + " ".join(f"{h:>{w}}" for h, w in zip(heads, widths, strict=True))
    )
    for case, idle, peak, elapsed in rows:
        print(
            f"  {case.name:<22} {_size(len(case.reply.body)):>12} {_size(case.inflated):>10} "
            f"{idle:>7.1f}MB {peak:>7.1f}MB {elapsed:>5.1f}s"
        )
    start_rss, peak = before_the_change(inflated)
    print(
        f"before (httpx's decoder, stopped at the cap), ONE gzip bomb response: "
        f"{start_rss:.1f} MB -> peak {peak:.1f} MB"
    )


def _size(n: int) -> str:
    for unit, size in (("GiB", 1 << 30), ("MiB", 1 << 20), ("KiB", 1 << 10)):
        if n >= size:
            return f"{n / size:.1f} {unit}"
    return f"{n} B"


if __name__ == "__main__":
    asyncio.run(main())
