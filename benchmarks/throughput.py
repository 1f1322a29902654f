"""hookflow beside a plain Temporal loop, in one run, on the same server and receiver.

The plain loop (``benchmarks.plain``) is one workflow per session and one
regular activity per event, posting with httpx. hookflow runs as users run
it: ``hookflow worker`` (SQLite configuration and attempt log, the payload
codec, the address guard). Each side's worker is a process of its own, so
its CPU time is read apart from the server's; the receiver is a third.

For each server kind (``sqlite``: a SQLite file with WAL, as ``hookflow up``
runs it; ``memory``: the dev server in memory), it prints:

- steady state: sessions already started, then each gets ``E`` events
  (``--shapes 100x10,1000x3``): deliveries per second;
- bursts (``--bursts 1000,10000``): N new sessions, each announced by one
  delivery (hookflow: ``WHEF_SESSION_CREATED``; plain: one activity at
  start): sessions per second from the first start to the last delivery;
- latency: events at 20 per second, then at half of each side's steady-state
  rate, for ``--latency-seconds`` each: signal-to-delivery p50 and p99;
- CPU seconds of each side's worker and of the server per 1,000 deliveries;
- the targets: each figure as a ratio to the plain loop's, met or not.

First, on the servers named by ``--levers`` (default: sqlite), each lever on
its own beside hookflow as shipped (``benchmarks.lever_worker``: the same
assembly with one thing changed: the httpx transport, the attempt log off,
the workflow sandbox switched, the payload codec off): steady rate and
worker CPU per 1,000 deliveries (``--lever-shape``), burst rate and worker
CPU per 1,000 sessions (``--lever-burst``).

    .venv/bin/python -m benchmarks.throughput [--server sqlite,memory]
        [--shapes 100x10,1000x3] [--bursts 1000,10000] [--latency-seconds 20]
        [--levers sqlite] [--lever-shape 100x10] [--lever-burst 1000] [--lever-rounds 1]
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import os
import platform
import subprocess
import sys
import tempfile
import time
import uuid
from collections.abc import AsyncIterator, Awaitable, Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from temporalio.client import Client, WorkflowHandle
from temporalio.testing import WorkflowEnvironment

from activities.contracts import CreateSession
from benchmarks.loopback import Hit, Loopback
from benchmarks.memory import rss_mb
from tests.helpers import add_webhook, local_setup, start_dev_env
from tests.worker.test_metrics import hookflow_client, worker_env
from tests.worker.workers import WorkerProcess
from worker.runtime.settings import Settings
from worker.services.sessions import start_session

KEY = "bench-key"
STARTING = 64  # workflow starts in flight at once, on both sides


# --- processes and their CPU time ---------------------------------------------------


def cpu_seconds(pid: int) -> float:
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def server_pid(env: WorkflowEnvironment) -> int:
    port = env.client.service_client.config.target_host.rsplit(":", 1)[1]
    for proc in Path("/proc").iterdir():
        with contextlib.suppress(OSError):
            args = (proc / "cmdline").read_bytes().split(b"\0")
            if b"start-dev" in args and port.encode() in args:
                return int(proc.name)
    raise RuntimeError(f"no dev server on port {port}")


@dataclass
class Cpu:
    worker: float = 0.0
    server: float = 0.0
    rest: float = 0.0
    """This process (starting and signalling sessions) and the receiver."""


class Meter:
    """CPU seconds spent by a worker, the server, and the rest while it measures."""

    def __init__(self, worker: int, server: int, receiver: int) -> None:
        self._pids = (worker, server, os.getpid(), receiver)

    @contextlib.contextmanager
    def measure(self) -> Iterator[Cpu]:
        before = [cpu_seconds(p) for p in self._pids]
        cpu = Cpu()
        yield cpu
        worker, server, client, receiver = (
            cpu_seconds(p) - b for p, b in zip(self._pids, before, strict=True)
        )
        cpu.worker, cpu.server, cpu.rest = worker, server, client + receiver


# --- the two sides ----------------------------------------------------------------


class Side:
    name: str
    pid: int
    steady_path: str  # where its steady-state and latency deliveries go
    burst_path: str  # where its bursts' deliveries go

    async def sessions(self, count: int, path: str) -> list[Any]:
        raise NotImplementedError

    async def burst(self, count: int, path: str) -> list[Any]:
        raise NotImplementedError

    async def send(self, handle: Any, n: int) -> None:
        raise NotImplementedError


class Plain(Side):
    name = "plain loop"
    steady_path, burst_path = "/plain", "/plain-burst"

    def __init__(self, client: Client, receiver: Loopback, pid: int, queue: str) -> None:
        self._client, self._rx, self.pid, self._queue = client, receiver, pid, queue

    async def _start(self, path: str, first: dict[str, Any] | None) -> WorkflowHandle[Any, Any]:
        return await self._client.start_workflow(
            "PlainSession",
            args=[self._rx.url(path), first],
            id=f"plain-{uuid.uuid4()}",
            task_queue=self._queue,
        )

    async def sessions(self, count: int, path: str) -> list[Any]:
        return await bounded(count, lambda: self._start(path, None))

    async def burst(self, count: int, path: str) -> list[Any]:
        return await bounded(count, lambda: self._start(path, {"storage": {"sent": time.time()}}))

    async def send(self, handle: Any, n: int) -> None:
        await handle.signal("event", {"storage": {"n": n, "sent": time.time()}})


class Hookflow(Side):
    name = "hookflow"
    steady_path, burst_path = "/hf-steady", "/hf-burst"

    def __init__(self, client: Client, receiver: Loopback, pid: int, settings: Settings) -> None:
        self._client, self._rx, self.pid, self._settings = client, receiver, pid, settings

    async def _start(self, project: str) -> WorkflowHandle[Any, Any]:
        req = CreateSession(id=uuid.uuid4().hex[:12], project=project)
        await start_session(self._client, self._settings, req)
        return self._client.get_workflow_handle(req.workflow_id)

    async def sessions(self, count: int, path: str) -> list[Any]:
        handles = await bounded(count, lambda: self._start(PROJECT[path]))
        for handle in handles:  # steady state: every session knows its webhooks
            while not (await handle.query("state")).get("webhooks"):
                await asyncio.sleep(0.01)
        return handles

    async def burst(self, count: int, path: str) -> list[Any]:
        return await bounded(count, lambda: self._start(PROJECT[path]))

    async def send(self, handle: Any, n: int) -> None:
        await handle.signal("storage_completed", {"storage": {"n": n, "sent": time.time()}})


# hookflow's projects: one webhook each, receiving one kind of event.
PROJECT = {"/hf-steady": "steady", "/hf-burst": "burst"}


async def bounded(count: int, start: Callable[[], Awaitable[Any]]) -> list[Any]:
    gate = asyncio.Semaphore(STARTING)

    async def one() -> Any:
        async with gate:
            return await start()

    return await asyncio.gather(*(one() for _ in range(count)))


# --- measurements -------------------------------------------------------------------


@dataclass
class Figure:
    rate: float
    seconds: float
    deliveries: int
    cpu: Cpu

    def per_thousand(self) -> str:
        k = self.deliveries / 1000
        cpu = self.cpu
        return (
            f"worker {cpu.worker / k:5.2f} s, server {cpu.server / k:5.2f} s "
            f"(client and receiver {cpu.rest / k:4.2f} s)"
        )


async def steady(side: Side, rx: Loopback, meter: Meter, sessions: int, events: int) -> Figure:
    path = side.steady_path
    handles = await side.sessions(sessions, path)
    base = rx.count(path)
    with meter.measure() as cpu:
        started = time.perf_counter()
        for n in range(events):
            await asyncio.gather(*(side.send(h, n) for h in handles))
        await rx.wait_for(path, base + sessions * events)
        elapsed = time.perf_counter() - started
    total = sessions * events
    return Figure(total / elapsed, elapsed, total, cpu)


async def burst(side: Side, rx: Loopback, meter: Meter, count: int) -> tuple[Figure, str]:
    """The figure, and how the worker and a session look once all are open."""
    path = side.burst_path
    base = rx.count(path)
    with meter.measure() as cpu:
        started = time.perf_counter()
        handles = await side.burst(count, path)
        await rx.wait_for(path, base + count, timeout=3600)
        elapsed = time.perf_counter() - started
    history = await handles[len(handles) // 2].fetch_history()
    after = (
        f"worker RSS {rss_mb(side.pid):.0f} MB, a session's history {len(history.events)} events"
    )
    return Figure(count / elapsed, elapsed, count, cpu), after


async def latency(side: Side, rx: Loopback, rate: float, seconds: float) -> list[float]:
    """Events at ``rate`` per second, spread over 100 sessions: each one's
    signal-to-delivery time, in ms."""
    path = side.steady_path
    handles = await side.sessions(100, path)
    base = rx.count(path)
    total = max(1, int(rate * seconds))
    started = time.perf_counter()
    sends = []
    for n in range(total):
        delay = started + n / rate - time.perf_counter()
        if delay > 0:
            await asyncio.sleep(delay)
        sends.append(asyncio.create_task(side.send(handles[n % len(handles)], n)))
    await asyncio.gather(*sends)
    hits: list[Hit] = (await rx.wait_for(path, base + total))[base:]
    return sorted((h.at - float(h.storage["sent"])) * 1000 for h in hits)


def percentile(values: list[float], p: float) -> float:
    return values[min(len(values) - 1, int(len(values) * p))]


# --- the run ------------------------------------------------------------------------


@contextlib.asynccontextmanager
async def sides(env: WorkflowEnvironment, rx: Loopback, tmp: Path) -> AsyncIterator[list[Side]]:
    settings, engine, box = local_setup(tmp, key=KEY)
    add_webhook(engine, box, project="steady", type="storage_callback", url=rx.url("/hf-steady"))
    add_webhook(engine, box, project="burst", type="session_created", url=rx.url("/hf-burst"))
    engine.dispose()
    environ = {**worker_env(env, tmp, settings.task_queue), "HOOKFLOW_SECRET_KEY": KEY}
    environ["HOOKFLOW_DATABASE_URL"] = settings.database_url
    hookflow = WorkerProcess(env=environ, log=tmp / "worker.log", metrics=False).start()
    queue = f"plain-{uuid.uuid4().hex[:6]}"
    address = env.client.service_client.config.target_host
    plain = subprocess.Popen(
        [sys.executable, "-m", "benchmarks.plain", "--address", address, "--task-queue", queue],
        stdout=subprocess.PIPE,
    )
    try:
        await asyncio.to_thread(hookflow.wait_ready)
        assert plain.stdout is not None
        await asyncio.to_thread(plain.stdout.readline)
        assert hookflow.process is not None
        yield [
            Plain(env.client, rx, plain.pid, queue),
            Hookflow(await hookflow_client(env), rx, hookflow.process.pid, settings),
        ]
    finally:
        hookflow.stop()
        plain.terminate()
        plain.wait(30)


async def run_server(kind: str, opts: argparse.Namespace) -> None:
    with tempfile.TemporaryDirectory() as tmp:
        env = await start_dev_env(database=Path(tmp) / "temporal.db" if kind == "sqlite" else None)
        label = "a SQLite file with WAL, as hookflow up runs it" if kind == "sqlite" else "memory"
        print(f"\n== dev server, {label} ==", flush=True)
        try:
            with Loopback() as rx:
                if kind in opts.levers:
                    from benchmarks.levers import levers  # (it imports this module)

                    await levers(env, rx, Path(tmp) / "levers", opts)
                async with sides(env, rx, Path(tmp)) as (plain, hookflow):
                    await measure(env, rx, plain, hookflow, opts)
        finally:
            await env.shutdown()


async def measure(
    env: WorkflowEnvironment, rx: Loopback, plain: Side, hookflow: Side, opts: argparse.Namespace
) -> None:
    server = server_pid(env)
    meters = {s.name: Meter(s.pid, server, rx.pid) for s in (plain, hookflow)}
    top: dict[str, float] = {}
    results: dict[tuple[str, str], Any] = {}
    for sessions, events in opts.shapes:
        print(f"steady state, {sessions} sessions x {events} events:", flush=True)
        figures = {}
        for side in opts.sides(plain, hookflow):
            figures[side.name] = figure = await steady(
                side, rx, meters[side.name], sessions, events
            )
            top[side.name] = max(top.get(side.name, 0.0), figure.rate)
            results[f"steady {sessions}x{events}", side.name] = figure
            report(side.name, figure, "deliveries/s", figures)
    for count in opts.bursts:
        print(f"burst of {count:,} new sessions, each announced by one delivery:", flush=True)
        figures = {}
        for side in opts.sides(plain, hookflow):
            figures[side.name], after = await burst(side, rx, meters[side.name], count)
            results[f"burst {count}", side.name] = figures[side.name]
            report(side.name, figures[side.name], "sessions/s", figures)
            print(f"  {'':<10} then {count:,} sessions open: {after}", flush=True)
    if opts.latency_seconds and top:
        print("signal-to-delivery latency, at 20 events/s and half of each side's steady rate:")
        for side in opts.sides(plain, hookflow):
            for label, rate in (("20/s", 20.0), ("half", top[side.name] / 2)):
                ms = await latency(side, rx, rate, opts.latency_seconds)
                results[f"p99 {label}", side.name] = percentile(ms, 0.99)
                print(
                    f"  {side.name:<10} {rate:6.1f} events/s: p50 {percentile(ms, 0.5):6.0f} ms, "
                    f"p99 {percentile(ms, 0.99):6.0f} ms, max {ms[-1]:6.0f} ms ({len(ms)} events)",
                    flush=True,
                )
    targets(results)


def targets(results: dict[tuple[str, str], Any]) -> None:
    """Each target of the performance issue, hookflow against the plain loop."""
    print("targets (hookflow / plain loop):", flush=True)
    keys = dict.fromkeys(key for key, _ in results)
    for key in keys:
        ours, theirs = results.get((key, "hookflow")), results.get((key, "plain loop"))
        if ours is None or theirs is None:
            continue
        if key.startswith("p99"):
            met = "met" if ours < 250 else "not met"
            print(f"  {key}: p99 {ours:.0f} ms (plain {theirs:.0f} ms); < 250 ms {met}")
            continue
        goal = 2.0 if key.startswith("steady") else 1.5
        ratio = ours.rate / theirs.rate
        print(f"  {key}: {ratio:.2f}x the plain loop's rate (>= {goal}x {_met(ratio >= goal)})")
        k_ours, k_theirs = ours.deliveries / 1000, theirs.deliveries / 1000
        worker = (ours.cpu.worker / k_ours) / (theirs.cpu.worker / k_theirs)
        server = (ours.cpu.server / k_ours) / (theirs.cpu.server / k_theirs)
        if key.startswith("steady"):
            ok = _met(worker <= 0.5)
            print(f"    worker CPU per delivery {worker:.2f}x plain (<= 0.5x {ok})")
        else:
            print(
                f"    worker CPU per session {worker:.2f}x plain (<= 1x {_met(worker <= 1)}); "
                f"server CPU per session {server:.2f}x plain (< 1x {_met(server < 1)})"
            )
    print(flush=True)


def _met(ok: bool) -> str:
    return "met" if ok else "not met"


def report(name: str, figure: Figure, unit: str, figures: dict[str, Figure]) -> None:
    baseline = figures.get("plain loop", figure).rate
    print(
        f"  {name:<10} {figure.rate:7.1f} {unit} ({figure.rate / baseline:.2f}x) in "
        f"{figure.seconds:6.1f} s; CPU per 1,000 deliveries: {figure.per_thousand()}",
        flush=True,
    )


def shapes(text: str) -> list[tuple[int, int]]:
    return [(int(a), int(b)) for a, b in (s.split("x") for s in text.split(",") if s)]


def counts(text: str) -> list[int]:
    return [int(s) for s in text.split(",") if s]


async def main() -> None:
    parser = argparse.ArgumentParser(description=(__doc__ or "").splitlines()[0])
    parser.add_argument("--server", default="sqlite,memory", help="sqlite, memory or both")
    parser.add_argument("--shapes", type=shapes, default=shapes("100x10,1000x3"))
    parser.add_argument("--bursts", type=counts, default=counts("1000,10000"))
    parser.add_argument("--latency-seconds", type=float, default=20.0)
    parser.add_argument("--only", choices=["plain", "hookflow"], help="One side (profiling).")
    parser.add_argument("--levers", default="sqlite", help="servers to run the levers on")
    parser.add_argument("--lever-shape", type=lambda t: shapes(t)[0], default=(100, 10))
    parser.add_argument("--lever-burst", type=int, default=1000)
    parser.add_argument("--lever-rounds", type=int, default=1)
    opts = parser.parse_args()
    opts.sides = lambda *both: [s for s in both if opts.only in (None, s.name.split()[0])]
    print(
        f"{os.cpu_count()} cores, {platform.processor() or platform.machine()}, "
        f"Python {platform.python_version()}, load {os.getloadavg()[0]:.1f}"
    )
    for kind in opts.server.split(","):
        await run_server(kind, opts)


if __name__ == "__main__":
    asyncio.run(main())
