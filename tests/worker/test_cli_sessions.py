"""``hookflow sessions`` and ``deliveries`` against the dev server and a running worker."""

from __future__ import annotations

import asyncio
import json
import signal
import sys
import uuid
from pathlib import Path

import pytest
from temporalio.client import Client
from temporalio.service import RPCError
from temporalio.worker import Worker

from activities.store.crypto import SecretBox
from tests.helpers import add_webhook, eventually, new_id, wait_for_requests
from tests.worker.cli import Cli
from tests.worker.session_commands import cli_fixture, client_fixture  # noqa: F401
from worker.devstack.receiver import Receiver, Reply
from worker.runtime.settings import Settings


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
    shown = await eventually(
        lambda: asyncio.to_thread(cli.ok, "sessions", "show", session_id),
        lambda out: "delivered" in out,
    )
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
        await client.get_workflow_handle(f"session-acme:{session_id}").describe()


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


async def test_failed_delivery_is_found_and_redelivered(
    cli: Cli, client: Client, worker: Worker, engine, box: SecretBox, receiver: Receiver
) -> None:
    add_webhook(
        engine,
        box,
        alias="erp",
        type="session_created",
        url=receiver.url("/r"),
        retry_schedule=[0, 0.2],
    )
    receiver.always("/r", Reply(status=500))
    session_id = (
        await asyncio.to_thread(cli.ok, "sessions", "create", "--project", "acme")
    ).strip()
    await wait_for_requests(receiver, 2, "/r")
    failed = await eventually(
        lambda: asyncio.to_thread(
            cli.ok, "deliveries", "list", "--status", "failed", "--session", session_id, "--json"
        ),
        lambda out: bool(json.loads(out)),
    )
    [row] = json.loads(failed)
    assert row["attempts"] == 2 and row["event_type"] == "WHEF_SESSION_CREATED"

    receiver.script("/r", Reply(status=503), Reply(status=200))  # down once more, then up
    code, out, err = await asyncio.to_thread(cli.run, "deliveries", "redeliver", row["id"])
    assert code == 0, err
    assert out.startswith("1 delivered, 0 failed (session-")  # the running session resends it
    lines = err.splitlines()
    assert lines[0] == "waiting for the result; Ctrl-C leaves it running (or use --no-wait)"
    # Each attempt as it happens, then the count.
    label = f"#1 WHEF_SESSION_CREATED of {session_id} -> erp"
    shown_attempts = [line.strip() for line in lines if line.startswith("  attempt ")]
    assert shown_attempts[0].startswith(f"attempt 3 of {label}: HTTP 503, retrying (")
    assert shown_attempts[1].startswith(f"attempt 4 of {label}: HTTP 200, delivered (")
    assert len(shown_attempts) == 2
    assert lines[-1] == "redelivering: 1/1 (0 failed)"
    first, second, again, last = receiver.at("/r")
    assert last.headers["webhook-id"] == first.headers["webhook-id"] == row["event_id"]
    assert again.body == last.body == first.body
    shown = json.loads(await asyncio.to_thread(cli.ok, "deliveries", "show", row["id"], "--json"))
    assert shown["status"] == "delivered"
    assert [(a["attempt"], a["outcome"]) for a in shown["attempt_log"]] == [
        (1, "retrying"),
        (2, "failed"),
        (3, "retrying"),
        (4, "delivered"),
    ]
    # Stored encrypted, shown in clear.
    assert shown["envelope"]["event"]["id"] == row["event_id"]
    assert shown["attempt_log"][3]["response_excerpt"] == '{"status": "success"}'
    shown_session = json.loads(
        await asyncio.to_thread(cli.ok, "sessions", "show", session_id, "--json")
    )
    [record] = shown_session["deliveries"]
    assert (record["status"], record["attempts"], record["status_code"]) == ("delivered", 4, 200)
    # The session was running: it sent the delivery again itself.
    assert out.split("(")[1].rstrip(")\n") == f"session-acme:{session_id}"


async def test_replay_a_session_stream_from_a_sequence(
    cli: Cli, client: Client, worker: Worker, engine, box: SecretBox, receiver: Receiver
) -> None:
    hook = add_webhook(engine, box, alias="dw", type="storage_callback", url=receiver.url("/dw"))
    session_id = (
        await asyncio.to_thread(cli.ok, "sessions", "create", "--project", "acme")
    ).strip()
    for n in range(4):
        await asyncio.to_thread(
            cli.ok,
            "sessions",
            "signal",
            session_id,
            "storage_completed",
            "--data",
            json.dumps({"storage": {"n": n}}),
        )
    await wait_for_requests(receiver, 4, "/dw")
    await eventually(  # the log is written right after the receiver answers
        lambda: asyncio.to_thread(
            cli.ok, "deliveries", "list", "--session", session_id, "--status", "delivered", "--json"
        ),
        lambda out: len(json.loads(out)) == 4,
    )
    code, out, err = await asyncio.to_thread(
        cli.run,
        "deliveries",
        "redeliver",
        "--session",
        session_id,
        "--webhook",
        str(hook),
        "--from-sequence",
        "4",
    )
    assert code == 0, err
    assert out.startswith("2 delivered, 0 failed")
    replayed = receiver.at("/dw")[4:]
    assert [r.json()["event"]["sequence"] for r in replayed] == [4, 5]
    code, err = await asyncio.to_thread(
        cli.fails,
        "deliveries",
        "redeliver",
        "--session",
        session_id,
        "--webhook",
        "dw",
        "--from-sequence",
        "99",
    )
    assert "no deliveries of session" in err


async def test_xml_webhook_delivers_xml_that_parses_back_to_the_envelope(
    client: Client, worker: Worker, engine, box: SecretBox, receiver: Receiver, settings: Settings
) -> None:
    from activities.delivery.formats import decode
    from tests.helpers import start

    add_webhook(
        engine,
        box,
        type="form_submitted",
        url=receiver.url("/xml"),
        content_type="xml",
        accept="xml",
        retry_schedule=[0, 0.2],
    )
    add_webhook(engine, box, type="form_submitted", url=receiver.url("/json"))
    receiver.script("/xml", Reply(body=b"<r><status>error</status></r>"))
    handle = await start(client, settings, labels={"DEAL": "D-1"})
    await handle.signal(
        "form_submitted",
        {"form_data": {"amount": 25000, "items": [1, 2]}, "client": {"ip": "203.0.113.7"}},
    )
    xml_requests = await wait_for_requests(receiver, 2, "/xml")  # error body, then success
    [as_json] = await wait_for_requests(receiver, 1, "/json")
    assert xml_requests[1].headers["content-type"] == "application/xml"
    assert decode(xml_requests[1].body, "xml") == as_json.json()


async def test_processes_create_and_show(
    cli: Cli,
    client: Client,
    worker: Worker,
    engine,
    box: SecretBox,
    receiver: Receiver,
    tmp_path: Path,
) -> None:
    add_webhook(engine, box, type="session_created", url=receiver.url("/c"))
    process_id = str(uuid.uuid4())
    request = tmp_path / "process.json"
    request.write_text(
        json.dumps(
            {
                "id": process_id,
                "project": "acme",
                "process_number": 51,
                "labels": {"DEAL": "D-1"},
                "sessions": [
                    {"template": "loan-application", "recipient": {"id": 1, "name": "client"}},
                    {"template": "loan-approval", "recipient": {"id": 2, "name": "officer"}},
                ],
            }
        )
    )
    out = await asyncio.to_thread(cli.ok, "processes", "create", str(request))
    assert out.strip() == process_id
    await wait_for_requests(receiver, 1, "/c")
    shown = await eventually(
        lambda: asyncio.to_thread(cli.ok, "processes", "show", process_id),
        lambda out: "active" in out.splitlines()[2],
    )
    lines = shown.splitlines()
    assert lines[0] == f"process {process_id} (acme): active"
    assert lines[2].split()[-1] == "active" and lines[3].split()[-1] == "waiting"
    code, err = await asyncio.to_thread(cli.fails, "processes", "create", str(request))
    assert "already exists" in err
    request.write_text(json.dumps({"id": "nope", "project": "acme", "sessions": []}))
    code, err = await asyncio.to_thread(cli.fails, "processes", "create", str(request))
    assert code == 1 and len(err.strip().splitlines()) == 1
    code, err = await asyncio.to_thread(cli.fails, "processes", "show", str(uuid.uuid4()))
    assert "no process" in err


async def test_ctrl_c_leaves_a_redelivery_running(
    cli: Cli, client: Client, worker: Worker, engine, box: SecretBox, receiver: Receiver
) -> None:
    add_webhook(
        engine,
        box,
        alias="down",
        type="session_created",
        url=receiver.url("/d"),
        retry_schedule=[0, 0.2, 1],
    )
    receiver.always("/d", Reply(status=503))
    session_id = (
        await asyncio.to_thread(cli.ok, "sessions", "create", "--project", "acme")
    ).strip()
    await wait_for_requests(receiver, 3, "/d")
    failed = await eventually(
        lambda: asyncio.to_thread(
            cli.ok, "deliveries", "list", "--status", "failed", "--session", session_id, "--json"
        ),
        lambda out: bool(json.loads(out)),
    )
    [row] = json.loads(failed)
    # A ladder that outlasts the Ctrl-C, however busy the machine.
    await asyncio.to_thread(
        cli.ok, "webhooks", "update", "down", "--project", "acme", "--retry-schedule", "0s,2s,60s"
    )
    command = [sys.executable, "-c", "from worker.cli.main import entry_point; entry_point()"]
    process = await asyncio.create_subprocess_exec(
        *command, "deliveries", "redeliver", row["id"], stderr=asyncio.subprocess.PIPE
    )
    assert process.stderr is not None
    first = await asyncio.wait_for(process.stderr.readline(), 30)
    assert first.decode().strip() == (
        "waiting for the result; Ctrl-C leaves it running (or use --no-wait)"
    )
    await wait_for_requests(receiver, 4, "/d")  # the redelivery's first attempt
    process.send_signal(signal.SIGINT)
    rest = (await asyncio.wait_for(process.stderr.read(), 30)).decode()
    assert await process.wait() == 130
    assert rest.splitlines()[-1].startswith("stopped waiting: the redelivery goes on")
    assert "Traceback" not in rest
    await wait_for_requests(receiver, 5, "/d")  # its ladder goes on without the command


async def test_create_json_prints_the_created_session_once(
    cli: Cli, client: Client, worker: Worker
) -> None:
    out = await asyncio.to_thread(cli.ok, "sessions", "create", "--project", "acme", "--json")
    created = json.loads(out)
    assert created == {
        "id": created["id"],
        "workflow_id": f"session-acme:{created['id']}",
        "project": "acme",
    }
    described = await client.get_workflow_handle(created["workflow_id"]).describe()
    assert described.workflow_type == "Session"


async def test_processes_show_an_archive_under_way_from_the_log(
    cli: Cli,
    client: Client,
    worker: Worker,
    engine,
    box: SecretBox,
    receiver: Receiver,
    tmp_path: Path,
) -> None:
    add_webhook(
        engine,
        box,
        alias="dms",
        type="archive",
        url=receiver.url("/arch"),
        retry_schedule=[0, 0.2, 600],
    )
    receiver.always("/arch", Reply(status=500))
    process_id = uuid.uuid4()
    request = {"id": str(process_id), "project": "acme", "sessions": [{"template": "t"}]}
    (tmp_path / "process.json").write_text(json.dumps(request))
    await asyncio.to_thread(cli.ok, "processes", "create", str(tmp_path / "process.json"))
    station = f"{process_id.hex}-1"
    await eventually(
        lambda: asyncio.to_thread(cli.run, "sessions", "show", station),
        lambda ran: ran[0] == 0,
    )
    await asyncio.to_thread(
        cli.ok, "sessions", "signal", station, "form_submitted", "--data", '{"form_data": {}}'
    )
    await wait_for_requests(receiver, 2, "/arch")  # the second attempt failed too
    shown = await eventually(
        lambda: asyncio.to_thread(cli.ok, "processes", "show", str(process_id)),
        lambda out: "archive -> dms: pending" in out and "attempt 1/" not in out,
    )
    assert shown.splitlines()[0].endswith(": archiving (every station submitted)")
    [line] = [line for line in shown.splitlines() if line.startswith("archive -> dms")]
    assert line == "archive -> dms: pending HTTP 500", shown
