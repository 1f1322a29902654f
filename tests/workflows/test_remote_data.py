"""``field_changed``: the endpoint's values come back to the caller; failures are clear."""

from __future__ import annotations

import json
import time

import pytest
from temporalio.client import Client, WorkflowUpdateFailedError
from temporalio.exceptions import ApplicationError
from temporalio.worker import Worker

from activities.contracts import DeliveryStatus, FieldValue, SessionStatus
from activities.store.crypto import SecretBox
from tests.helpers import add_webhook, start, state_of, wait_for_requests
from worker.devstack.receiver import Receiver, Reply
from worker.runtime.settings import Settings

CHANGE = {
    "client": {"ip": "203.0.113.7", "user_agent": "Mozilla/5.0"},
    "change": {"id": "customer_id", "type": "text", "value": "C-1042"},
    "fields": [{"id": "customer_name", "type": "text", "value": None}],
}


async def test_field_changed_returns_the_endpoints_values(
    client: Client, worker: Worker, settings: Settings, engine, box: SecretBox, receiver: Receiver
) -> None:
    add_webhook(engine, box, type="remote_data", url=receiver.url("/crm"))
    add_webhook(engine, box, type="form_loaded", url=receiver.url("/loaded"))
    receiver.always(
        "/crm",
        Reply(
            body=json.dumps(
                [{"id": "customer_name", "value": "Dana Levi"}, {"id": "tier", "value": 2}]
            ).encode()
        ),
    )
    handle = await start(client, settings, labels={"K": "V"})
    await handle.signal("form_loaded", {"client": CHANGE["client"]})
    values = await handle.execute_update("field_changed", CHANGE, result_type=list[FieldValue])
    assert values == [
        FieldValue(id="customer_name", value="Dana Levi"),
        FieldValue(id="tier", value=2),
    ]

    [request] = receiver.at("/crm")
    body = request.json()
    assert body["event"]["type"] == "WHEF_FORM_FIELD_CHANGED"
    assert body["event"]["sequence"] == 3  # created, loaded, then this one
    assert body["client"] == CHANGE["client"]
    assert body["change"] == CHANGE["change"]
    assert body["fields"] == CHANGE["fields"]  # a null value stays null
    assert body["session"]["labels"] == {"K": "V"}
    state = await state_of(handle)
    [remote] = [d for d in state.deliveries if d.event_type == "WHEF_FORM_FIELD_CHANGED"]
    assert remote.status == DeliveryStatus.DELIVERED


async def test_failing_endpoint_is_a_clear_error_and_the_session_goes_on(
    client: Client, worker: Worker, settings: Settings, engine, box: SecretBox, receiver: Receiver
) -> None:
    add_webhook(engine, box, alias="crm", type="remote_data", url=receiver.url("/down"))
    add_webhook(engine, box, type="form_submitted", url=receiver.url("/sub"))
    receiver.always("/down", Reply(status=502))
    handle = await start(client, settings)
    started = time.monotonic()
    with pytest.raises(WorkflowUpdateFailedError) as raised:
        await handle.execute_update("field_changed", CHANGE)
    assert time.monotonic() - started < 10
    cause = raised.value.cause
    assert isinstance(cause, ApplicationError) and cause.type == "RemoteDataFailed"
    message = cause.message
    assert message.startswith("remote data from crm failed: ")
    assert "HTTP 502" in message
    assert len(receiver.at("/down")) == 2  # few attempts
    await handle.signal("form_submitted", {"form_data": {}})
    await wait_for_requests(receiver, 1, "/sub")
    assert (await state_of(handle)).status == SessionStatus.SUBMITTED


async def test_slow_endpoint_hits_the_short_deadline(
    client: Client, worker: Worker, settings: Settings, engine, box: SecretBox, receiver: Receiver
) -> None:
    add_webhook(
        engine, box, alias="slow", type="remote_data", url=receiver.url("/slow"), timeout=1.5
    )
    receiver.always("/slow", Reply(delay=8))
    handle = await start(client, settings)
    started = time.monotonic()
    with pytest.raises(WorkflowUpdateFailedError) as raised:
        await handle.execute_update("field_changed", CHANGE)
    assert time.monotonic() - started < 7  # two attempts of 1.5 s, not 8 s
    assert "timed out" in str(raised.value.cause)


async def test_the_webhook_timeout_is_honoured_up_to_the_cap(
    client: Client, worker: Worker, settings: Settings, engine, box: SecretBox, receiver: Receiver
) -> None:
    add_webhook(engine, box, type="remote_data", url=receiver.url("/crm"), timeout=60)
    receiver.always("/crm", Reply(body=b'[{"id": "customer_name", "value": "Dana"}]', delay=6))
    handle = await start(client, settings)
    values = await handle.execute_update("field_changed", CHANGE, result_type=list[FieldValue])
    assert values == [FieldValue(id="customer_name", value="Dana")]


async def test_a_failed_call_can_be_retried_with_its_event_id(
    client: Client, worker: Worker, settings: Settings, engine, box: SecretBox, receiver: Receiver
) -> None:
    add_webhook(engine, box, type="remote_data", url=receiver.url("/flaky"))
    receiver.script("/flaky", Reply(status=500), Reply(status=500))
    receiver.always("/flaky", Reply(body=b'[{"id": "x", "value": 1}]'))
    handle = await start(client, settings)
    with pytest.raises(WorkflowUpdateFailedError):
        await handle.execute_update("field_changed", {**CHANGE, "event_id": "k9"})
    values = await handle.execute_update(
        "field_changed", {**CHANGE, "event_id": "k9"}, result_type=list[FieldValue]
    )
    assert values == [FieldValue(id="x", value=1)]


async def test_field_changed_is_refused_when_not_active_or_repeated(
    client: Client, worker: Worker, settings: Settings, engine, box: SecretBox, receiver: Receiver
) -> None:
    add_webhook(engine, box, type="remote_data", url=receiver.url("/r"))
    receiver.always("/r", Reply(body=b"[]"))
    handle = await start(client, settings)
    assert await handle.execute_update("field_changed", {**CHANGE, "event_id": "k1"}) == []
    with pytest.raises(WorkflowUpdateFailedError, match="already handled|update"):
        await handle.execute_update("field_changed", {**CHANGE, "event_id": "k1"})
    await handle.signal("expire")
    with pytest.raises(WorkflowUpdateFailedError):
        await handle.execute_update("field_changed", CHANGE)
    assert len(receiver.at("/r")) == 1
