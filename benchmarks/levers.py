"""Each lever of hookflow's worker on its own, beside the worker as shipped
(``benchmarks.throughput`` runs it first; ``benchmarks.lever_worker`` is the
worker with one thing changed)."""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import os
import subprocess
import sys
from collections.abc import AsyncIterator
from pathlib import Path

from temporalio.client import Client
from temporalio.testing import WorkflowEnvironment

from benchmarks.loopback import Loopback
from benchmarks.throughput import KEY, Figure, Hookflow, Meter, burst, server_pid, steady
from tests.helpers import add_webhook, local_setup
from tests.worker.test_metrics import hookflow_client, worker_env
from worker.runtime.assembly import SANDBOX_CHOICES
from worker.runtime.codec import data_converter

SANDBOX_LEVER = "off" if SANDBOX_CHOICES[0] == "on" else "on"
LEVERS: list[tuple[str, dict[str, str], list[str]]] = [
    ("as shipped", {}, []),
    ("HOOKFLOW_HTTP_TRANSPORT=httpx", {"HOOKFLOW_HTTP_TRANSPORT": "httpx"}, []),
    ("attempt log off", {}, ["--attempt-log", "off"]),
    (f"sandbox {SANDBOX_LEVER}", {"HOOKFLOW_WORKFLOW_SANDBOX": SANDBOX_LEVER}, []),
    ("codec off", {}, ["--codec", "off"]),
]
_OPERATOR_LEVERS = ("HOOKFLOW_HTTP_TRANSPORT", "HOOKFLOW_WORKFLOW_SANDBOX")


@contextlib.asynccontextmanager
async def lever_side(
    env: WorkflowEnvironment, rx: Loopback, tmp: Path, lever: tuple[str, dict[str, str], list[str]]
) -> AsyncIterator[Hookflow]:
    """hookflow's worker (``benchmarks.lever_worker``) with ``lever`` moved, on a
    task queue of its own, and a client that encodes as that worker does."""
    _, extra_env, args = lever
    settings, engine, _box = local_setup(tmp, key=KEY)
    engine.dispose()
    environ = {k: v for k, v in os.environ.items() if k not in _OPERATOR_LEVERS}
    environ.update(worker_env(env, tmp, settings.task_queue))
    environ.update(HOOKFLOW_SECRET_KEY=KEY, HOOKFLOW_DATABASE_URL=settings.database_url)
    environ.update(extra_env)
    worker = subprocess.Popen(
        [sys.executable, "-m", "benchmarks.lever_worker", *args],
        env=environ,
        stdout=subprocess.PIPE,
    )
    try:
        assert worker.stdout is not None
        await asyncio.to_thread(worker.stdout.readline)
        if "--codec" in args:
            address = env.client.service_client.config.target_host
            client = await Client.connect(
                address, namespace=env.client.namespace, data_converter=data_converter(None)
            )
        else:
            client = await hookflow_client(env)
        yield Hookflow(client, rx, worker.pid, settings)
    finally:
        worker.terminate()
        worker.wait(30)


async def levers(
    env: WorkflowEnvironment, rx: Loopback, tmp: Path, opts: argparse.Namespace
) -> None:
    """Each lever on its own beside hookflow as shipped: the steady rate and the
    worker's CPU per 1,000 deliveries, the burst rate and its CPU per 1,000 sessions."""
    (sessions, events), count = opts.lever_shape, opts.lever_burst
    print(
        f"levers: {sessions} sessions x {events} events, then a burst of {count:,} sessions "
        f"(median of {opts.lever_rounds} round(s)):",
        flush=True,
    )
    tmp.mkdir()
    _settings, engine, box = local_setup(tmp, key=KEY)
    add_webhook(engine, box, project="steady", type="storage_callback", url=rx.url("/hf-steady"))
    add_webhook(engine, box, project="burst", type="session_created", url=rx.url("/hf-burst"))
    engine.dispose()
    server = server_pid(env)
    rows: dict[str, list[tuple[Figure, Figure]]] = {}
    for _ in range(opts.lever_rounds):
        for lever in LEVERS:
            async with lever_side(env, rx, tmp, lever) as side:
                meter = Meter(side.pid, server, rx.pid)
                ran = await steady(side, rx, meter, sessions, events)
                opened, _after = await burst(side, rx, meter, count)
            rows.setdefault(lever[0], []).append((ran, opened))
    base: tuple[float, float] | None = None
    for name, runs in rows.items():
        ran = sorted(runs, key=lambda r: r[0].rate)[len(runs) // 2][0]
        opened = sorted(runs, key=lambda r: r[1].rate)[len(runs) // 2][1]
        per_delivery = ran.cpu.worker / ran.deliveries * 1000
        per_session = opened.cpu.worker / opened.deliveries * 1000
        base = base or (per_delivery, per_session)
        print(
            f"  {name:<31} {ran.rate:6.1f} deliveries/s, worker {per_delivery:5.2f} s per 1,000 "
            f"({per_delivery / base[0]:.2f}x); burst {opened.rate:5.1f} sessions/s, worker "
            f"{per_session:5.2f} s per 1,000 ({per_session / base[1]:.2f}x)",
            flush=True,
        )
