"""Personal data never reaches Temporal's storage in clear: a session whose
recipient, labels, client, form data and SMS text carry markers runs to the end
through hookflow's codec; the dev server's SQLite file (WAL included) and
``temporal workflow show`` hold none of them, and show all of them through the
codec server."""

from __future__ import annotations

import asyncio
import json
import os
import subprocess
from collections.abc import AsyncIterator
from pathlib import Path

import pytest
from sqlalchemy.engine import Engine
from sqlmodel import Session, select
from temporalio.client import Client
from temporalio.testing import WorkflowEnvironment
from temporalio.worker import Replayer

from activities.contracts import SessionState
from activities.log.attempts import envelope_of, excerpt_of
from activities.store.crypto import SecretBox
from activities.store.tables import Attempt, Delivery
from tests.conftest import BIN
from tests.helpers import (
    add_webhook,
    codec_client,
    local_setup,
    new_id,
    start,
    start_dev_env,
    wait_for_requests,
)
from tests.workflows.test_temporal_cli import temporal
from worker.devstack.codec_server import CodecServer, build_app
from worker.devstack.receiver import Receiver, Reply
from worker.runtime.assembly import WORKFLOWS, running_worker
from worker.runtime.codec import EncryptionCodec, KeyRing, data_converter, encrypted_key_ids
from worker.runtime.settings import Settings

MARKERS = {
    "email": "mrk.email.5821@example.com",
    "phone": "+1555MRK5821",
    "label": "MRK-LABEL-5821",
    "user_agent": "MRK-AGENT-5821",
    "form_data": "MRK-FORM-5821",
    "sms": "MRK-SMS-5821",
}
# In a receiver's answer: kept by the delivery log (not by workflow history).
REPLY = "MRK-REPLY-5821"
# A session started by a caller without the codec: its input stays as sent.
CONTROL = "MRK-PLAIN-CONTROL-5821"


@pytest.fixture
async def file_env(tmp_path: Path) -> AsyncIterator[tuple[WorkflowEnvironment, Path]]:
    database = tmp_path / "temporal.db"
    env = await start_dev_env(database=database)
    yield env, database
    await env.shutdown()


def stored_bytes(database: Path) -> bytes:
    """Everything the dev server keeps: the SQLite file, its WAL and shared memory."""
    files = sorted(database.parent.glob(database.name + "*"))
    assert any(f.name.endswith("-wal") for f in files), files
    return b"".join(f.read_bytes() for f in files)


def temporal_show(client: Client, workflow_id: str, *codec: str) -> str:
    done = subprocess.run(
        [
            str(BIN / "temporal"),
            "workflow",
            "show",
            "--workflow-id",
            workflow_id,
            "--detailed",
            "--address",
            client.service_client.config.target_host,
            *codec,
        ],
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert done.returncode == 0, done.stderr
    return done.stdout


async def run_marked_session(
    client: Client, plain: Client, tmp_path: Path, receiver: Receiver
) -> tuple[str, str]:
    settings, engine, box = local_setup(tmp_path / "data")
    for type_ in ("session_created", "form_loaded", "form_submitted", "send_sms"):
        add_webhook(engine, box, type=type_, url=receiver.url(f"/{type_}"))
    reply = json.dumps({"status": "success", "note": REPLY}).encode()
    receiver.always("/form_submitted", Reply(body=reply))
    async with running_worker(client, settings, engine=engine, box=box):
        handle = await start(
            client,
            settings,
            template="loan",
            recipient={"id": 1, "name": "client", "phone": MARKERS["phone"]}
            | {"email": MARKERS["email"]},
            labels={"DEAL": MARKERS["label"]},
        )
        who = {"client": {"ip": "203.0.113.7", "user_agent": MARKERS["user_agent"]}}
        await handle.signal("form_loaded", who)
        await handle.signal("send_sms", {"purpose": "notice", "text": MARKERS["sms"]})
        await handle.signal("form_submitted", who | {"form_data": {"note": MARKERS["form_data"]}})
        await wait_for_requests(receiver, 1, "/form_submitted")
        await wait_for_requests(receiver, 2, "/send_sms")  # the invitation, then the notice
        state = await handle.query("state", result_type=SessionState)
        await handle.signal("delete")
        await handle.result()

        control = await start(plain, settings, labels={"DEAL": CONTROL})
        await control.signal("delete")
        # What the worker wrote back is encrypted: only a client with the codec reads it.
        await client.get_workflow_handle(control.id).result()
    # The receivers got the markers (the e-mail address is the session's own, never
    # sent): they were really in the session's data.
    received = json.dumps([r.json() for r in receiver.requests])
    missing = [m for key, m in MARKERS.items() if key != "email" and m not in received]
    assert not missing, missing
    assert state.status == "submitted"
    _check_delivery_log(engine, box, tmp_path / "data" / "hookflow.db")
    engine.dispose()
    return handle.id, control.id


def _check_delivery_log(engine: Engine, box: SecretBox, path: Path) -> None:
    """The attempt log keeps envelopes and response excerpts encrypted at rest, and
    reads them back in clear for ``deliveries show``."""
    raw = b"".join(f.read_bytes() for f in path.parent.glob(path.name + "*"))
    for marker in [*MARKERS.values(), REPLY]:
        assert marker.encode() not in raw, marker
    with Session(engine) as session:
        envelopes = json.dumps([envelope_of(d, box=box) for d in session.exec(select(Delivery))])
        excerpts = [excerpt_of(a, box=box) or "" for a in session.exec(select(Attempt))]
    assert MARKERS["form_data"] in envelopes and MARKERS["sms"] in envelopes
    assert any(REPLY in excerpt for excerpt in excerpts)


async def test_no_marker_reaches_temporal_in_clear(
    file_env: tuple[WorkflowEnvironment, Path], tmp_path: Path, receiver: Receiver
) -> None:
    env, database = file_env
    codec = EncryptionCodec(KeyRing((os.urandom(32),)))
    client = await codec_client(env, codec)
    workflow_id, control_id = await run_marked_session(client, env.client, tmp_path, receiver)

    # The real encrypted history replays through the codec.
    history = await client.get_workflow_handle(workflow_id).fetch_history()
    assert encrypted_key_ids(history.events) == {codec.ring.active_id}
    replayer = Replayer(workflows=WORKFLOWS, data_converter=data_converter(codec))
    await replayer.replay_workflow(history)

    stored = stored_bytes(database)
    assert CONTROL.encode() in stored  # the search reaches what the server stored
    for marker in MARKERS.values():
        assert marker.encode() not in stored, marker

    without = await asyncio.to_thread(temporal_show, client, workflow_id)
    assert "WorkflowExecutionCompleted" in without
    for marker in MARKERS.values():
        assert marker not in without, marker
    assert CONTROL in await asyncio.to_thread(temporal_show, client, control_id)

    server = CodecServer(build_app(codec, origins=[]), port=0)
    await server.start()
    try:
        decoded = await asyncio.to_thread(
            temporal_show, client, workflow_id, "--codec-endpoint", server.url
        )
    finally:
        await server.stop()
    for marker in MARKERS.values():
        assert marker in decoded, marker


async def test_the_temporal_cli_drives_a_session_through_the_codec_server(
    dev_env: WorkflowEnvironment,
    settings: Settings,
    engine: Engine,
    box: SecretBox,
    receiver: Receiver,
) -> None:
    codec = EncryptionCodec(KeyRing((os.urandom(32),)))
    client = await codec_client(dev_env, codec)
    add_webhook(engine, box, type="form_loaded", url=receiver.url("/loaded"))
    server = CodecServer(build_app(codec, origins=[], allow_encode=True), port=0)
    await server.start()
    session_id = new_id()
    workflow_id = f"session-{session_id}"
    through_codec = ("--codec-endpoint", server.url)
    try:
        async with running_worker(client, settings, engine=engine, box=box):
            await temporal(
                client,
                *("workflow", "start", "--type", "Session", "--task-queue", settings.task_queue),
                *("--workflow-id", workflow_id, *through_codec),
                "--input",
                json.dumps({"id": session_id, "project": "acme", "labels": {"K": CONTROL}}),
            )
            await temporal(
                client,
                *("workflow", "signal", "--workflow-id", workflow_id, "--name", "form_loaded"),
                *through_codec,
                "--input",
                json.dumps({"client": {"user_agent": MARKERS["user_agent"]}}),
            )
            [loaded] = await wait_for_requests(receiver, 1, "/loaded")
            assert loaded.json()["session"]["labels"] == {"K": CONTROL}
            query = ("workflow", "query", "--workflow-id", workflow_id, "--type", "state")
            answer = '"project":"acme"'
            assert answer in await temporal(client, *query, *through_codec)
            assert answer not in await temporal(client, *query)
    finally:
        await server.stop()
    history = await client.get_workflow_handle(workflow_id).fetch_history()
    # What the CLI sent went through the codec server: encrypted like the rest.
    started = history.events[0].workflow_execution_started_event_attributes
    assert encrypted_key_ids([started.input]) == {codec.ring.active_id}
    assert CONTROL.encode() not in history.events[0].SerializeToString()
