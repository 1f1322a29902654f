"""A session driven by nothing but the ``temporal`` CLI and the documented JSON."""

from __future__ import annotations

import asyncio
import json
import subprocess

from temporalio.client import Client
from temporalio.worker import Worker

from activities.store.crypto import SecretBox
from tests.conftest import BIN
from tests.helpers import add_webhook, new_id, wait_for_requests
from worker.devstack.receiver import Receiver
from worker.runtime.settings import Settings


async def temporal(client: Client, *args: str) -> str:
    address = client.service_client.config.target_host
    command = [str(BIN / "temporal"), *args, "--address", address, "--namespace", client.namespace]
    done = await asyncio.to_thread(
        subprocess.run, command, capture_output=True, text=True, timeout=60, check=False
    )
    assert done.returncode == 0, done.stderr
    return done.stdout


async def test_session_started_and_signalled_with_the_temporal_cli(
    client: Client, worker: Worker, settings: Settings, engine, box: SecretBox, receiver: Receiver
) -> None:
    types = ["session_created", "form_loaded", "form_submitted", "session_deleted"]
    for type_ in types:
        add_webhook(engine, box, type=type_, url=receiver.url("/all"))
    session_id = new_id()
    workflow_id = f"session-{session_id}"
    await temporal(
        client,
        "workflow",
        "start",
        "--type",
        "Session",
        "--task-queue",
        settings.task_queue,
        "--workflow-id",
        workflow_id,
        "--input",
        json.dumps({"id": session_id, "project": "acme", "labels": {"K": "V"}}),
    )
    client_info = {"ip": "203.0.113.7", "user_agent": "Mozilla/5.0"}
    await temporal(
        client,
        "workflow",
        "signal",
        "--workflow-id",
        workflow_id,
        "--name",
        "form_loaded",
        "--input",
        json.dumps({"client": client_info}),
    )
    await temporal(
        client,
        "workflow",
        "signal",
        "--workflow-id",
        workflow_id,
        "--name",
        "form_submitted",
        "--input",
        json.dumps({"client": client_info, "form_data": {"x": "1"}}),
    )
    await temporal(client, "workflow", "signal", "--workflow-id", workflow_id, "--name", "delete")

    # Four webhooks, four streams: each keeps its order, not the order among them.
    received = [r.json() for r in await wait_for_requests(receiver, 4, "/all")]
    bodies = sorted(received, key=lambda b: b["event"]["sequence"])
    assert [b["event"]["type"] for b in bodies] == [
        "WHEF_SESSION_CREATED",
        "WHEF_CLIENT_FORM_LOADED",
        "WHEF_CLIENT_FORM_SUBMITTED",
        "WHEF_SESSION_DELETED",
    ]
    assert [b["event"]["sequence"] for b in bodies] == [1, 2, 3, 5]  # 4 is the archive
    assert bodies[1]["client"] == client_info
    assert bodies[2]["form_data"] == {"x": "1"}
    assert all(b["session"]["id"] == session_id for b in bodies)
    assert all(b["session"]["labels"] == {"K": "V"} for b in bodies)
    # Ids the CLI did not give are derived from the session id, the same every time.
    assert bodies[0]["session"]["process_id"] == bodies[0]["session"]["reference"]

    described = json.loads(
        await temporal(client, "workflow", "describe", "--workflow-id", workflow_id, "-o", "json")
    )
    attributes = json.dumps(described.get("workflowExecutionInfo", {}).get("searchAttributes", {}))
    assert "HookflowSessionId" in attributes and "HookflowProject" in attributes
