"""A webhook's credentials never reach the stored headers of an attempt, nor
``deliveries show``: not in what was sent, not where a receiver echoes them."""

from __future__ import annotations

import asyncio
import json

from sqlmodel import Session, select

from activities.log.headers import open_headers
from activities.store.tables import Attempt
from tests.api.conftest import Api, session_delivered_once
from tests.helpers import add_webhook
from tests.worker.cli import Cli
from worker.devstack.receiver import Receiver, Reply

PASSWORD = "pw-echoed-9f3k"
SIGNING = "whsec_" + "QUJDREVGR0hJSktMTU5PUFFSU1RVVldYWVo="


async def test_credentials_echoed_in_headers_are_masked_where_stored_and_shown(
    api: Api, receiver: Receiver, cli: Cli
) -> None:
    add_webhook(
        api.engine,
        api.box,
        alias="echo",
        type="session_created",
        url=receiver.url("/echo"),
        headers={"X-Note": f"key {PASSWORD}"},
        basic_username="crm",
        basic_password=PASSWORD,
        signing_secret=SIGNING,
    )
    echoes = {
        "x-echo-key": PASSWORD,
        "www-authenticate": f'Bearer realm="hooks", token="{SIGNING}"',
        "x-request-id": "req-7",
    }
    receiver.always("/echo", Reply(status=200, headers=echoes))
    async with api.http(api.key("acme")) as http:
        session_id, row = await session_delivered_once(http)
    [sent] = receiver.at("/echo")
    assert sent.headers["x-note"] == f"key {PASSWORD}"  # the receiver got it in full

    with Session(api.engine) as db:
        [attempt] = db.exec(select(Attempt)).all()
        request = open_headers(attempt.request_headers, api.box)
        response = open_headers(attempt.response_headers, api.box)
    stored = json.dumps([request, response])
    assert PASSWORD not in stored and SIGNING not in stored
    assert response["x-request-id"] == "req-7"
    assert response["www-authenticate"].startswith('Bearer realm="hooks", token="')
    assert request["X-Note"].startswith("key ")

    out = await asyncio.to_thread(cli.ok, "deliveries", "show", row["id"])
    shown = await asyncio.to_thread(cli.ok, "deliveries", "show", row["id"], "--json")
    assert "x-echo-key" in out and "x-request-id: req-7" in out
    for text in (out, shown):
        assert PASSWORD not in text and SIGNING not in text
