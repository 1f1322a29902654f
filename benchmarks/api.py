"""The REST API's cost: calls over HTTP beside the same work done directly from
Python (the baseline), with the API serving beside a worker in one process, as
``hookflow up --workers 0`` does, with eager workflow start off and on; then
real ``hookflow up`` stacks side by side: the single-process layout as it was
(``--workers 0``, eager start off), with eager start, and with worker processes
(``--workers N``, default the machine's cores).

.venv/bin/python -m benchmarks.api [--calls 200] [--concurrency 8] [--workers N] [--rounds 2]

The HTTP client runs in a process of its own, as a platform's backend would.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import signal
import statistics
import subprocess
import sys
import tempfile
import time
import uuid
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx
from sqlalchemy.engine import Engine
from sqlmodel import Session
from temporalio.api.enums.v1 import EventType
from temporalio.client import Client

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
from worker.services import sessions
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
        f"  {name:<52} median {statistics.median(timings):6.1f} ms   p95 {p95:6.1f} ms"
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


async def in_client_process(
    url: str, key: str, which: str, calls: int, concurrency: int
) -> dict[str, Any]:
    child = await asyncio.create_subprocess_exec(
        sys.executable, "-m", "benchmarks.api", "--load", url, key, which,
        "--calls", str(calls), "--concurrency", str(concurrency),
        stdout=asyncio.subprocess.PIPE,
    )  # fmt: skip
    out, _ = await child.communicate()
    result: dict[str, Any] = json.loads(out)
    return result


async def over_http(
    url: str, key: str, which: str, calls: int, concurrency: int, label: str = ""
) -> str:
    result = await in_client_process(url, key, which, calls, concurrency)
    name = f"{which}: {REQUESTS[which][0]} {REQUESTS[which][1]}"
    return line(f"{name}, {label}" if label else name, **result)


LAUNCH = (
    "import sys; from worker.services import sessions; "
    "sessions.EAGER_START = sys.argv.pop(1) == 'on'; "
    "from worker.cli.main import entry_point; entry_point()"
)
"""``hookflow`` with eager start on or off: the first argument says which."""


@dataclass(frozen=True)
class Layout:
    """One ``hookflow up``, started in a temporary data dir, measured, stopped."""

    name: str
    workers: int
    eager: bool = True

    async def measure(self, calls: int, concurrency: int) -> str:
        with tempfile.TemporaryDirectory() as tmp, Receiver() as receiver:
            data = Path(tmp) / "data"
            env = {"HOOKFLOW_DATA_DIR": str(data), "HOOKFLOW_WORKERS": str(self.workers)}
            env = {**{k: v for k, v in os.environ.items() if k not in UNSET}, **env}
            port, api_port = free_port(), free_port()
            up = await asyncio.to_thread(self.start, data, env, port, api_port, Path(tmp))
            try:
                return await self._measure(receiver, env, port, api_port, calls, concurrency)
            finally:
                up.send_signal(signal.SIGTERM)
                await asyncio.to_thread(up.wait, 60)

    def start(self, data: Path, env: dict[str, str], port: int, api_port: int, tmp: Path) -> Any:
        out = tmp / "up.log"
        ports = ["--port", str(port), "--ui-port", str(free_port()), "--api-port", str(api_port)]
        ports += ["--codec-port", str(free_port()), "--http-port", str(free_port())]
        ports += ["--temporal-metrics-port", str(free_port())]
        with out.open("w") as log:
            up = subprocess.Popen(
                [sys.executable, "-c", LAUNCH, "on" if self.eager else "off", "up", *ports,
                 "--allow-networks", "127.0.0.0/8"],
                env=env, stdout=log, stderr=subprocess.STDOUT,
            )  # fmt: skip
        deadline = time.monotonic() + 120
        while "Press Ctrl-C" not in out.read_text():
            if up.poll() is not None or time.monotonic() > deadline:
                up.kill()
                raise SystemExit(f"hookflow up did not start:\n{out.read_text()}")
            time.sleep(0.2)
        return up

    async def _measure(
        self,
        receiver: Receiver,
        env: dict[str, str],
        port: int,
        api_port: int,
        calls: int,
        concurrency: int,
    ) -> str:
        def hookflow(*args: str) -> str:
            done = subprocess.run(
                [sys.executable, "-m", "worker.cli.main", *args],
                env=env, capture_output=True, text=True, check=True,
            )  # fmt: skip
            return done.stdout

        hookflow("webhooks", "add", "--project", "bench", "--alias", "crm",
                 "--type", "session_created", "--url", receiver.url("/c"))  # fmt: skip
        key = hookflow("keys", "create", "--project", "bench").splitlines()[-1]
        url = f"http://127.0.0.1:{api_port}"
        warm = 2 * concurrency  # the first sessions load the workflow code
        await in_client_process(url, key, "sessions", warm, concurrency)
        await asyncio.to_thread(receiver.wait_for, warm, path="/c", timeout=300)
        began = time.time()
        result = await in_client_process(url, key, "sessions", calls, concurrency)
        got = await asyncio.to_thread(receiver.wait_for, warm + calls, path="/c", timeout=600)
        delivered = calls / (max(r.at for r in got) - began)
        first_task = await first_task_ms(await Client.connect(f"127.0.0.1:{port}"))
        return (
            line(self.name, **result)
            + f"   delivered {delivered:6.1f}/s   first task {first_task:6.1f} ms"
        )


async def first_task_ms(client: Client, sample: int = 50) -> float:
    """Median milliseconds from a session's start to its first workflow task completed."""
    gaps = []
    async for listed in client.list_workflows("WorkflowType = 'Session'", limit=sample):
        history = await client.get_workflow_handle(listed.id).fetch_history()
        started = history.events[0].event_time.ToDatetime()
        done = next(
            e for e in history.events
            if e.event_type == EventType.EVENT_TYPE_WORKFLOW_TASK_COMPLETED
        )  # fmt: skip
        gaps.append((done.event_time.ToDatetime() - started).total_seconds() * 1000)
    return statistics.median(gaps)


UNSET = ("HOOKFLOW_DATABASE_URL", "HOOKFLOW_SECRET_KEY", "HOOKFLOW_CODEC_KEY", "TEMPORAL_ADDRESS")


def read_log(engine: Engine, box: SecretBox) -> None:
    caller = Principal(key_id=uuid.uuid4(), project="bench", name="b")
    with Session(engine) as db:
        delivery_rows(db, caller, box=box, where=DeliveryFilter(), limit=100)


async def in_process(calls: int, concurrency: int) -> None:
    """Worker and API on one event loop, in-memory dev server: each call's cost."""
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

            print(f"{calls} calls each, {concurrency} at once")
            print("worker and API in one process (hookflow up --workers 0), in-memory dev server,")
            print("HTTP client in another process")
            sent = 0
            for eager in (False, True):
                sessions.EAGER_START = eager
                label = f"eager start {'on' if eager else 'off'}"
                timings, seconds = await timed(calls, concurrency, direct)
                print(line(f"sessions: Python call, {label}", timings, seconds), flush=True)
                sent += calls
                await asyncio.to_thread(receiver.wait_for, sent, path="/c", timeout=300)
                shown = await over_http(api.url, key, "sessions", calls, concurrency, label)
                print(shown, flush=True)
                sent += calls
                await asyncio.to_thread(receiver.wait_for, sent, path="/c", timeout=300)
            print(await over_http(api.url, key, "hook-type", calls, concurrency), flush=True)
            timings, seconds = await timed(calls, concurrency, log)
            print(line("deliveries: Python call (baseline)", timings, seconds), flush=True)
            print(await over_http(api.url, key, "deliveries", calls, concurrency), flush=True)
            await api.stop()
    await env.shutdown()


async def main(calls: int, concurrency: int, workers: int, rounds: int) -> None:
    await in_process(calls, concurrency)
    print()
    print("hookflow up as a user runs it (dev server on a file): POST /api/v1/sessions over HTTP,")
    print("and until every session_created webhook arrived; first task: from the start")
    print("of a session to its first workflow task completed (median of 50)")
    print("(rounds alternate, so that a change in the machine's load hits every layout)")
    for _ in range(rounds):
        for layout in (
            Layout("--workers 0, eager start off (before)", workers=0, eager=False),
            Layout("--workers 0", workers=0),
            Layout(f"--workers {workers}", workers=workers),
        ):
            print(await layout.measure(calls, concurrency), flush=True)


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--calls", type=int, default=200)
    parser.add_argument("--concurrency", type=int, default=8)
    parser.add_argument("--workers", type=int, default=os.cpu_count() or 1)
    parser.add_argument("--rounds", type=int, default=2)
    parser.add_argument("--load", nargs=3, metavar=("URL", "KEY", "WHICH"), help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.load:
        asyncio.run(load(*args.load, calls=args.calls, concurrency=args.concurrency))
    else:
        asyncio.run(main(args.calls, args.concurrency, args.workers, args.rounds))
