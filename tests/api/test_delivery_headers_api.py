"""``GET /api/v1/deliveries/{id}`` has each attempt's headers, as the pane and
``deliveries show`` do: what was sent (credentials and signatures masked) and
what came back; no credential's value appears, even where a receiver echoes it."""

from __future__ import annotations

import base64

from tests.api.conftest import Api, session_delivered_once
from tests.helpers import add_webhook
from worker.devstack.receiver import Receiver, Reply

PASSWORD = "pw-api-hdr-7c2q"
SIGNING = "whsec_" + "QUJDREVGR0hJSktMTU5PUFFSU1RVVldYWVo="


async def test_an_attempts_headers_are_shown_masked(api: Api, receiver: Receiver) -> None:
    add_webhook(
        api.engine,
        api.box,
        alias="hdr",
        type="session_created",
        url=receiver.url("/hdr"),
        headers={"X-Note": f"key {PASSWORD}", "X-Tenant": "acme"},
        basic_username="crm",
        basic_password=PASSWORD,
        signing_secret=SIGNING,
    )
    receiver.always(
        "/hdr", Reply(status=200, headers={"x-request-id": "req-42", "x-echo": PASSWORD})
    )
    async with api.http(api.key("acme")) as http:
        session_id, row = await session_delivered_once(http)
        answer = await http.get(f"/api/v1/deliveries/{row['id']}")
    assert answer.status_code == 200, answer.text
    [sent] = receiver.at("/hdr")
    credential = sent.headers["authorization"]  # what the receiver got in full
    assert credential == "Basic " + base64.b64encode(f"crm:{PASSWORD}".encode()).decode()

    [attempt] = answer.json()["attempt_log"]
    request, response = attempt["request_headers"], attempt["response_headers"]
    assert request["authorization"] == "Basic ****"
    assert request["webhook-signature"] == "****"
    assert request["webhook-id"] == sent.headers["webhook-id"]
    assert request["X-Tenant"] == "acme" and request["X-Note"] == "key ********"
    assert response["x-request-id"] == "req-42" and response["x-echo"] == "********"
    for secret in (PASSWORD, SIGNING, credential.split()[1], sent.headers["webhook-signature"]):
        assert secret not in answer.text
