"""``hookflow up`` as a user runs it: payloads too big for history are refused by
the server when they are sent, and everything in the data dir is private."""

from __future__ import annotations

import asyncio
import os
import stat
from pathlib import Path

import pytest
from temporalio.client import Client
from temporalio.service import RPCError

from tests.helpers import eventually
from tests.worker.test_up import Up, up  # noqa: F401  (the fixture)
from worker.devstack.receiver import Receiver

KIB = 1024


def mode(path: Path) -> int:
    return stat.S_IMODE(path.stat().st_mode)


async def test_oversized_signal_is_refused_at_send_time_and_the_session_goes_on(
    up: Up,  # noqa: F811
    receiver: Receiver,
) -> None:
    up.start()
    added = up.hookflow(
        "webhooks", "add", "--project", "acme", "--alias", "cb", "--type", "storage_callback",
        "--url", receiver.url("/cb"),
    )  # fmt: skip
    assert added.returncode == 0, added.stderr
    created = up.hookflow("sessions", "create", "--project", "acme", "--id", "bigsignal1")
    assert created.returncode == 0, created.stderr
    client = await Client.connect(f"127.0.0.1:{up.port}")
    handle = client.get_workflow_handle("session-acme:bigsignal1")

    # 1.9 MB: under Temporal's default limit (2 MiB), it reached history before.
    with pytest.raises(RPCError, match="(?i)size exceeds"):
        await handle.signal("storage_completed", {"storage": {"blob": "x" * 1_900_000}})
    # 200 KiB is an ordinary signal: accepted and delivered.
    await handle.signal("storage_completed", {"storage": {"blob": "y" * 200 * KIB}})
    [request] = await asyncio.to_thread(receiver.wait_for, 1, path="/cb", timeout=60)
    assert request.json()["storage"]["blob"] == "y" * 200 * KIB

    history = await handle.fetch_history()
    assert sum(event.ByteSize() for event in history.events) < 600 * KIB
    shown = await eventually(
        lambda: asyncio.to_thread(up.hookflow, "sessions", "show", "bigsignal1"),
        lambda done: "delivered" in done.stdout,
    )
    assert "bigsignal1 (acme): active" in shown.stdout
    assert up.stop() == 0


def test_up_keeps_the_data_dir_private(up: Up) -> None:  # noqa: F811
    os.umask(0o022)  # a usual umask: files would be world-readable by default
    up.start()
    added = up.hookflow(
        "webhooks", "add", "--project", "acme", "--alias", "crm", "--type", "session_created",
        "--url", "http://127.0.0.1:9/none", "--basic-auth", "dana:pa55",
    )  # fmt: skip
    assert added.returncode == 0, added.stderr
    document = up.data_dir.parent / "contract.pdf"
    document.write_bytes(b"%PDF-1.7 private")
    put = up.hookflow("documents", "put", str(document), "--project", "acme")
    assert put.returncode == 0, put.stderr
    created = up.hookflow("sessions", "create", "--project", "acme", "--id", "private001")
    assert created.returncode == 0, created.stderr

    data = up.data_dir
    assert mode(data) == 0o700
    names = {p.name for p in data.iterdir()}
    assert {"temporal.db", "temporal.log", "hookflow.db", "secret.key", "documents"} <= names
    assert "temporal.db-wal" in names and "hookflow.db-wal" in names  # WAL in use
    for path in data.rglob("*"):
        expected = 0o700 if path.is_dir() else 0o600
        assert mode(path) == expected, f"{path.relative_to(data)} is {mode(path):o}"
    assert up.stop() == 0
