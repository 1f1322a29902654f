"""Sessions end to end on the dev server, delivering to real loopback receivers."""

from __future__ import annotations

import base64
import json
import time
import uuid

from sqlmodel import Session
from temporalio.client import Client
from temporalio.worker import Worker

from activities.contracts import DeliveryStatus, SessionStatus
from activities.log.attempts import attempts_of, delivery_id, excerpt_of, list_deliveries
from activities.store.crypto import SecretBox
from activities.store.tables import Webhook
from tests.helpers import add_webhook, start, state_of, wait_for_requests, wait_state
from worker.devstack.receiver import Receiver, Reply
from worker.runtime.assembly import running_worker
from worker.runtime.settings import Settings

FAST = [0.0, 0.5, 0.5]


async def test_lifecycle_delivers_documented_envelopes_in_order(
    client: Client, worker: Worker, settings: Settings, engine, box: SecretBox, receiver: Receiver
) -> None:
    types = ["session_created", "client_logged_in", "form_loaded", "form_submitted", "archive"]
    for type_ in types:
        add_webhook(
            engine,
            box,
            alias=type_,
            type=type_,
            url=receiver.url(f"/{type_}"),
            headers={"X-Tenant": "acme"},
            basic_username="crm",
            basic_password="s3cret",
        )
    handle = await start(
        client,
        settings,
        id="xM72By4JkM",
        process_id="2d12cdb3-d666-4dbd-8827-d7c165ed9d17",
        process_number=28,
        transaction_number=17,
        recipient={"id": 1, "name": "client"},
        labels={"CUSTOMER_TAG": "CUSTOMER_VALUE"},
    )
    client_info = {"ip": "203.0.113.7", "user_agent": "Mozilla/5.0"}
    await handle.signal("client_logged_in", {"client": client_info})
    await handle.signal("form_loaded", {"client": client_info})
    await handle.signal("form_submitted", {"client": client_info, "form_data": {"amount": 25000}})

    got = {t: (await wait_for_requests(receiver, 1, f"/{t}"))[0] for t in types}
    session = {
        "id": "xM72By4JkM",
        "reference": "2d12cdb3-d666-4dbd-8827-d7c165ed9d17",
        "process_id": "2d12cdb3-d666-4dbd-8827-d7c165ed9d17",
        "process_number": 28,
        "transaction_number": 17,
        "recipient": {"id": 1, "name": "client"},
        "labels": {"CUSTOMER_TAG": "CUSTOMER_VALUE"},
    }
    expected = {
        "session_created": ("WHEF_SESSION_CREATED", 1, {}),
        "client_logged_in": ("WHEF_CLIENT_LOGGED_IN", 2, {"client": client_info}),
        "form_loaded": ("WHEF_CLIENT_FORM_LOADED", 3, {"client": client_info}),
        "form_submitted": (
            "WHEF_CLIENT_FORM_SUBMITTED",
            4,
            {"client": client_info, "form_data": {"amount": 25000}, "attachments": []},
        ),
        "archive": ("WHP_ARCHIVE", 5, {"form_data": {"amount": 25000}, "attachments": []}),
    }
    archived = got["archive"].json().pop("sessions")
    assert [(s["id"], s["recipient"], s["form_data"]) for s in archived] == [
        ("xM72By4JkM", {"id": 1, "name": "client"}, {"amount": 25000})
    ]
    assert archived[0]["submission"]["ip"] == "203.0.113.7"
    assert archived[0]["submission"]["submitted_at"].endswith("+00:00")
    for type_, (code, sequence, extra) in expected.items():
        request = got[type_]
        body = request.json()
        body.pop("sessions", None)
        event = body.pop("event")
        assert event["type"] == code
        assert event["sequence"] == sequence
        assert event["id"].startswith("evt_")
        # The original product's timestamp shape: microseconds and +00:00.
        assert event["timestamp"].endswith("+00:00") and len(event["timestamp"]) == 32
        assert body == {"session": session, **extra}
        # Compact JSON, keys in the documented order.
        assert request.body.startswith(b'{"event":{"id":"evt_')
        assert request.headers["content-type"] == "application/json"
        assert request.headers["webhook-id"] == event["id"]
        assert abs(int(request.headers["webhook-timestamp"]) - time.time()) < 60
        assert request.headers["x-tenant"] == "acme"
        assert (
            request.headers["authorization"] == "Basic " + base64.b64encode(b"crm:s3cret").decode()
        )
        assert "webhook-signature" not in request.headers

    state = await wait_state(
        handle, lambda s: all(d.status == DeliveryStatus.DELIVERED for d in s.deliveries)
    )
    assert state.status == SessionStatus.SUBMITTED
    assert [e.type for e in state.events] == [code for code, _, _ in expected.values()]
    history = await handle.fetch_history()
    assert len(history.events) < 100  # five events to five webhooks


async def test_500_twice_then_200_is_delivered_on_the_third_attempt(
    client: Client, worker: Worker, settings: Settings, engine, box: SecretBox, receiver: Receiver
) -> None:
    hook = add_webhook(
        engine, box, type="session_created", url=receiver.url("/h"), retry_schedule=FAST
    )
    receiver.script("/h", Reply(status=500), Reply(status=500, body=b"oops"))
    handle = await start(client, settings)

    requests = await wait_for_requests(receiver, 3, "/h")
    # One delivery, one webhook-id across its retries.
    assert len({r.headers["webhook-id"] for r in requests}) == 1
    state = await wait_state(handle, lambda s: s.deliveries[0].status == DeliveryStatus.DELIVERED)
    assert state.deliveries[0].attempts == 3
    assert state.deliveries[0].status_code == 200

    with Session(engine) as session:
        key = delivery_id(event_id=state.deliveries[0].event_id, webhook_id=hook)
        log = attempts_of(session=session, delivery=key)
    assert [(a.attempt, a.status_code, a.outcome) for a in log] == [
        (1, 500, "retrying"),
        (2, 500, "retrying"),
        (3, 200, "delivered"),
    ]
    assert excerpt_of(log[1], box=box) == "oops"
    assert "oops" not in (log[1].response_excerpt or "")  # encrypted at rest


async def test_exhausted_delivery_is_failed_and_searchable(
    client: Client, worker: Worker, settings: Settings, engine, box: SecretBox, receiver: Receiver
) -> None:
    add_webhook(
        engine,
        box,
        alias="crm",
        type="session_created",
        url=receiver.url("/down"),
        retry_schedule=[0, 0.2],
    )
    receiver.always("/down", Reply(status=503))
    handle = await start(client, settings)
    state = await wait_state(handle, lambda s: s.deliveries[0].status == DeliveryStatus.FAILED)
    assert len(receiver.at("/down")) == 2
    assert "retries exhausted" in (state.deliveries[0].error or "")
    with Session(engine) as session:
        failed = list_deliveries(session=session, session_id=state.id, status="failed")
    assert len(failed) == 1 and failed[0].attempts == 2
    description = await handle.describe()
    attributes = {k.name: v for k, v in description.typed_search_attributes}
    assert attributes["HookflowFailedWebhooks"] == ["crm"]
    assert attributes["HookflowProject"] == "acme"


async def test_410_disables_the_webhook_and_holds_the_rest(
    client: Client, worker: Worker, settings: Settings, engine, box: SecretBox, receiver: Receiver
) -> None:
    hook = add_webhook(engine, box, type="storage_callback", url=receiver.url("/gone"))
    receiver.always("/gone", Reply(status=410))
    handle = await start(client, settings)
    await handle.signal("storage_completed", {"storage": {"path": "a"}})
    await handle.signal("storage_completed", {"storage": {"path": "b"}})
    state = await wait_state(
        handle,
        lambda s: (
            s.sequence == 4  # two events, then the alert that the webhook is gone
            and len(s.deliveries) == 2
            and all(d.status != DeliveryStatus.PENDING for d in s.deliveries)
        ),
    )
    # The first delivery met 410; the second is held until the webhook is
    # enabled again (disabling pauses, it never discards).
    assert state.deliveries[0].status == DeliveryStatus.FAILED
    assert [d.status for d in state.deliveries[1:]] == [DeliveryStatus.HELD]
    assert len(receiver.at("/gone")) == 1
    assert "WHP_DELIVERY_FAILED" in [e.type for e in state.events]
    with Session(engine) as session:
        webhook = session.get(Webhook, hook)
        assert webhook is not None
        assert webhook.enabled is False
        assert "410" in (webhook.disabled_reason or "")


async def test_redirect_is_a_failure_and_is_not_followed(
    client: Client, worker: Worker, settings: Settings, engine, box: SecretBox, receiver: Receiver
) -> None:
    add_webhook(
        engine, box, type="session_created", url=receiver.url("/moved"), retry_schedule=[0, 0.2]
    )
    receiver.always(
        "/moved", Reply(status=307, body=b"", headers={"location": receiver.url("/elsewhere")})
    )
    handle = await start(client, settings)
    state = await wait_state(handle, lambda s: s.deliveries[0].status == DeliveryStatus.FAILED)
    assert "redirect" in (state.deliveries[0].error or "")
    assert receiver.at("/elsewhere") == []


async def test_error_body_with_200_is_a_failure(
    client: Client, worker: Worker, settings: Settings, engine, box: SecretBox, receiver: Receiver
) -> None:
    add_webhook(engine, box, type="session_created", url=receiver.url("/e"), retry_schedule=FAST)
    receiver.script("/e", Reply(status=200, body=b'{"status": "error", "message": "CRM busy"}'))
    handle = await start(client, settings)
    state = await wait_state(handle, lambda s: s.deliveries[0].status == DeliveryStatus.DELIVERED)
    assert state.deliveries[0].attempts == 2


async def test_retry_after_is_honoured(
    client: Client, worker: Worker, settings: Settings, engine, box: SecretBox, receiver: Receiver
) -> None:
    add_webhook(engine, box, type="session_created", url=receiver.url("/ra"), retry_schedule=[0, 0])
    receiver.script("/ra", Reply(status=429, headers={"retry-after": "2"}))
    await start(client, settings)
    first, second = await wait_for_requests(receiver, 2, "/ra")
    assert second.at - first.at >= 1.9


async def test_slow_endpoint_times_out_and_is_retried(
    client: Client, worker: Worker, settings: Settings, engine, box: SecretBox, receiver: Receiver
) -> None:
    add_webhook(
        engine,
        box,
        type="session_created",
        url=receiver.url("/slow"),
        timeout=0.5,
        retry_schedule=FAST,
    )
    receiver.script("/slow", Reply(delay=1.5))
    handle = await start(client, settings)
    state = await wait_state(handle, lambda s: s.deliveries[0].status == DeliveryStatus.DELIVERED)
    assert state.deliveries[0].attempts == 2
    with Session(engine) as session:
        log = attempts_of(
            session=session,
            delivery=delivery_id(
                event_id=state.deliveries[0].event_id, webhook_id=state.webhooks[0].id
            ),
        )
    assert log[0].error == "timed out after 0.5s"


async def test_failing_webhook_never_delays_another(
    client: Client, worker: Worker, settings: Settings, engine, box: SecretBox, receiver: Receiver
) -> None:
    add_webhook(
        engine, box, type="storage_callback", url=receiver.url("/bad"), retry_schedule=[0, 30]
    )
    add_webhook(engine, box, type="storage_callback", url=receiver.url("/good"))
    receiver.always("/bad", Reply(status=500))
    handle = await start(client, settings)
    other = await start(client, settings)
    for i in range(5):
        await handle.signal("storage_completed", {"storage": {"n": i}})
    await other.signal("storage_completed", {"storage": {"n": "other"}})
    good = await wait_for_requests(receiver, 6, "/good", timeout=15)
    # The good webhook got every event of the session, in order, while /bad waits 30 s.
    mine = [r.json() for r in good if r.json()["session"]["id"] == (await state_of(handle)).id]
    assert [b["storage"]["n"] for b in mine] == [0, 1, 2, 3, 4]
    assert [b["event"]["sequence"] for b in mine] == [2, 3, 4, 5, 6]
    assert len(receiver.at("/bad")) == 2  # first event: attempt 1 (session 1) and session 2


async def test_order_is_kept_per_webhook_under_retries(
    client: Client, worker: Worker, settings: Settings, engine, box: SecretBox, receiver: Receiver
) -> None:
    add_webhook(engine, box, type="storage_callback", url=receiver.url("/o"), retry_schedule=FAST)
    receiver.script("/o", Reply(status=500), Reply(status=200), Reply(status=502))
    handle = await start(client, settings)
    for i in range(6):
        await handle.signal("storage_completed", {"storage": {"n": i}, "event_id": f"e{i}"})
    await handle.signal("storage_completed", {"storage": {"n": 0}, "event_id": "e0"})  # repeat
    await wait_state(
        handle,
        lambda s: (
            len(s.deliveries) == 6
            and all(d.status == DeliveryStatus.DELIVERED for d in s.deliveries)
        ),
    )
    delivered = []
    for request in receiver.at("/o"):
        n = request.json()["storage"]["n"]
        if not delivered or delivered[-1] != n:
            delivered.append(n)
    assert delivered == [0, 1, 2, 3, 4, 5]


async def test_integrations_template_couplings_and_implicit_choose_the_webhooks(
    client: Client, worker: Worker, settings: Settings, engine, box: SecretBox, receiver: Receiver
) -> None:
    add_webhook(engine, box, alias="implicit", type="session_created", url=receiver.url("/i"))
    add_webhook(
        engine,
        box,
        alias="coupled",
        type="session_created",
        url=receiver.url("/t"),
        explicit=True,
        templates=["loan"],
    )
    named = add_webhook(
        engine, box, alias="named", type="session_created", url=receiver.url("/n"), explicit=True
    )
    add_webhook(
        engine, box, alias="unused", type="session_created", url=receiver.url("/u"), explicit=True
    )
    add_webhook(
        engine, box, project="other", alias="other", type="session_created", url=receiver.url("/x")
    )
    missing = uuid.uuid4()
    handle = await start(
        client,
        settings,
        template="loan",
        integrations=[
            {"type": "webhook", "uuid": str(named)},
            {"type": "webhook", "uuid": str(missing)},
        ],
    )
    state = await wait_state(
        handle,
        lambda s: len(s.deliveries) == 3 and all(d.status == "delivered" for d in s.deliveries),
    )
    assert sorted(w.alias for w in state.webhooks) == ["coupled", "implicit", "named"]
    assert {w.alias: w.reason for w in state.webhooks}["named"] == "integration"
    assert receiver.at("/u") == [] and receiver.at("/x") == []
    # A session started with an unknown integration records it and goes on.
    assert any(str(missing) in p for p in state.problems)


async def test_expire_then_delete_signals_end_the_session(
    client: Client, worker: Worker, settings: Settings, engine, box: SecretBox, receiver: Receiver
) -> None:
    add_webhook(engine, box, type="session_expired", url=receiver.url("/exp"))
    add_webhook(engine, box, type="session_deleted", url=receiver.url("/del"))
    add_webhook(engine, box, type="client_logged_in", url=receiver.url("/login"))
    handle = await start(client, settings)
    await handle.signal("expire")
    await handle.signal("client_logged_in", {"client": {"ip": "203.0.113.9"}})  # too late
    await handle.signal("delete", {})
    result = await handle.result()
    assert result.status == SessionStatus.DELETED
    assert [e.type for e in result.events] == [
        "WHEF_SESSION_CREATED",
        "WHEF_SESSION_EXPIRED",
        "WHEF_SESSION_DELETED",
    ]
    assert receiver.at("/login") == []
    assert result.problems == ["signal client_logged_in ignored: the session is expired"]
    assert [r.json()["event"]["sequence"] for r in receiver.at("/exp") + receiver.at("/del")] == [
        2,
        3,
    ]


async def test_malformed_signal_is_recorded_and_the_session_goes_on(
    client: Client, worker: Worker, settings: Settings, engine, box: SecretBox, receiver: Receiver
) -> None:
    add_webhook(engine, box, type="form_loaded", url=receiver.url("/fl"))
    handle = await start(client, settings)
    await handle.signal("form_loaded", {"client": "not an object"})
    await handle.signal("form_loaded", ["a", "list"])
    await handle.signal("form_loaded", {"client": {"ip": "203.0.113.7"}})
    state = await wait_state(handle, lambda s: len(s.deliveries) == 1)
    assert state.status == SessionStatus.ACTIVE
    assert len(state.problems) == 2
    assert all(p.startswith("signal form_loaded ignored: invalid payload") for p in state.problems)
    request = (await wait_for_requests(receiver, 1, "/fl"))[0]
    assert json.loads(request.body)["client"] == {"ip": "203.0.113.7"}


async def test_refused_destination_fails_at_once_without_a_request(
    client: Client, settings: Settings, engine, box: SecretBox, receiver: Receiver
) -> None:
    guarded = settings.replace(allow_networks=[])  # loopback is refused like any internal address
    async with running_worker(client, guarded, engine=engine, box=box):
        add_webhook(engine, box, alias="internal", type="session_created", url=receiver.url("/x"))
        handle = await start(client, guarded)
        state = await wait_state(handle, lambda s: s.deliveries[0].status == DeliveryStatus.FAILED)
    error = state.deliveries[0].error or ""
    assert error.startswith(
        "DestinationRefused: destination 127.0.0.1 refused: 127.0.0.1 is loopback (to deliver "
        "there, allow it: hookflow up --allow-networks 127.0.0.1/32, or HOOKFLOW_ALLOW_NETWORKS"
    )
    assert "attempt 1/8" in error
    assert receiver.requests == []


async def test_oversized_signal_is_recorded_not_applied(
    client: Client, worker: Worker, settings: Settings
) -> None:
    handle = await start(client, settings)
    await handle.signal("form_submitted", {"form_data": {"blob": "x" * 300_000}})
    state = await wait_state(handle, lambda s: bool(s.problems))
    assert state.problems == ["signal form_submitted ignored: payload over 256 KiB"]
    assert state.status == SessionStatus.ACTIVE


async def test_internal_addresses_are_refused_with_no_request_sent(
    client: Client, settings: Settings, engine, box: SecretBox
) -> None:
    # No allow-list: the production default. pytest-socket would stop a packet
    # that slipped past the guard.
    settings = settings.replace(allow_networks=[])
    urls = [
        "http://169.254.169.254/latest/meta-data",
        "http://10.0.0.1/hook",
        "http://[::ffff:127.0.0.1]:9/hook",
    ]
    for n, url in enumerate(urls):
        add_webhook(engine, box, alias=f"internal-{n}", type="session_created", url=url)
    async with running_worker(client, settings, engine=engine, box=box):
        handle = await start(client, settings)
        state = await wait_state(
            handle,
            lambda s: (
                len(s.deliveries) == 3
                and all(d.status == DeliveryStatus.FAILED for d in s.deliveries)
            ),
        )
    errors = sorted(d.error or "" for d in state.deliveries)
    assert all(e.startswith("DestinationRefused: destination") for e in errors)
    assert any("169.254.169.254 is link-local" in e for e in errors)
    assert any("10.0.0.1 is private" in e for e in errors)
    assert any("::ffff:127.0.0.1 refused" in e and "is loopback" in e for e in errors)
    assert all("attempt 1/8" in e for e in errors)  # refused at once, not retried


async def test_a_webhook_added_while_a_session_runs_gets_its_next_event(
    client: Client, worker: Worker, settings: Settings, engine, box: SecretBox, receiver: Receiver
) -> None:
    handle = await start(client, settings)
    await handle.signal("form_loaded", {"event_id": "before"})
    await wait_state(handle, lambda s: s.sequence == 2)
    add_webhook(engine, box, type="form_loaded", url=receiver.url("/late"))
    await handle.signal("form_loaded", {"event_id": "after"})
    [got] = await wait_for_requests(receiver, 1, "/late", timeout=10)
    assert got.json()["event"]["sequence"] == 3  # the first event came before it existed
