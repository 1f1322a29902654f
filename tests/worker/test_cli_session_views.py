"""``sessions show`` of ended sessions, ``sessions list``, ``sessions field-changed``
and durations in seconds, against the dev server and a running worker."""

from __future__ import annotations

import asyncio
import json
import uuid
from datetime import UTC, datetime, timedelta
from pathlib import Path

from temporalio.client import Client
from temporalio.worker import Worker

from activities.store.crypto import SecretBox
from tests.helpers import add_webhook, eventually, wait_for_requests
from tests.worker.cli import Cli
from tests.worker.session_commands import cli_fixture, client_fixture  # noqa: F401
from worker.devstack.receiver import Receiver
from worker.runtime.assembly import running_worker
from worker.runtime.settings import Settings


async def test_ended_sessions_are_shown_and_listed_by_project_status_and_template(
    cli: Cli, client: Client, worker: Worker, engine, box: SecretBox, receiver: Receiver
) -> None:
    project = f"p{uuid.uuid4().hex[:8]}"
    add_webhook(
        engine, box, project=project, alias="crm", type="session_created", url=receiver.url("/c")
    )

    def create(template: str) -> str:
        out = cli.ok("sessions", "create", "--project", project, "--template", template)
        return out.strip()

    ended = await asyncio.to_thread(create, "loan-application")
    running = await asyncio.to_thread(create, "loan-application")
    other = await asyncio.to_thread(create, "loan-approval")
    await wait_for_requests(receiver, 3, "/c")
    await asyncio.to_thread(cli.ok, "sessions", "signal", ended, "delete")
    await client.get_workflow_handle(f"session-{project}:{ended}").result()

    shown = await asyncio.to_thread(cli.ok, "sessions", "show", ended)
    headline, header, row = shown.splitlines()[:3]
    assert headline.startswith(f"session {ended} ({project}): deleted, 2 events; ended 20")
    assert row.split()[:6] == ["1", "WHEF_SESSION_CREATED", "crm", "delivered", "1", "200"]
    state = json.loads(await asyncio.to_thread(cli.ok, "sessions", "show", ended, "--json"))
    assert state["status"] == "deleted" and state["sequence"] == 2

    def listed(*args: str) -> list[str]:
        out = cli.ok("sessions", "list", "--project", project, *args, "--json")
        return sorted(s["id"] for s in json.loads(out))

    async def eventually_listed(*args: str) -> list[str]:  # visibility lags a little
        return await eventually(
            lambda: asyncio.to_thread(listed, *args), lambda ids: len(ids) > 0, timeout=15
        )

    assert await eventually_listed() == sorted([ended, running, other])
    assert await eventually_listed("--template", "loan-application") == sorted([ended, running])
    assert await eventually_listed("--status", "deleted") == [ended]
    assert await eventually_listed("--status", "active", "--template", "loan-approval") == [other]
    table = await asyncio.to_thread(cli.ok, "sessions", "list", "--project", project)
    ended_row = next(line for line in table.splitlines() if line.startswith(ended))
    assert ended_row.split()[1:5] == [project, "loan-application", "deleted", "completed"]
    code, err = await asyncio.to_thread(cli.fails, "sessions", "list", "--project", 'a" OR "1')
    assert code == 1 and err.strip() == "hookflow: error: 'a\" OR \"1' is not a valid project"


async def test_a_terminated_session_is_shown_from_the_delivery_log(
    cli: Cli, client: Client, worker: Worker, engine, box: SecretBox, receiver: Receiver
) -> None:
    project = f"p{uuid.uuid4().hex[:8]}"
    hook = add_webhook(
        engine, box, project=project, alias="erp", type="session_created", url=receiver.url("/t")
    )
    session_id = (
        await asyncio.to_thread(cli.ok, "sessions", "create", "--project", project)
    ).strip()
    await wait_for_requests(receiver, 1, "/t")
    handle = client.get_workflow_handle(f"session-{project}:{session_id}")
    await eventually(
        lambda: asyncio.to_thread(cli.ok, "deliveries", "list", "--session", session_id, "--json"),
        lambda out: bool(json.loads(out)) and json.loads(out)[0]["status"] == "delivered",
    )
    await handle.terminate("operator")
    shown = await asyncio.to_thread(cli.ok, "sessions", "show", session_id)
    headline, _header, row = shown.splitlines()
    assert headline.startswith(f"session {session_id}: workflow terminated 20")
    assert headline.endswith("; 1 delivery in the delivery log")
    assert row.split()[:6] == ["1", "WHEF_SESSION_CREATED", "erp", "delivered", "1", "200"]

    # The delivery log names the webhook by its alias.
    listed = await asyncio.to_thread(cli.ok, "deliveries", "list", "--session", session_id)
    delivery_id, _session, _seq, _event, alias = listed.splitlines()[1].split()[:5]
    assert alias == "erp"
    shown = await asyncio.to_thread(cli.ok, "deliveries", "show", delivery_id)
    assert ["webhook", "erp", f"({hook})"] in [line.split() for line in shown.splitlines()]


async def test_expires_in_takes_seconds(cli: Cli, client: Client, worker: Worker) -> None:
    before = datetime.now(UTC)
    session_id = (
        await asyncio.to_thread(
            cli.ok, "sessions", "create", "--project", "acme", "--expires-in", "3600"
        )
    ).strip()
    state = json.loads(await asyncio.to_thread(cli.ok, "sessions", "show", session_id, "--json"))
    expires = datetime.fromisoformat(state["expires_at"])
    assert timedelta(minutes=59) < expires - before < timedelta(minutes=61)
    code, err = await asyncio.to_thread(
        cli.fails, "sessions", "create", "--project", "acme", "--expires-in", "soon"
    )
    assert code == 1 and err.startswith("hookflow: error: --expires-in: 'soon' is not a duration")


async def test_the_process_example_in_help_starts_a_process(
    cli: Cli, client: Client, worker: Worker, tmp_path: Path
) -> None:
    shown = await asyncio.to_thread(cli.ok, "processes", "create", "--help")
    example = json.loads(shown[shown.index("{") : shown.rindex("}") + 1])
    assert [s["template"] for s in example["sessions"]] == ["loan-application", "loan-approval"]
    del example["id"]  # made up when absent
    request = tmp_path / "process.json"
    request.write_text(json.dumps(example))
    process_id = uuid.UUID(
        (await asyncio.to_thread(cli.ok, "processes", "create", str(request))).strip()
    )
    described = await client.get_workflow_handle(f"process-acme:{process_id}").describe()
    assert described.workflow_type == "BusinessProcess"


async def test_an_archived_process_shows_without_a_worker(
    cli: Cli, client: Client, settings: Settings, engine, box: SecretBox, tmp_path: Path
) -> None:
    process_id, project = uuid.uuid4(), f"p{uuid.uuid4().hex[:8]}"
    request = tmp_path / "process.json"
    request.write_text(
        json.dumps(
            {
                "id": str(process_id),
                "project": project,
                "sessions": [{"template": "loan-application"}, {"template": "loan-approval"}],
            }
        )
    )
    async with running_worker(client, settings, engine=engine, box=box):
        await asyncio.to_thread(cli.ok, "processes", "create", str(request))
        for position in (1, 2):
            station = f"{process_id.hex}-{position}"
            await eventually(
                lambda station=station: asyncio.to_thread(
                    cli.run, "sessions", "signal", station, "form_submitted"
                ),
                lambda result: result[0] == 0,
            )
        await client.get_workflow_handle(f"process-{project}:{process_id}").result()
    shown = await asyncio.to_thread(cli.ok, "processes", "show", str(process_id))
    lines = shown.splitlines()
    assert lines[0].endswith(": archived")
    assert [line.split()[-1] for line in lines[2:4]] == ["submitted", "submitted"]
