"""``hookflow sessions`` and ``deliveries`` against the dev server and a running worker."""

from __future__ import annotations

import asyncio
import json
import uuid
from pathlib import Path

import pytest
from temporalio.client import Client
from temporalio.service import RPCError
from temporalio.worker import Worker

from activities.crypto import SecretBox
from tests.helpers import add_webhook, new_id, wait_for_requests
from tests.worker.cli import Cli
from worker.receiver import Receiver, Reply
from worker.settings import Settings


@pytest.fixture
def cli(
    client: Client,
    settings: Settings,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> Cli:
    monkeypatch.setenv("HOOKFLOW_DATA_DIR", str(settings.data_dir))
    monkeypatch.setenv("HOOKFLOW_SECRET_KEY", settings.secret_key_env or "")
    monkeypatch.setenv("HOOKFLOW_TASK_QUEUE", settings.task_queue)
    monkeypatch.setenv("TEMPORAL_ADDRESS", client.service_client.config.target_host)
    monkeypatch.delenv("HOOKFLOW_DATABASE_URL", raising=False)
    return Cli(capsys)


async def test_create_signal_show_with_retries(
    cli: Cli,
    client: Client,
    worker: Worker,
    engine,
    box: SecretBox,
    receiver: Receiver,
    tmp_path: Path,
) -> None:
    hook = add_webhook(
        engine,
        box,
        alias="crm",
        type="form_submitted",
        url=receiver.url("/s"),
        retry_schedule=[0, 0.3, 0.3],
    )
    receiver.script("/s", Reply(status=500), Reply(status=500))
    request = tmp_path / "session.json"
    request.write_text(
        json.dumps(
            {
                "project": "acme",
                "template": "loan-application",
                "recipient": {"id": 1, "name": "client"},
                "labels": {"CUSTOMER_TAG": "CUSTOMER_VALUE"},
                "expires_in": 604800,
                "integrations": [{"type": "webhook", "uuid": str(hook)}],
            }
        )
    )
    session_id = (await asyncio.to_thread(cli.ok, "sessions", "create", str(request))).strip()
    assert len(session_id) == 10 and session_id.isalnum()

    payload = json.dumps({"client": {"ip": "203.0.113.7"}, "form_data": {"amount": 1}})
    await asyncio.to_thread(
        cli.ok, "sessions", "signal", session_id, "form_submitted", "--data", payload
    )
    await wait_for_requests(receiver, 3, "/s")
    for _ in range(50):
        shown = await asyncio.to_thread(cli.ok, "sessions", "show", session_id)
        if "delivered" in shown:
            break
        await asyncio.sleep(0.1)
    row = next(line for line in shown.splitlines() if "WHEF_CLIENT_FORM_SUBMITTED" in line)
    assert row.split()[2:6] == ["crm", "delivered", "3", "200"]
    state = json.loads(await asyncio.to_thread(cli.ok, "sessions", "show", session_id, "--json"))
    assert state["status"] == "submitted"

    listed = await asyncio.to_thread(cli.ok, "deliveries", "list", "--session", session_id)
    delivery = next(line.split()[0] for line in listed.splitlines() if "SUBMITTED" in line)
    log = await asyncio.to_thread(cli.ok, "deliveries", "show", delivery)
    assert log.count("retrying") == 2 and "delivered" in log


async def test_create_refuses_unknown_or_disabled_integration(
    cli: Cli, client: Client, worker: Worker, engine, box: SecretBox, receiver: Receiver
) -> None:
    session_id = new_id()
    ghost = uuid.uuid4()
    code, err = await asyncio.to_thread(
        cli.fails,
        "sessions",
        "create",
        "--project",
        "acme",
        "--id",
        session_id,
        "--integration",
        str(ghost),
    )
    assert code == 1 and f"integration {ghost}: no such webhook" in err
    off = add_webhook(
        engine,
        box,
        type="archive",
        url=receiver.url("/a"),
        explicit=True,
        enabled=False,
        disabled_reason="paused",
    )
    code, err = await asyncio.to_thread(
        cli.fails,
        "sessions",
        "create",
        "--project",
        "acme",
        "--id",
        session_id,
        "--integration",
        str(off),
    )
    assert "disabled: paused" in err
    code, err = await asyncio.to_thread(
        cli.fails, "sessions", "create", "--project", "acme", "--integration", "not-a-uuid"
    )
    assert "uuid" in err.lower() and len(err.strip().splitlines()) == 1
    with pytest.raises(RPCError):
        await client.get_workflow_handle(f"session-{session_id}").describe()


async def test_signal_errors_are_one_line(cli: Cli, client: Client, worker: Worker) -> None:
    code, err = await asyncio.to_thread(cli.fails, "sessions", "signal", "nosuchsession", "expire")
    assert err.strip() == "hookflow: error: no session nosuchsession"
    session_id = (
        await asyncio.to_thread(cli.ok, "sessions", "create", "--project", "acme")
    ).strip()
    for data, message in [
        ("{not json", "not valid JSON"),
        ('{"client": "x"}', "client"),
        ("[1]", "JSON object"),
        ("x" * 300_000, "larger than"),
    ]:
        code, err = await asyncio.to_thread(
            cli.fails, "sessions", "signal", session_id, "form_loaded", "--data", data
        )
        assert message in err and len(err.strip().splitlines()) == 1
    code, err = await asyncio.to_thread(cli.fails, "sessions", "signal", session_id, "explode")
    assert code == 2 and "explode" in err
    code, err = await asyncio.to_thread(
        cli.fails, "sessions", "create", "--project", "acme", "--id", session_id
    )
    assert f"session {session_id} already exists" in err
