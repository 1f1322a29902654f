"""A business process of three stations: each created in turn, one archive listing all."""

from __future__ import annotations

import io
import uuid
from collections.abc import Callable
from typing import Any

from sqlmodel import Session
from temporalio.client import Client, WorkflowHandle
from temporalio.worker import Worker

from activities.contracts import CreateProcess, ProcessState, ProcessStatus, session_workflow_id
from activities.files.documents import LocalDocumentStore
from activities.store.crypto import SecretBox
from activities.store.tables import Storage
from tests.helpers import add_webhook, eventually, wait_for_requests
from worker.devstack.receiver import Receiver
from worker.runtime.settings import Settings


async def wait_process(
    handle: WorkflowHandle[Any, ProcessState], check: Callable[[ProcessState], bool]
) -> ProcessState:
    return await eventually(lambda: handle.query("state", result_type=ProcessState), check)


def process_request(**extra: object) -> CreateProcess:
    return CreateProcess.model_validate(
        {
            "id": str(uuid.uuid4()),
            "project": "acme",
            "process_number": 51,
            "labels": {"DEAL": "D-1"},
            "sessions": [
                {
                    "template": "loan-application",
                    "recipient": {"name": "client", "phone": "+15551234567"},
                },
                {"template": "loan-approval", "recipient": {"name": "officer"}},
                {"template": "loan-countersign", "recipient": {"name": "manager"}},
            ],
            **extra,
        }
    )


async def test_three_stations_three_created_one_archive(
    client: Client, worker: Worker, settings: Settings, engine, box: SecretBox, receiver: Receiver
) -> None:
    add_webhook(engine, box, type="session_created", url=receiver.url("/created"))
    add_webhook(
        engine,
        box,
        type="archive",
        url=receiver.url("/archive"),
        explicit=True,
        templates=["loan-countersign"],
    )
    add_webhook(engine, box, type="storage_callback", url=receiver.url("/stored"))
    with Session(engine) as session:
        session.add(Storage(project="acme", path="{project}/{process_number}", zip=True))
        session.commit()
    store = LocalDocumentStore(settings.documents)
    signed = store.put(io.BytesIO(b"%PDF signed and locked"), project="acme")
    req = process_request()
    handle = await client.start_workflow(
        "BusinessProcess",
        req,
        id=req.workflow_id,
        task_queue=settings.task_queue,
        result_type=ProcessState,
    )
    for position in range(1, 4):
        created = await wait_for_requests(receiver, position, "/created")
        body = created[-1].json()
        assert body["session"]["id"] == req.station_id(position)
        assert body["session"]["reference"] == str(req.id)
        assert body["session"]["transaction_number"] == position
        assert body["session"]["labels"] == {"DEAL": "D-1"}
        state = await wait_process(
            handle, lambda s, p=position: s.stations[p - 1].status == "active"
        )
        assert [s.status for s in state.stations[position:]] == ["waiting"] * (3 - position)
        station = client.get_workflow_handle(
            session_workflow_id(req.project, req.station_id(position))
        )
        payload: dict[str, object] = {
            "client": {"ip": f"203.0.113.{position}"},
            "form_data": {f"step{position}": True},
        }
        if position == 3:
            payload["document"] = {
                "name": "signed.pdf",
                "content_type": "application/pdf",
                "ref": signed,
            }
        await station.signal("form_submitted", payload)

    result = await handle.result()
    assert result.status == ProcessStatus.ARCHIVED
    [archive] = await wait_for_requests(receiver, 1, "/archive")
    body = archive.json()
    assert body["event"]["type"] == "WHP_ARCHIVE"
    assert [s["id"] for s in body["sessions"]] == [req.station_id(n) for n in (1, 2, 3)]
    assert [s["recipient"]["name"] for s in body["sessions"]] == ["client", "officer", "manager"]
    assert body["sessions"][0]["recipient"]["phone"] == "+15551234567"
    assert [s["submission"]["ip"] for s in body["sessions"]] == [
        "203.0.113.1",
        "203.0.113.2",
        "203.0.113.3",
    ]
    assert body["form_data"] == {"step1": True, "step2": True, "step3": True}
    assert body["document"]["name"] == "signed.pdf" and body["document"]["size"] == 22
    assert len(receiver.at("/created")) == 3
    assert len(receiver.at("/archive")) == 1  # stations do not archive on their own
    [stored] = await wait_for_requests(receiver, 1, "/stored")
    assert stored.json()["storage"]["path"] == "acme/51.zip"
    assert stored.json()["storage"]["files"] == ["form_data.json", "signed.pdf"]


async def test_expired_station_stops_the_process(
    client: Client, worker: Worker, settings: Settings, engine, box: SecretBox, receiver: Receiver
) -> None:
    add_webhook(engine, box, type="archive", url=receiver.url("/archive"))
    add_webhook(engine, box, type="session_expired", url=receiver.url("/expired"))
    req = process_request()
    handle = await client.start_workflow(
        "BusinessProcess",
        req,
        id=req.workflow_id,
        task_queue=settings.task_queue,
        result_type=ProcessState,
    )
    await wait_process(handle, lambda s: s.stations[0].status == "active")
    await client.get_workflow_handle(session_workflow_id(req.project, req.station_id(1))).signal(
        "form_submitted", {}
    )
    await wait_process(handle, lambda s: s.stations[1].status == "active")
    await client.get_workflow_handle(session_workflow_id(req.project, req.station_id(2))).signal(
        "expire"
    )
    result = await handle.result()
    assert result.status == ProcessStatus.EXPIRED
    assert [s.status for s in result.stations] == ["submitted", "expired", "waiting"]
    assert len(await wait_for_requests(receiver, 1, "/expired")) == 1
    assert receiver.at("/archive") == []


async def test_a_terminated_or_deleted_station_stops_its_process(
    client: Client, worker: Worker, settings: Settings
) -> None:
    for how, end in (("was terminated", "terminate"), ("ended deleted", "delete")):
        req = process_request()
        handle = await client.start_workflow(
            "BusinessProcess",
            req,
            id=req.workflow_id,
            task_queue=settings.task_queue,
            result_type=ProcessState,
        )
        await wait_process(handle, lambda s: s.stations[0].status == "active")
        station = client.get_workflow_handle(session_workflow_id(req.project, req.station_id(1)))
        if end == "terminate":
            await station.terminate("by an operator")
        else:
            await station.signal("delete")
        ended = await handle.result()
        assert ended.status == ProcessStatus.STOPPED
        assert any(how in problem for problem in ended.problems), ended.problems
