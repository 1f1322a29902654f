"""Documents belong to a project, over HTTP against the real stack: another
project's reference is refused when named (at the API, and by the activity for a
signal sent any other way) and never delivered; uploads have a size limit (413
before anything is stored) and a quota per project; documents can be deleted."""

from __future__ import annotations

import asyncio
import hashlib
from collections.abc import AsyncIterator

import pytest
from sqlalchemy.engine import Engine
from temporalio.client import Client
from temporalio.worker import Worker

from activities.contracts import DeliveryStatus
from activities.store.crypto import SecretBox
from tests.api.conftest import TEMPORAL_UI, Api, free_port, loopback_only
from tests.helpers import add_webhook, eventually
from worker.api.server import start_api
from worker.devstack.receiver import Receiver
from worker.runtime.settings import Settings


def entry(ref: str) -> dict[str, str]:
    return {"name": "contract.pdf", "content_type": "application/pdf", "ref": ref}


def stored(api: Api) -> list[str]:
    root = api.settings.documents
    return sorted(p.name for p in root.rglob("*") if p.is_file()) if root.exists() else []


async def upload(http: object, data: bytes, **form: str) -> object:
    return await http.post(  # type: ignore[attr-defined]
        "/api/v1/documents", files={"file": ("contract.pdf", data, "application/pdf")}, data=form
    )


async def test_another_projects_document_is_refused_and_never_delivered(
    api: Api, client: Client, receiver: Receiver
) -> None:
    secret = b"%PDF acme's signed contract"
    add_webhook(api.engine, api.box, project="globex", type="archive", url=receiver.url("/a"))
    async with api.http(api.key("acme")) as acme, api.http(api.key("globex")) as globex:
        made = await upload(acme, secret)
        assert made.status_code == 201, made.text
        ref = made.json()["ref"]
        assert (await globex.post("/api/v1/sessions", json={"id": "squat1"})).status_code == 201
        url = "/api/v1/sessions/squat1/signals/form_submitted"
        named = await globex.post(url, json={"document": entry(ref)})
        assert named.status_code == 422, named.text
        free = await globex.post(url, json={"attachments": [entry("sha256:" + "0" * 64)]})
        assert free.status_code == 422
        # Another project's reference answers as a free one does.
        assert named.json()["detail"].replace(ref, "R") == free.json()["detail"].replace(
            "sha256:" + "0" * 64, "R"
        )
        state = (await globex.get("/api/v1/sessions/squat1")).json()
        assert state["status"] == "active" and len(state["events"]) == 1

        # A signal sent another way (the temporal CLI, an SDK) reaches the session;
        # the archive activity refuses the reference and sends nothing.
        handle = client.get_workflow_handle("session-globex:squat1")
        await handle.signal("form_submitted", {"document": entry(ref)})
        state = await eventually(
            lambda: globex.get("/api/v1/sessions/squat1"),
            lambda r: any(d["status"] == DeliveryStatus.FAILED for d in r.json()["deliveries"]),
        )
        [failed] = [d for d in state.json()["deliveries"] if d["status"] == "failed"]
        assert failed["event_type"] == "WHP_ARCHIVE" and "no document" in failed["error"]
        assert [r for r in receiver.requests if r.path == "/a"] == []

        # Its own project reads it, as an admin key naming that project does.
        own = await acme.post("/api/v1/sessions", json={"id": "own1"})
        assert own.status_code == 201
        sent = await acme.post(
            "/api/v1/sessions/own1/signals/form_submitted", json={"document": entry(ref)}
        )
        assert sent.status_code == 202, sent.text
    async with api.http(api.key(admin=True)) as admin:
        refused = await admin.post(
            "/api/v1/sessions/squat1/signals/form_submitted", json={"document": entry(ref)}
        )
        assert refused.status_code == 422


async def test_delete_a_document(api: Api) -> None:
    async with api.http(api.key("acme")) as acme, api.http(api.key("globex")) as globex:
        ref = (await upload(acme, b"%PDF to delete")).json()["ref"]
        assert (await globex.delete(f"/api/v1/documents/{ref}")).status_code == 404
        assert (await acme.delete(f"/api/v1/documents/{ref}")).status_code == 204
        assert (await acme.delete(f"/api/v1/documents/{ref}")).status_code == 404
        assert (await acme.delete("/api/v1/documents/not-a-ref")).status_code == 404
        assert stored(api) == []
        assert (await acme.post("/api/v1/sessions", json={"id": "after1"})).status_code == 201
        named = await acme.post(
            "/api/v1/sessions/after1/signals/form_submitted", json={"document": entry(ref)}
        )
        assert named.status_code == 422
    async with api.http(api.key(admin=True)) as admin:
        made = await upload(admin, b"%PDF admin", project="acme")
        assert made.status_code == 201 and made.json()["project"] == "acme"
        nameless = await upload(admin, b"%PDF admin")
        assert nameless.status_code == 422
        gone = await admin.delete(f"/api/v1/documents/{made.json()['ref']}?project=acme")
        assert gone.status_code == 204


async def test_an_upload_over_the_default_limit_is_413_before_it_is_stored(api: Api) -> None:
    data = b"%PDF" + b"x" * (26 << 20)
    async with api.http(api.key("acme")) as http:
        answer = await upload(http, data)
        assert answer.status_code == 413, answer.text
        assert answer.json()["detail"] == "a document is at most 25 MiB"
        assert (await upload(http, b"%PDF small")).status_code == 201
    assert len(stored(api)) == 1


@pytest.fixture
async def small(
    client: Client, settings: Settings, engine: Engine, box: SecretBox, worker: Worker
) -> AsyncIterator[Api]:
    """The API with a 1 KiB upload limit and a 2 KiB quota per project."""
    settings = settings.replace(
        temporal_address=client.service_client.config.target_host,
        max_upload_bytes=1024,
        document_quota_bytes=2048,
    )
    running = await start_api(
        settings=settings,
        engine=engine,
        box=box,
        client=client,
        host="127.0.0.1",
        port=free_port(),
        temporal_ui=TEMPORAL_UI,
        resolver=loopback_only,
    )
    yield Api(url=running.url, engine=engine, box=box, settings=settings)
    await running.stop()


async def test_the_upload_limit_and_the_quota_per_project(small: Api) -> None:
    async with small.http(small.key("acme")) as acme, small.http(small.key("globex")) as globex:
        over = await upload(acme, b"x" * 1025)
        assert over.status_code == 413 and over.json()["detail"] == "a document is at most 1 KiB"

        async def chunked() -> AsyncIterator[bytes]:
            yield b"--b\r\ncontent-disposition: form-data; name=file; filename=a\r\n\r\n"
            for _ in range(200):
                yield b"y" * 1024
                await asyncio.sleep(0)
            yield b"\r\n--b--\r\n"

        streamed = await acme.post(
            "/api/v1/documents",
            content=chunked(),
            headers={"content-type": "multipart/form-data; boundary=b"},
        )
        assert streamed.status_code == 413, streamed.text
        assert stored(small) == []
        for i in range(2):
            assert (await upload(acme, bytes([i]) * 1000)).status_code == 201
        full = await upload(acme, b"z" * 1000)
        assert full.status_code == 413 and "quota" in full.json()["detail"]
        again = await upload(acme, b"\x00" * 1000)  # already stored: it costs nothing
        assert again.status_code == 201
        assert (await upload(globex, b"z" * 1000)).status_code == 201  # its own quota
        ref = "sha256:" + hashlib.sha256(b"\x00" * 1000).hexdigest()
        assert (await acme.delete(f"/api/v1/documents/{ref}")).status_code == 204
        assert (await upload(acme, b"z" * 1000)).status_code == 201
