"""A platform's backend drives sessions and processes over the API, with the
JSON of the contract; the receiver gets what the workflow sends."""

from __future__ import annotations

import asyncio
import json
import uuid

from temporalio.client import Client
from temporalio.service import RPCError

from tests.api.conftest import Api
from tests.helpers import add_webhook, eventually, wait_for_requests
from tests.worker.cli import Cli
from worker.devstack.receiver import Receiver, Reply


async def test_create_signal_and_show_a_session(api: Api, receiver: Receiver) -> None:
    hook = add_webhook(
        api.engine, api.box, type="form_submitted", url=receiver.url("/s"), explicit=True
    )
    add_webhook(api.engine, api.box, type="session_created", url=receiver.url("/c"))
    request = {
        "template": "loan-application",
        "transaction_number": 17,
        "recipient": {"id": 1, "name": "client"},
        "labels": {"CUSTOMER_TAG": "CUSTOMER_VALUE"},
        "expires_in": 604800,
        "integrations": [{"type": "webhook", "uuid": str(hook)}],
    }
    async with api.http(api.key("acme")) as http:
        made = await http.post("/api/v1/sessions", json=request)
        assert made.status_code == 201, made.text
        started = made.json()
        session_id = started["id"]
        assert len(session_id) == 10 and started["workflow_id"] == f"session-acme:{session_id}"
        assert started["temporal_ui"].endswith(f"/workflows/session-acme:{session_id}")
        [created] = await wait_for_requests(receiver, 1, "/c")
        assert created.json()["session"]["labels"] == {"CUSTOMER_TAG": "CUSTOMER_VALUE"}

        sent = await http.post(
            f"/api/v1/sessions/{session_id}/signals/form_submitted",
            json={"client": {"ip": "203.0.113.7"}, "form_data": {"amount": 25000}},
        )
        assert sent.status_code == 202, sent.text
        [submitted] = await wait_for_requests(receiver, 1, "/s")
        assert submitted.json()["form_data"] == {"amount": 25000}
        assert submitted.json()["session"]["transaction_number"] == 17

        state = await eventually(
            lambda: http.get(f"/api/v1/sessions/{session_id}"),
            lambda r: {d["status"] for d in r.json()["deliveries"]} == {"delivered"},
        )
        body = state.json()
        assert body["status"] == "submitted" and body["project"] == "acme"
        assert [e["type"] for e in body["events"]][:2] == [
            "WHEF_SESSION_CREATED",
            "WHEF_CLIENT_FORM_SUBMITTED",
        ]

        bad = await http.post(
            f"/api/v1/sessions/{session_id}/signals/form_loaded", json={"client": "x"}
        )
        assert bad.status_code == 422 and "client" in bad.json()["detail"]
        unknown = await http.post(f"/api/v1/sessions/{session_id}/signals/explode", json={})
        assert unknown.status_code == 404 and "no signal 'explode'" in unknown.json()["detail"]
        missing = await http.get("/api/v1/sessions/nosuchsession")
        assert missing.status_code == 404
        assert missing.json()["detail"] == "no session nosuchsession"
        again = await http.post("/api/v1/sessions", json={"id": session_id})
        assert again.status_code == 409
        assert again.json()["detail"] == f"session {session_id} already exists"


async def test_unknown_or_disabled_integration_is_422_and_nothing_starts(
    api: Api, client: Client, receiver: Receiver
) -> None:
    off = add_webhook(
        api.engine,
        api.box,
        type="archive",
        url=receiver.url("/a"),
        explicit=True,
        enabled=False,
        disabled_reason="paused",
    )
    ghost = uuid.uuid4()
    async with api.http(api.key("acme")) as http:
        for uuid_, message in [
            (ghost, f"integration {ghost}: no such webhook in project 'acme'"),
            (off, "disabled: paused"),
        ]:
            session_id = uuid.uuid4().hex[:10]
            answer = await http.post(
                "/api/v1/sessions",
                json={"id": session_id, "integrations": [{"type": "webhook", "uuid": str(uuid_)}]},
            )
            assert answer.status_code == 422 and message in answer.json()["detail"]
            try:
                await client.get_workflow_handle(f"session-acme:{session_id}").describe()
            except RPCError:
                pass
            else:
                raise AssertionError("a session started")
        for bad in ({"resume": {}}, {"id": "no spaces"}, {"expires_in": -5}, {"labels": []}):
            answer = await http.post("/api/v1/sessions", json=bad)
            assert answer.status_code == 422, (bad, answer.text)


async def test_field_changed_answers_the_endpoints_values(
    api: Api, receiver: Receiver, cli: Cli
) -> None:
    add_webhook(api.engine, api.box, type="remote_data", url=receiver.url("/rd"))
    receiver.script(
        "/rd",
        Reply(body=b'[{"id": "customer_name", "value": "Dana Levi"}]'),
        Reply(status=500),
        Reply(status=500),
    )
    async with api.http(api.key("acme")) as http:
        session_id = (await http.post("/api/v1/sessions", json={})).json()["id"]
        change = {
            "client": {"ip": "203.0.113.7"},
            "change": {"id": "customer_id", "type": "text", "value": "C-1042"},
            "fields": [{"id": "customer_name", "type": "text", "value": ""}],
        }
        answer = await http.post(f"/api/v1/sessions/{session_id}/field-changed", json=change)
        assert answer.status_code == 200, answer.text
        assert answer.json() == [{"id": "customer_name", "value": "Dana Levi"}]
        [sent] = receiver.at("/rd")
        assert sent.json()["change"]["value"] == "C-1042"
        failed = await http.post(f"/api/v1/sessions/{session_id}/field-changed", json=change)
        assert failed.status_code == 424
        assert failed.json()["detail"].startswith("remote data from ")
        invalid = await http.post(f"/api/v1/sessions/{session_id}/field-changed", json={})
        assert invalid.status_code == 422

    # The command line makes the same call.
    receiver.script("/rd", Reply(body=b'[{"id": "customer_name", "value": "Noa"}]'))
    out = await asyncio.to_thread(
        cli.ok, "sessions", "field-changed", session_id, "--data", json.dumps(change), "--json"
    )
    assert json.loads(out) == [{"id": "customer_name", "value": "Noa"}]
    receiver.script("/rd", Reply(body=b'[{"id": "customer_name", "value": "Noa"}]'))
    out = await asyncio.to_thread(
        cli.ok, "sessions", "field-changed", session_id, "--data", json.dumps(change)
    )
    assert out.splitlines() == ["ID             VALUE", "customer_name  Noa"]
    code, err = await asyncio.to_thread(
        cli.fails, "sessions", "field-changed", session_id, "--data", "{}"
    )
    assert err.strip() == "hookflow: error: --data: change: Field required"


async def test_processes_start_and_take_signals(api: Api, receiver: Receiver) -> None:
    add_webhook(api.engine, api.box, type="session_created", url=receiver.url("/c"))
    async with api.http(api.key("acme")) as http:
        made = await http.post(
            "/api/v1/processes",
            json={
                "process_number": 51,
                "sessions": [
                    {"template": "loan-application", "recipient": {"id": 1, "name": "client"}},
                    {"template": "loan-approval", "recipient": {"id": 2, "name": "officer"}},
                ],
            },
        )
        assert made.status_code == 201, made.text
        process_id = made.json()["id"]
        await wait_for_requests(receiver, 1, "/c")
        state = await eventually(
            lambda: http.get(f"/api/v1/processes/{process_id}"),
            lambda r: r.json()["stations"][0]["status"] == "active",
        )
        assert [s["status"] for s in state.json()["stations"]] == ["active", "waiting"]
        sent = await http.post(
            f"/api/v1/processes/{process_id}/signals/form_submitted", json={"form_data": {"a": 1}}
        )
        assert sent.status_code == 202
        assert sent.json()["session"] == f"{uuid.UUID(process_id).hex}-1"
        await eventually(
            lambda: http.get(f"/api/v1/processes/{process_id}"),
            lambda r: [s["status"] for s in r.json()["stations"]] == ["submitted", "active"],
        )
        assert (await http.post("/api/v1/processes", json={"sessions": []})).status_code == 422
