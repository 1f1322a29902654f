"""Session and process ids are per project: another project may take the same
id, each reads its own back, and nothing tells one project that another's id
exists. Sessions started under the old form (``session-<id>``) are still found,
signalled and redelivered by their own project only."""

from __future__ import annotations

import asyncio
import json
import uuid
from typing import Any

import httpx
from temporalio.client import Client, WorkflowExecutionDescription, WorkflowHandle
from temporalio.service import RPCError

from activities.contracts import CreateProcess, CreateSession, Station
from tests.api.conftest import Api
from tests.api.test_pane_security import sign_in
from tests.helpers import add_webhook, eventually, new_id, wait_for_requests
from tests.worker.cli import Cli
from worker.devstack.receiver import Receiver, Reply
from worker.services.ids import forget_legacy, may_run_legacy
from workflows.names import initial_attributes


async def _describe(handle: WorkflowHandle[Any, Any]) -> WorkflowExecutionDescription | None:
    try:
        return await handle.describe()
    except RPCError:  # not started yet
        return None


def _shown(answer: object, session_id: str) -> object:
    """An answer with the id asked about blanked, to compare two answers."""
    return json.loads(json.dumps(answer).replace(session_id, "ID"))


async def test_two_projects_use_one_id_and_each_reads_its_own(
    api: Api, receiver: Receiver, cli: Cli
) -> None:
    add_webhook(api.engine, api.box, project="acme", type="session_created", url=receiver.url("/a"))
    add_webhook(
        api.engine, api.box, project="globex", type="session_created", url=receiver.url("/g")
    )
    add_webhook(api.engine, api.box, project="acme", type="form_loaded", url=receiver.url("/l"))
    session_id = new_id()
    async with api.http(api.key("acme")) as acme, api.http(api.key("globex")) as globex:
        made = await acme.post("/api/v1/sessions", json={"id": session_id})
        assert made.status_code == 201, made.text
        assert made.json()["workflow_id"] == f"session-acme:{session_id}"
        again = await globex.post("/api/v1/sessions", json={"id": session_id})
        assert again.status_code == 201, again.text  # not 409: the id is free in globex
        assert again.json()["workflow_id"] == f"session-globex:{session_id}"
        # Each project's own session answers its own signal and shows its own events.
        signalled = await globex.post(f"/api/v1/sessions/{session_id}/signals/form_loaded")
        assert signalled.status_code == 202
        await wait_for_requests(receiver, 1, "/a")
        await wait_for_requests(receiver, 1, "/g")
        mine = (await acme.get(f"/api/v1/sessions/{session_id}")).json()
        theirs = await eventually(
            lambda: globex.get(f"/api/v1/sessions/{session_id}"),
            lambda r: len(r.json()["events"]) == 2,
        )
        assert (mine["project"], len(mine["events"])) == ("acme", 1)
        assert theirs.json()["project"] == "globex"
        # The delivery log of one project's session is its own.
        [logged] = (await acme.get("/api/v1/deliveries", params={"session": session_id})).json()
        assert logged["project"] == "acme"
        assert [d["webhook_alias"] for d in mine["deliveries"]] == [logged["webhook_alias"]]
        # An admin key names the project; without one, the id is ambiguous.
        async with api.http(api.key(admin=True)) as admin:
            named = await admin.get(f"/api/v1/sessions/{session_id}?project=globex")
            assert (named.json()["project"], len(named.json()["events"])) == ("globex", 2)
            unnamed = await eventually(
                lambda: admin.get(f"/api/v1/sessions/{session_id}"),
                lambda r: r.status_code == 409,
            )
            assert "acme, globex" in unnamed.json()["detail"]

    # The command line signals and reads each the same way.
    await asyncio.to_thread(
        cli.ok, "sessions", "signal", session_id, "form_loaded", "--project", "acme"
    )
    await wait_for_requests(receiver, 1, "/l")
    for project, events in (("acme", 2), ("globex", 2)):
        out = await asyncio.to_thread(
            cli.ok, "sessions", "show", session_id, "--project", project, "--json"
        )
        assert (json.loads(out)["project"], len(json.loads(out)["events"])) == (project, events)
    code, err = await asyncio.to_thread(cli.fails, "sessions", "show", session_id)
    assert f"session {session_id} is in projects acme, globex" in err
    assert len(err.strip().splitlines()) == 1


async def test_another_projects_id_answers_as_an_unknown_one(api: Api, client: Client) -> None:
    taken, unknown = new_id(), new_id()
    legacy = new_id()
    await _start_old_form(client, api, legacy, project="acme")
    async with api.http(api.key("acme")) as acme, api.http(api.key("globex")) as globex:
        assert (await acme.post("/api/v1/sessions", json={"id": taken})).status_code == 201
        for ask in (
            lambda sid: globex.get(f"/api/v1/sessions/{sid}"),
            lambda sid: globex.post(f"/api/v1/sessions/{sid}/signals/form_loaded"),
            lambda sid: globex.post(
                f"/api/v1/sessions/{sid}/field-changed", json={"change": {"id": "f", "value": 1}}
            ),
        ):
            none = await ask(unknown)
            for sid in (taken, legacy):  # a new-form and an old-form session of acme
                answer = await ask(sid)
                assert answer.status_code == none.status_code == 404
                assert _shown(answer.json(), sid) == _shown(none.json(), unknown)
        # Signalled through globex's doors, acme's sessions heard nothing.
        for sid in (taken, legacy):
            state = (await acme.get(f"/api/v1/sessions/{sid}")).json()
            assert [e["type"] for e in state["events"]] == ["WHEF_SESSION_CREATED"]
        # globex may take either id.
        for sid in (taken, legacy):
            assert (await globex.post("/api/v1/sessions", json={"id": sid})).status_code == 201
        # acme may not take its own old-form id again while it runs.
        answer = await acme.post("/api/v1/sessions", json={"id": legacy})
        assert answer.status_code == 409, answer.text


async def test_an_ended_session_stays_its_projects_after_another_reuses_the_id(
    api: Api, client: Client
) -> None:
    session_id = new_id()
    async with api.http(api.key("acme")) as acme, api.http(api.key("globex")) as globex:
        assert (await acme.post("/api/v1/sessions", json={"id": session_id})).status_code == 201
        assert (await acme.post(f"/api/v1/sessions/{session_id}/signals/delete")).status_code == 202
        await client.get_workflow_handle(f"session-acme:{session_id}").result()
        assert (await globex.post("/api/v1/sessions", json={"id": session_id})).status_code == 201
        ended = await acme.get(f"/api/v1/sessions/{session_id}")
        assert ended.status_code == 200, ended.text
        assert (ended.json()["project"], ended.json()["status"]) == ("acme", "deleted")
        running = (await globex.get(f"/api/v1/sessions/{session_id}")).json()
        assert (running["project"], running["status"]) == ("globex", "active")


async def _start_old_form(client: Client, api: Api, session_id: str, *, project: str) -> None:
    """A session as hookflow started them before ids were per project: before
    this process looked for old-form sessions (it believes "none" for a while)."""
    req = CreateSession(id=session_id, project=project)
    await client.start_workflow(
        "Session",
        req,
        id=f"session-{session_id}",
        task_queue=api.settings.task_queue,
        search_attributes=initial_attributes(
            project=project, process_id=str(req.process_id), session_id=session_id, template=None
        ),
    )

    async def counted() -> bool:  # (visibility lags a start by a moment)
        forget_legacy()
        return await may_run_legacy(client, "session", project)

    await eventually(counted, bool)


async def test_a_project_without_old_form_sessions_is_asked_once(api: Api, client: Client) -> None:
    """Creating sessions in a burst counts the project's old-form sessions once
    (not one describe per id); a session started under the old form is seen."""
    forget_legacy()
    assert not await may_run_legacy(client, "session", "initech")
    assert not await may_run_legacy(client, "session", "initech")  # (believed, not asked)
    legacy = new_id()
    await _start_old_form(client, api, legacy, project="initech")
    async with api.http(api.key("initech")) as initech:
        answer = await initech.post("/api/v1/sessions", json={"id": legacy})
        assert answer.status_code == 409, answer.text


async def test_an_old_form_session_is_shown_signalled_and_redelivered(
    api: Api, client: Client, receiver: Receiver
) -> None:
    receiver.script("/r", Reply(status=500))
    add_webhook(
        api.engine,
        api.box,
        project="acme",
        type="session_created",
        url=receiver.url("/r"),
        retry_schedule=[0],
    )
    add_webhook(api.engine, api.box, project="acme", type="form_loaded", url=receiver.url("/l"))
    session_id = new_id()
    await _start_old_form(client, api, session_id, project="acme")
    async with api.http(api.key("acme")) as acme:
        shown = await acme.get(f"/api/v1/sessions/{session_id}")
        assert shown.status_code == 200 and shown.json()["project"] == "acme"
        sent = await acme.post(f"/api/v1/sessions/{session_id}/signals/form_loaded")
        assert sent.status_code == 202, sent.text
        [loaded] = await wait_for_requests(receiver, 1, "/l")
        assert loaded.json()["session"]["id"] == session_id
        failed = await eventually(
            lambda: acme.get("/api/v1/deliveries", params={"session": session_id}),
            lambda r: any(d["status"] == "failed" for d in r.json()),
        )
        [row] = [d for d in failed.json() if d["status"] == "failed"]
        receiver.always("/r", Reply(status=200))
        again = await acme.post(f"/api/v1/deliveries/{row['id']}/redeliver?wait=true")
        assert again.status_code == 200, again.text
        # The running session sent it again itself, under its old-form id.
        assert again.json()["workflow_ids"] == [f"session-{session_id}"]
        assert again.json()["delivered"] == 1, again.text
        state = (await acme.get(f"/api/v1/sessions/{session_id}")).json()
        assert {d["event_type"]: d["status"] for d in state["deliveries"]} == {
            "WHEF_SESSION_CREATED": "delivered",
            "WHEF_CLIENT_FORM_LOADED": "delivered",
        }


async def test_process_stations_have_per_project_ids(api: Api, client: Client) -> None:
    process_id = str(uuid.uuid4())
    body = {"id": process_id, "sessions": [{"template": "a"}, {"template": "b"}]}
    async with api.http(api.key("acme")) as acme, api.http(api.key("globex")) as globex:
        for http, project in ((acme, "acme"), (globex, "globex")):
            made = await http.post("/api/v1/processes", json=body)
            assert made.status_code == 201, made.text
            assert made.json()["workflow_id"] == f"process-{project}:{process_id}"
        station = f"{uuid.UUID(process_id).hex}-1"
        for project in ("acme", "globex"):
            handle = client.get_workflow_handle(f"session-{project}:{station}")
            described = await eventually(lambda h=handle: _describe(h), lambda d: d is not None)
            assert described is not None and described.workflow_type == "Session"
        # Signalled through acme's process, acme's station moves on; globex's waits.
        sent = await acme.post(f"/api/v1/processes/{process_id}/signals/form_submitted")
        assert sent.status_code == 202, sent.text
        mine = await eventually(
            lambda: acme.get(f"/api/v1/processes/{process_id}"),
            lambda r: r.json()["stations"][0]["status"] == "submitted",
        )
        assert mine.json()["project"] == "acme"
        theirs = (await globex.get(f"/api/v1/processes/{process_id}")).json()
        assert theirs["project"] == "globex"
        assert [s["status"] for s in theirs["stations"]] == ["active", "waiting"]


async def test_an_old_form_process_is_its_projects_only(api: Api, client: Client) -> None:
    process_id, unknown = uuid.uuid4(), uuid.uuid4()
    req = CreateProcess(id=process_id, project="acme", sessions=[Station(template="a")])
    await client.start_workflow(
        "BusinessProcess",
        req,
        id=f"process-{process_id}",  # as processes were started before ids were per project
        task_queue=api.settings.task_queue,
        search_attributes=initial_attributes(project="acme", process_id=str(process_id)),
    )
    async with api.http(api.key("acme")) as acme, api.http(api.key("globex")) as globex:
        shown = await eventually(
            lambda: acme.get(f"/api/v1/processes/{process_id}"),
            lambda r: r.status_code == 200 and r.json()["stations"][0]["status"] == "active",
        )
        assert shown.json()["project"] == "acme"
        sent = await acme.post(f"/api/v1/processes/{process_id}/signals/form_loaded")
        assert sent.status_code == 202, sent.text
        answer = await globex.get(f"/api/v1/processes/{process_id}")
        none = await globex.get(f"/api/v1/processes/{unknown}")
        assert answer.status_code == none.status_code == 404
        assert _shown(answer.json(), str(process_id)) == _shown(none.json(), str(unknown))


async def test_the_pane_shows_the_signed_in_projects_session(api: Api, receiver: Receiver) -> None:
    add_webhook(
        api.engine, api.box, project="globex", type="session_created", url=receiver.url("/g")
    )
    session_id, unknown = new_id(), new_id()
    async with api.http(api.key("acme")) as acme, api.http(api.key("globex")) as globex:
        assert (await acme.post("/api/v1/sessions", json={"id": session_id})).status_code == 201
        assert (await globex.post("/api/v1/sessions", json={"id": session_id})).status_code == 201
    await wait_for_requests(receiver, 1, "/g")
    async with httpx.AsyncClient(base_url=api.url) as pane:
        assert (await sign_in(pane, api.key("globex"))).status_code == 303
        page = await pane.get(f"/sessions/{session_id}")
        assert page.status_code == 200 and "Project <b>globex</b>" in page.text
        listed = await eventually(lambda: pane.get("/deliveries"), lambda r: session_id in r.text)
        assert f'href="/sessions/{session_id}?project=globex"' in listed.text
        # Asking for acme's session from globex's pane is refused without looking.
        other = await pane.get(f"/sessions/{session_id}?project=acme")
        assert other.status_code == 403
        none = await pane.get(f"/sessions/{unknown}")
        assert none.status_code == 404
