"""The delivery log over the API: filters, attempts, redelivery of one and of a
window (in order per stream); the command line's window redelivery too."""

from __future__ import annotations

import asyncio
import json
from datetime import UTC, datetime, timedelta

from tests.api.conftest import Api
from tests.helpers import add_webhook, eventually, wait_for_requests
from tests.worker.cli import Cli
from worker.devstack.receiver import Receiver, Reply


async def _failed_sessions(api: Api, receiver: Receiver, count: int, signals: int) -> list[str]:
    """Sessions whose first delivery to /r fails (two quick attempts), the rest
    of each stream held behind it in the session."""
    receiver.always("/r", Reply(status=500))
    sessions = []
    async with api.http(api.key("acme")) as http:
        for _ in range(count):
            session_id = (await http.post("/api/v1/sessions", json={})).json()["id"]
            for n in range(signals):
                await http.post(
                    f"/api/v1/sessions/{session_id}/signals/storage_completed",
                    json={"storage": {"n": n}},
                )
            sessions.append(session_id)
        await eventually(
            lambda: http.get("/api/v1/deliveries?status=failed&limit=1000"),
            lambda r: len(r.json()) == count,
            timeout=60,
        )
        # The session records what it holds behind each failure in the log too.
        await eventually(
            lambda: http.get("/api/v1/deliveries?status=held&limit=1000"),
            lambda r: len(r.json()) == count * (signals - 1),
            timeout=60,
        )
    return sessions


async def test_list_filter_show_and_redeliver_one(api: Api, receiver: Receiver) -> None:
    hook = add_webhook(
        api.engine,
        api.box,
        alias="dw",
        type="storage_callback",
        url=receiver.url("/r"),
        retry_schedule=[0, 0.2],
    )
    [session_id] = await _failed_sessions(api, receiver, 1, 2)
    async with api.http(api.key("acme")) as http:
        listed = (await http.get(f"/api/v1/deliveries?session={session_id}&webhook=dw")).json()
        # #3 is held behind it: in the log too, as the session holds it.
        listed.sort(key=lambda d: d["sequence"])
        assert [(d["sequence"], d["status"]) for d in listed] == [(2, "failed"), (3, "held")]
        first = listed[0]
        assert first["status"] == "failed" and first["attempts"] == 2
        assert first["webhook_alias"] == "dw" and first["webhook_id"] == str(hook)
        assert first["status_code"] == 500 and first["latency_ms"] is not None
        assert (await http.get("/api/v1/deliveries?status=delivered")).json() == []
        later = (datetime.now(UTC) + timedelta(minutes=1)).isoformat()
        assert (await http.get("/api/v1/deliveries", params={"since": later})).json() == []
        assert len((await http.get("/api/v1/deliveries", params={"until": later})).json()) == 2

        shown = (await http.get(f"/api/v1/deliveries/{first['id']}")).json()
        assert [a["outcome"] for a in shown["attempt_log"]] == ["retrying", "failed"]
        assert shown["envelope"]["event"]["id"] == first["event_id"]

        receiver.always("/r", Reply(status=200))
        started = await http.post(f"/api/v1/deliveries/{first['id']}/redeliver")
        assert started.status_code == 202 and len(started.json()["workflow_ids"]) == 1
        # The session sends it, then the one held behind it, in order.
        delivered = await eventually(
            lambda: http.get(f"/api/v1/deliveries?session={session_id}&status=delivered"),
            lambda r: len(r.json()) == 2,
        )
        assert sorted(d["sequence"] for d in delivered.json()) == [2, 3]
        again = receiver.at("/r")[-2:]
        assert [r.headers["webhook-id"] for r in again][0] == first["event_id"]
        assert [r.json()["event"]["sequence"] for r in again] == [2, 3]
        waited = await http.post(f"/api/v1/deliveries/{first['id']}/redeliver?wait=true")
        assert waited.status_code == 200
        assert waited.json() | {"workflow_ids": []} == {
            "total": 1,
            "workflow_ids": [],
            "waited": True,
            "delivered": 1,
            "failed": 0,
            "errors": [],
        }
        assert (await http.post("/api/v1/deliveries/nope/redeliver")).status_code == 404


async def test_redeliver_a_window_keeps_order_per_stream(api: Api, receiver: Receiver) -> None:
    add_webhook(
        api.engine,
        api.box,
        alias="dw",
        type="storage_callback",
        url=receiver.url("/r"),
        retry_schedule=[0, 0.1],
    )
    sessions = await _failed_sessions(api, receiver, 3, 3)
    receiver.always("/r", Reply(status=200))
    before = len(receiver.at("/r"))
    async with api.http(api.key("acme")) as http:
        empty = await http.post(
            "/api/v1/deliveries/redeliver",
            json={"webhook": "dw", "until": "2000-01-01T00:00:00Z"},
        )
        assert empty.status_code == 404
        inverted = await http.post(
            "/api/v1/deliveries/redeliver",
            json={"webhook": "dw", "since": "2030-01-01T00:00:00", "until": "2029-01-01T00:00:00"},
        )
        assert inverted.status_code == 422
        done = await http.post(
            "/api/v1/deliveries/redeliver?wait=true",
            json={"webhook": "dw", "status": "failed", "since": "2000-01-01T00:00:00Z"},
        )
        assert done.status_code == 200, done.text
        summary = done.json()
        # One failed delivery per stream; each session sends it, then the two held behind it.
        assert (summary["total"], summary["delivered"], summary["failed"]) == (3, 3, 0)
        assert len(summary["workflow_ids"]) == 3  # one per (session, webhook) stream
        assert (await http.get("/api/v1/deliveries?status=failed")).json() == []
    await wait_for_requests(receiver, before + 9, "/r")
    resent = receiver.at("/r")[before:]
    for session_id in sessions:
        mine = [r.json() for r in resent if r.json()["session"]["id"] == session_id]
        assert [m["event"]["sequence"] for m in mine] == [2, 3, 4]


async def test_cli_redelivers_a_window_and_lists_by_project(
    api: Api, cli: Cli, receiver: Receiver
) -> None:
    add_webhook(
        api.engine,
        api.box,
        alias="dw",
        type="storage_callback",
        url=receiver.url("/r"),
        retry_schedule=[0, 0.1],
    )
    add_webhook(
        api.engine, api.box, project="other", alias="dw", type="archive", url=receiver.url("/o")
    )
    [session_id] = await _failed_sessions(api, receiver, 1, 2)
    listed = json.loads(
        await asyncio.to_thread(
            cli.ok, "deliveries", "list", "--webhook", "dw", "--project", "acme", "--json"
        )
    )
    assert {d["session_id"] for d in listed} == {session_id}
    assert sorted(d["status"] for d in listed) == ["failed", "held"]
    code, err = await asyncio.to_thread(cli.fails, "deliveries", "list", "--webhook", "dw")
    assert "alias 'dw' is used in several projects" in err
    receiver.always("/r", Reply(status=200))
    code, out, err = await asyncio.to_thread(
        cli.run,
        "deliveries",
        "redeliver",
        "--webhook",
        "dw",
        "--project",
        "acme",
        "--status",
        "failed",
        "--since",
        "1h",
    )
    assert code == 0, err
    assert out.startswith("1 delivered, 0 failed (session-")  # through the session itself
    assert "redelivering: 1/1 (0 failed)" in err
    resent = await wait_for_requests(receiver, 4, "/r")  # two failed attempts, then #2 and #3
    assert [r.json()["event"]["sequence"] for r in resent[-2:]] == [2, 3]
    code, err = await asyncio.to_thread(
        cli.fails,
        "deliveries",
        "redeliver",
        "--webhook",
        "dw",
        "--project",
        "acme",
        "--since",
        "soon",
    )
    assert err.strip() == (
        "hookflow: error: 'soon' is neither a time (ISO 8601) nor a duration (24h)"
    )
    code, err = await asyncio.to_thread(
        cli.fails, "deliveries", "redeliver", "--webhook", "dw", "--project", "acme"
    )
    assert "no failed deliveries to dw in that window" in err
