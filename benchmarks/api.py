"""The REST API's cost: calls over HTTP beside the same work done directly from
Python (the baseline), with the API serving beside a worker as ``hookflow up`` does.

.venv/bin/python -m benchmarks.api [--calls 200] [--concurrency 8]

The HTTP client runs in a process of its own, as a platform's backend would.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import statistics
import sys
import tempfile
import time
import uuid
from collections.abc import Awaitable, Callable
from pathlib import Path

import httpx
from sqlalchemy.engine import Engine
from sqlmodel import Session

from activities.contracts import CreateSession
from activities.store.crypto import SecretBox
from activities.store.keys import create_key
from tests.api.conftest import free_port
from tests.helpers import add_webhook, local_setup, new_id, start_dev_env
from worker.api.auth import Principal
from worker.api.routes.deliveries import delivery_rows
from worker.api.server import start_api
from worker.devstack.receiver import Receiver
from worker.runtime.assembly import running_worker
from worker.services.delivery_pages import DeliveryFilter
from worker.services.sessions import create_session

Call = Callable[[], Awaitable[None]]
REQUESTS = {
    "sessions": ("POST", "/api/v1/sessions", {}),
    "hook-type": ("GET", "/api/v1/hook-types/archive", None),
    "deliveries": ("GET", "/api/v1/deliveries?limit=100", None),
}


async def timed(calls: int, concurrency: int, call: Call) -> tuple[list[float], float]:
    """Run ``call`` ``calls`` times, ``concurrency`` at once: each one's milliseconds
    and the seconds it all took."""
    timings: list[float] = []
    gate = asyncio.Semaphore(concurrency)

    async def one() -> None:
        async with gate:
            started = time.perf_counter()
            await call()
            timings.append((time.perf_counter() - started) * 1000)

    began = time.perf_counter()
    await asyncio.gather(*(one() for _ in range(calls)))
    return sorted(timings), time.perf_counter() - began


def line(name: str, timings: list[float], seconds: float) -> str:
    p95 = timings[max(0, int(len(timings) * 0.95) - 1)]
    return (
        f"  {name:<36} median {statistics.median(timings):6.1f} ms   p95 {p95:6.1f} ms"
        f"   {len(timings) / seconds:6.1f}/s"
    )


async def load(url: str, key: str, which: str, calls: int, concurrency: int) -> None:
    """The client process: one kind of request, timings printed as JSON."""
    method, path, body = REQUESTS[which]
    async with httpx.AsyncClient(
        base_url=url, headers={"authorization": f"Bearer {key}"}, timeout=120
    ) as http:

        async def call() -> None:
            (await http.request(method, path, json=body)).raise_for_status()

        timings, seconds = await timed(calls, concurrency, call)
    print(json.dumps({"timings": timings, "seconds": seconds}))


async def over_http(url: str, key: str, which: str, calls: int, concurrency: int) -> str:
    child = await asyncio.create_subprocess_exec(
        sys.executable, "-m", "benchmarks.api", "--load", url, key, which,
        "--calls", str(calls), "--concurrency", str(concurrency),
        stdout=asyncio.subprocess.PIPE,
    )  # fmt: skip
    out, _ = await child.communicate()
    result = json.loads(out)
    return line(f"{which}: {REQUESTS[which][0]} {REQUESTS[which][1]}", **result)


def read_log(engine: Engine, box: SecretBox) -> None:
    caller = Principal(key_id=uuid.uuid4(), project="bench", name="b")
    with Session(engine) as db:
        delivery_rows(db, caller, box=box, where=DeliveryFilter(), limit=100)


async def main(calls: int, concurrency: int) -> None:
    env = await start_dev_env()
    with tempfile.TemporaryDirectory() as tmp, Receiver() as receiver:
        settings, engine, box = local_setup(Path(tmp), key="bench")
        add_webhook(engine, box, project="bench", type="session_created", url=receiver.url("/c"))
        with Session(engine) as db:
            _record, key = create_key(session=db, project="bench")
        async with running_worker(env.client, settings, engine=engine, box=box):
            api = await start_api(
                settings=settings,
                engine=engine,
                box=box,
                client=env.client,
                host="127.0.0.1",
                port=free_port(),
                temporal_ui=None,
            )

            async def direct() -> None:
                req = CreateSession(id=new_id(), project="bench")
                await create_session(client=env.client, settings=settings, engine=engine, req=req)

            async def log() -> None:
                await asyncio.to_thread(read_log, engine, box)

            print(f"{calls} calls each, {concurrency} at once; in-memory dev server")
            print("worker and API in one process (as hookflow up), HTTP client in another")
            timings, seconds = await timed(calls, concurrency, direct)
            print(line("sessions: Python call (baseline)", timings, seconds), flush=True)
            await asyncio.to_thread(receiver.wait_for, calls, path="/c", timeout=300)
            print(await over_http(api.url, key, "sessions", calls, concurrency), flush=True)
            await asyncio.to_thread(receiver.wait_for, 2 * calls, path="/c", timeout=300)
            print(await over_http(api.url, key, "hook-type", calls, concurrency), flush=True)
            timings, seconds = await timed(calls, concurrency, log)
            print(line("deliveries: Python call (baseline)", timings, seconds), flush=True)
            print(await over_http(api.url, key, "deliveries", calls, concurrency), flush=True)
            await api.stop()
    await env.shutdown()


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--calls", type=int, default=200)
    parser.add_argument("--concurrency", type=int, default=8)
    parser.add_argument("--load", nargs=3, metavar=("URL", "KEY", "WHICH"), help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.load:
        asyncio.run(load(*args.load, calls=args.calls, concurrency=args.concurrency))
    else:
        asyncio.run(main(args.calls, args.concurrency))
