"""Send SMS, alerts, failover, and a hook type added in one module, end to end."""

from __future__ import annotations

from sqlmodel import Session
from temporalio.client import Client
from temporalio.worker import Worker

from activities.contracts import DeliveryStatus
from activities.files.sealed import seal_text
from activities.store.crypto import SecretBox
from tests.helpers import add_webhook, start, state_of, wait_for_requests, wait_state
from tests.workflows.custom_hook import DOCUMENT_VIEWED
from worker.devstack.receiver import Receiver, Reply
from worker.runtime.settings import Settings

PHONE = {"id": 1, "name": "client", "phone": "+15551234567"}
LINK = "https://forms.example.com/s/abc"


async def test_invitation_and_otp_go_to_the_send_sms_webhook(
    client: Client, worker: Worker, settings: Settings, engine, box: SecretBox, receiver: Receiver
) -> None:
    add_webhook(engine, box, type="send_sms", url=receiver.url("/sms"))
    handle = await start(client, settings, recipient=PHONE, link=LINK, locale="he")
    with Session(engine) as session:
        ref = seal_text(session=session, box=box, text="Your code: 482913")
    await handle.signal("send_sms", {"purpose": "otp", "text_ref": ref})
    await handle.signal("send_sms", {"purpose": "otp", "text": "Your code: 111111"})  # refused
    invitation, otp = await wait_for_requests(receiver, 2, "/sms")
    body = invitation.json()
    assert {k: body[k] for k in ("to", "text", "purpose", "link", "locale")} == {
        "to": "+15551234567",
        "text": f"Hello client, please fill in your form: {LINK}",
        "purpose": "invitation",
        "link": LINK,
        "locale": "he",
    }
    assert (
        body["event"]["type"] == "WHP_SEND_SMS"
        and body["session"]["id"] == (await state_of(handle)).id
    )
    assert otp.json()["purpose"] == "otp" and otp.json()["text"] == "Your code: 482913"
    assert "text_ref" not in otp.json()
    # Both in the documented order (json.loads keeps the order sent).
    documented = ["event", "session", "to", "text", "purpose", "link", "locale"]
    assert list(invitation.json()) == list(otp.json()) == documented
    state = await wait_state(handle, lambda s: bool(s.problems))
    assert "a one-time password is sent sealed" in state.problems[0]
    history = await handle.fetch_history()
    raw = b"".join(event.SerializeToString() for event in history.events)
    assert b"482913" not in raw  # the code never entered the history


async def test_sms_without_a_webhook_is_recorded_as_not_sent(
    client: Client, worker: Worker, settings: Settings
) -> None:
    handle = await start(client, settings, project="nosms", recipient=PHONE)
    state = await wait_state(handle, lambda s: bool(s.problems))
    assert state.problems == ["SMS (invitation) not sent: project nosms has no send_sms webhook"]
    plain = await start(client, settings, project="nosms")
    await plain.signal("send_sms", {"purpose": "reminder", "text": "hello"})
    state = await wait_state(plain, lambda s: bool(s.problems))
    assert state.problems == ["SMS (reminder) not sent: the recipient has no phone number"]


async def test_exhausted_delivery_alerts_the_projects_alert_webhook(
    client: Client, worker: Worker, settings: Settings, engine, box: SecretBox, receiver: Receiver
) -> None:
    add_webhook(
        engine,
        box,
        alias="crm",
        type="storage_callback",
        url=receiver.url("/crm"),
        retry_schedule=[0, 0.2],
    )
    add_webhook(engine, box, alias="ops", type="delivery_failed", url=receiver.url("/alert"))
    receiver.always("/crm", Reply(status=503))
    handle = await start(client, settings)
    await handle.signal("storage_completed", {"storage": {"path": "x"}})
    [alert] = await wait_for_requests(receiver, 1, "/alert")
    body = alert.json()
    assert body["event"]["type"] == "WHP_DELIVERY_FAILED"
    assert body["event"]["sequence"] == 3
    assert body["data"]["webhook"] == "crm"
    assert body["data"]["event_type"] == "WHP_STORAGE_CALLBACK"
    assert body["data"]["sequence"] == 2
    assert "retries exhausted" in body["data"]["error"]


async def test_exhausted_archive_goes_to_the_failover_url(
    client: Client, worker: Worker, settings: Settings, engine, box: SecretBox, receiver: Receiver
) -> None:
    add_webhook(
        engine,
        box,
        alias="dms",
        type="archive",
        url=receiver.url("/dms"),
        retry_schedule=[0, 0.2],
        failover_url=receiver.url("/backup"),
    )
    add_webhook(engine, box, alias="ops", type="delivery_failed", url=receiver.url("/alert"))
    receiver.always("/dms", Reply(status=500))
    handle = await start(client, settings)
    await handle.signal("form_submitted", {"form_data": {"a": 1}})
    [backup] = await wait_for_requests(receiver, 1, "/backup")
    assert backup.json()["event"]["type"] == "WHP_ARCHIVE"
    assert backup.json()["form_data"] == {"a": 1}
    assert backup.headers["webhook-id"] == receiver.at("/dms")[0].headers["webhook-id"]
    state = await wait_state(handle, lambda s: s.deliveries[-1].status != DeliveryStatus.PENDING)
    archive = next(d for d in state.deliveries if d.event_type == "WHP_ARCHIVE")
    assert archive.status == DeliveryStatus.FAILED
    assert (archive.error or "").endswith("; sent to the failover URL")
    assert receiver.at("/alert") == []  # the failover took it: no alert


async def test_a_hook_type_added_in_one_module_fires_end_to_end(
    client: Client, worker: Worker, settings: Settings, engine, box: SecretBox, receiver: Receiver
) -> None:
    add_webhook(engine, box, type=DOCUMENT_VIEWED.name, url=receiver.url("/viewed"))
    handle = await start(client, settings)
    await handle.signal("document_viewed", {"client": {"ip": "203.0.113.5"}, "page": 3})
    await handle.signal("document_viewed", {"page": 0})  # invalid: recorded, not sent
    [request] = await wait_for_requests(receiver, 1, "/viewed")
    body = request.json()
    assert body["event"]["type"] == "WHEF_DOCUMENT_VIEWED"
    assert body["client"] == {"ip": "203.0.113.5"}
    assert body["data"] == {"page": 3, "seconds": 0}
    state = await wait_state(handle, lambda s: bool(s.problems))
    assert state.problems[0].startswith("signal document_viewed ignored: invalid payload")
    await handle.signal("no_such_signal", {})
    state = await wait_state(handle, lambda s: len(s.problems) == 2)
    assert state.problems[1] == "signal no_such_signal ignored: no such signal"
