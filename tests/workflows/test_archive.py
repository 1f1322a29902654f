"""Archives carry their documents; nothing big ever enters workflow history."""

from __future__ import annotations

import base64
import hashlib
import io
import os

from sqlmodel import Session
from temporalio.client import Client
from temporalio.worker import Worker

from activities.contracts import DeliveryStatus, FailureType
from activities.files.documents import LocalDocumentStore
from activities.log.attempts import attempts_of, list_deliveries
from activities.store.crypto import SecretBox
from tests.helpers import add_webhook, start, wait_for_requests, wait_state
from worker.devstack.receiver import Receiver
from worker.runtime.settings import Settings


async def test_archive_of_a_20_mb_pdf_keeps_history_small(
    client: Client, worker: Worker, settings: Settings, engine, box: SecretBox, receiver: Receiver
) -> None:
    store = LocalDocumentStore(settings.documents)
    pdf = b"%PDF-1.7\n" + os.urandom(20 * 1024 * 1024)
    contract = store.put(io.BytesIO(pdf), project="acme")
    photo = store.put(io.BytesIO(b"\x89PNG small attachment"), project="acme")
    add_webhook(engine, box, type="archive", url=receiver.url("/archive"), timeout=60)
    add_webhook(engine, box, type="form_submitted", url=receiver.url("/submitted"))
    handle = await start(client, settings, template="loan")
    await handle.signal(
        "form_submitted",
        {
            "client": {"ip": "203.0.113.7"},
            "form_data": {"amount": 25000},
            "document": {
                "name": "contract.pdf",
                "content_type": "application/pdf",
                "ref": contract,
            },
            "attachments": [{"name": "id.png", "content_type": "image/png", "ref": photo}],
        },
    )
    [archive] = await wait_for_requests(receiver, 1, "/archive", timeout=60)
    body = archive.json()
    document = body["document"]
    assert {k: document[k] for k in ("name", "content_type", "size", "sha256")} == {
        "name": "contract.pdf",
        "content_type": "application/pdf",
        "size": len(pdf),
        "sha256": hashlib.sha256(pdf).hexdigest(),
    }
    assert base64.b64decode(document["content"]) == pdf
    assert base64.b64decode(body["attachments"][0]["content"]) == b"\x89PNG small attachment"
    # Each file is sent once: the session entry names it by reference.
    assert body["sessions"][0]["document"] == {
        "name": "contract.pdf",
        "content_type": "application/pdf",
        "ref": contract,
    }
    # The submitted notification names the files by reference only.
    [submitted] = await wait_for_requests(receiver, 1, "/submitted")
    assert submitted.json()["document"] == {
        "name": "contract.pdf",
        "content_type": "application/pdf",
        "ref": contract,
    }
    await wait_state(
        handle,
        lambda s: (
            all(d.status == DeliveryStatus.DELIVERED for d in s.deliveries)
            and len(s.deliveries) == 2
        ),
    )
    history = await handle.fetch_history()
    size = sum(event.ByteSize() for event in history.events)
    assert size < 64 * 1024, f"history is {size} bytes"


async def test_missing_document_fails_the_archive_clearly(
    client: Client, worker: Worker, settings: Settings, engine, box: SecretBox, receiver: Receiver
) -> None:
    add_webhook(engine, box, type="archive", url=receiver.url("/archive"))
    handle = await start(client, settings)
    await handle.signal(
        "form_submitted",
        {
            "document": {"name": "gone.pdf", "ref": "sha256:" + "0" * 64},
        },
    )
    state = await wait_state(handle, lambda s: s.deliveries[0].status != DeliveryStatus.PENDING)
    assert state.deliveries[0].status == DeliveryStatus.FAILED
    assert "no document sha256:000" in (state.deliveries[0].error or "")
    assert receiver.at("/archive") == []
    # At once, as DeliveryInvalid (one attempt, no ladder: no regular activity
    # after the first, local one), and in the delivery log like any failed attempt.
    assert (state.deliveries[0].error or "").startswith(FailureType.INVALID)
    history = await handle.fetch_history()
    scheduled = [
        e
        for e in history.events
        if e.activity_task_scheduled_event_attributes.activity_type.name == "deliver"
    ]
    assert scheduled == []
    with Session(engine) as session:
        [row] = list_deliveries(session=session, session_id=state.id)
        [logged] = attempts_of(session=session, delivery=row.id)
    assert (row.status, logged.outcome) == ("failed", "failed")
    assert logged.error == "no document sha256:" + "0" * 64
