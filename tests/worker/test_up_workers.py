"""``hookflow up --workers N``: worker processes beside the API's, supervised.

Each polls the task queue, one killed comes back, SIGTERM (or a killed ``up``)
leaves no process behind; ``--workers 0`` keeps the worker in the API's process
and starts sessions eagerly there."""

from __future__ import annotations

import asyncio
import os
import re
import signal
import time
from pathlib import Path

import httpx
from temporalio.api.enums.v1 import EventType, TaskQueueType
from temporalio.api.taskqueue.v1 import TaskQueue
from temporalio.api.workflowservice.v1 import DescribeTaskQueueRequest
from temporalio.client import Client

from activities.contracts import session_workflow_id
from tests.helpers import eventually
from tests.worker.test_up import (  # noqa: F401  (up: the fixture)
    Up,
    free_ports_in_a_row,
    temporal_processes,
    up,
)
from worker.devstack.receiver import Receiver
from worker.runtime.data_dir import read_state

PIDS = re.compile(r"Workers: +\d+ process(?:es)? \(pids ([\d, ]+)\)")


def alive(pid: int) -> bool:
    """Whether ``pid`` runs (a zombie waiting to be reaped does not)."""
    try:
        stat = Path(f"/proc/{pid}/stat").read_text()
    except OSError:
        return False
    return stat.rsplit(")", 1)[1].split()[0] != "Z"


def worker_children(parent: int) -> set[int]:
    found = set()
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            stat = (entry / "stat").read_text()
            cmdline = (entry / "cmdline").read_bytes().split(b"\0")
        except OSError:
            continue
        ppid = int(stat.rsplit(")", 1)[1].split()[1])
        if ppid == parent and b"worker.cli.main" in cmdline and alive(int(entry.name)):
            found.add(int(entry.name))
    return found


async def pollers(client: Client) -> set[int]:
    """The pids of the workers that polled the hookflow task queue for workflow
    tasks in the last minute, a long poll's length (an identity is ``pid@host``)."""
    described = await client.workflow_service.describe_task_queue(
        DescribeTaskQueueRequest(
            namespace="default",
            task_queue=TaskQueue(name="hookflow"),
            task_queue_type=TaskQueueType.TASK_QUEUE_TYPE_WORKFLOW,
        )
    )
    now = time.time()
    return {
        int(poller.identity.split("@")[0])
        for poller in described.pollers
        if now - poller.last_access_time.ToSeconds() < 70
    }


async def add_webhook_and_key(up: Up, receiver: Receiver) -> httpx.AsyncClient:  # noqa: F811
    added = up.hookflow(
        "webhooks", "add", "--project", "acme", "--alias", "crm", "--type", "session_created",
        "--url", receiver.url("/created"),
    )  # fmt: skip
    assert added.returncode == 0, added.stderr
    key = up.hookflow("keys", "create", "--project", "acme").stdout.splitlines()[-1]
    return httpx.AsyncClient(
        base_url=f"http://127.0.0.1:{up.api_port}",
        headers={"authorization": f"Bearer {key}"},
        timeout=30,
    )


async def test_workers_poll_come_back_when_killed_and_stop_with_up(
    up: Up,  # noqa: F811
    receiver: Receiver,
) -> None:
    metrics = free_ports_in_a_row(4)  # two workers' metrics, then their SDK exporters'
    banner = up.start("--workers", "2", "--metrics-port", str(metrics))
    assert up.process is not None
    match = PIDS.search(banner)
    assert match, banner
    first = {int(pid) for pid in match.group(1).split(", ")}
    assert len(first) == 2 and worker_children(up.process.pid) == first
    client = await Client.connect(f"127.0.0.1:{up.port}")
    await eventually(lambda: pollers(client), lambda found: found == first, timeout=30)
    for port in (metrics, metrics + 1):  # one metrics port each
        health = httpx.get(f"http://127.0.0.1:{port}/healthz", timeout=10)
        assert health.json()["status"] == "ready", health.text
    # Each worker's SDK exporter listens where the stack says, so no delivery
    # from any worker (nor the Test button) reaches it.
    state = read_state(up.data_dir)
    assert state is not None
    for port in (metrics + 2, metrics + 3):
        assert f"127.0.0.1:{port}" in state.endpoints()
        assert httpx.get(f"http://127.0.0.1:{port}/metrics", timeout=10).status_code == 200

    api = await add_webhook_and_key(up, receiver)
    for n in range(4):
        made = await api.post("/api/v1/sessions", json={"id": f"workers{n:03d}"})
        assert made.status_code == 201, made.text
    await asyncio.to_thread(receiver.wait_for, 4, path="/created", timeout=60)
    # No worker shares the API's client: the SDK does not ask for an eager start
    # that nobody would run (the first task would wait out its timeout).
    history = await client.get_workflow_handle(
        session_workflow_id("acme", "workers000")
    ).fetch_history()
    assert not history.events[
        0
    ].workflow_execution_started_event_attributes.eager_execution_accepted

    killed = min(first)
    os.kill(killed, signal.SIGKILL)
    now = await eventually(
        lambda: asyncio.to_thread(worker_children, up.process.pid),  # type: ignore[union-attr]
        lambda found: len(found) == 2 and killed not in found,
        timeout=30,
    )
    await eventually(lambda: pollers(client), lambda found: now <= found, timeout=60)
    made = await api.post("/api/v1/sessions", json={"id": "workers100"})
    assert made.status_code == 201, made.text
    await asyncio.to_thread(receiver.wait_for, 5, path="/created", timeout=60)
    await api.aclose()

    process, up.process = up.process, None
    process.send_signal(signal.SIGTERM)
    assert process.wait(timeout=20) == 0
    assert process.stdout is not None
    rest = process.stdout.read()
    assert rest.count("restarting it") == 1, rest
    assert f"worker 1 (pid {killed}) was killed by SIGKILL; restarting it" in rest
    assert not [pid for pid in first | now if alive(pid)]
    assert temporal_processes(up.data_dir) == []


def test_killed_up_leaves_no_worker_behind(up: Up) -> None:  # noqa: F811
    del up.env["HOOKFLOW_WORKERS"]
    banner = up.start()
    match = PIDS.search(banner)
    assert match and up.process is not None, banner
    workers = {int(pid) for pid in match.group(1).split(", ")}
    assert len(workers) == os.cpu_count()  # the default: one for each core
    up.process.kill()  # no chance to clean up
    up.process.wait(timeout=10)
    up.process = None
    deadline = time.monotonic() + 20
    while [pid for pid in workers if alive(pid)] and time.monotonic() < deadline:
        time.sleep(0.2)
    assert not [pid for pid in workers if alive(pid)]


async def test_workers_0_runs_the_worker_in_process_and_starts_sessions_eagerly(
    up: Up,  # noqa: F811
    receiver: Receiver,
) -> None:
    up.env["HOOKFLOW_WORKERS"] = "0"  # as --workers 0
    banner = up.start()
    assert "Workers:           in this process (--workers 0)" in banner
    assert up.process is not None and worker_children(up.process.pid) == set()
    client = await Client.connect(f"127.0.0.1:{up.port}")
    await eventually(lambda: pollers(client), lambda found: found == {up.process.pid})  # type: ignore[union-attr]
    api = await add_webhook_and_key(up, receiver)
    made = await api.post("/api/v1/sessions", json={"id": "eagerly001"})
    assert made.status_code == 201, made.text
    await api.aclose()
    await asyncio.to_thread(receiver.wait_for, 1, path="/created", timeout=60)
    history = await client.get_workflow_handle(
        session_workflow_id("acme", "eagerly001")
    ).fetch_history()
    started = history.events[0]
    assert started.event_type == EventType.EVENT_TYPE_WORKFLOW_EXECUTION_STARTED
    assert started.workflow_execution_started_event_attributes.eager_execution_accepted
    assert up.stop() == 0
