"""The pane as the platform's customers use it, in a real browser: their words
(no commands, flags or operator tools), each webhook's health, times with an
offset, each attempt's headers, Redeliver where it applies and back to the
same filters, examples in the formats the webhook sends and accepts."""

from __future__ import annotations

import asyncio
import json
import re
from datetime import timedelta
from pathlib import Path

from playwright.async_api import Browser, Page, expect
from sqlmodel import Session

from activities.delivery.health import Health
from activities.store.database import utcnow
from activities.store.health import change_health
from activities.store.webhooks import disable_webhook
from tests.api.conftest import Api, session_delivered_once
from tests.api.test_pane_browser import browser, shot, sign_in  # noqa: F401  (fixture)
from tests.helpers import add_webhook, eventually
from tests.worker.cli import Cli
from worker.devstack.receiver import Receiver, Reply

ISO = re.compile(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\+00:00")
OPERATOR_WORDS = re.compile(
    r"hookflow [a-z]+ [a-z]|--[a-z]|Temporal|\b(?:Webhook|Delivery|Destination)[A-Z][a-z]+"
)


async def no_operator_words(page: Page) -> None:
    text = await page.locator("main").inner_text()
    found = OPERATOR_WORDS.search(text)
    assert found is None, f"{found[0]!r} on {page.url}: {text[:2000]}"


async def save_with_error(page: Page, expected: str) -> str:
    await page.click("button:has-text('Save')")
    error = page.locator("p.error")
    await expect(error).to_contain_text(expected)
    await no_operator_words(page)
    return await error.inner_text()


async def test_the_pane_speaks_to_customers_and_names_form_fields(
    api: Api,
    browser: Browser,  # noqa: F811
    receiver: Receiver,
) -> None:
    page = await browser.new_page(viewport={"width": 1400, "height": 1000})
    await page.goto(api.url + "/login")
    await expect(page.locator("main")).to_contain_text("Ask your administrator for one.")
    await no_operator_words(page)
    await sign_in(page, api, api.key("acme"))
    await page.goto(api.url + "/webhooks/new")
    await no_operator_words(page)
    await page.fill("input[name=alias]", "crm")

    await page.evaluate("document.querySelector('input[name=url]').type = 'text'")
    await page.fill("input[name=url]", "https://user:pw@crm.example.com/hook")
    line = await save_with_error(page, "URL: credentials in the URL are not allowed")
    assert line.endswith("put them under Authentication: Basic"), line

    await page.fill("input[name=url]", receiver.url("/crm"))
    await page.locator("input[name=header_name]").last.fill("Authorization")
    await page.locator("input[name=header_value]").last.fill("Bearer abc")
    line = await save_with_error(page, "Headers")
    assert "add Authorization under Authentication: Custom" in line, line

    await page.locator("input[name=header_name]").first.fill("")
    await page.fill("input[name=templates]", "loan-application")
    await save_with_error(page, "(Mode: Explicit)")
    await page.fill("input[name=templates]", "")
    await page.fill("input[name=timeout]", "-1")
    await save_with_error(page, "Timeout:")

    # A disabled webhook's failed delivery: Redeliver says what to do, in the pane's words.
    hook = add_webhook(
        api.engine,
        api.box,
        alias="off",
        type="session_created",
        url=receiver.url("/off"),
        retry_schedule=[0],
    )
    receiver.always("/off", Reply(status=500))
    async with api.http(api.key("acme")) as http:
        session_id = (await http.post("/api/v1/sessions", json={})).json()["id"]
        await eventually(
            lambda: http.get(f"/api/v1/deliveries?session={session_id}&status=failed"),
            lambda r: len(r.json()) == 1,
        )
    with Session(api.engine) as db:
        disable_webhook(session=db, webhook_id=hook, reason="maintenance")
    await page.goto(f"{api.url}/deliveries?session={session_id}")
    await page.locator("li.delivery button:has-text('Redeliver')").click()
    await expect(page.locator(".flash")).to_contain_text(
        "tick Enabled on the webhook's page and Save first"
    )
    await page.locator("li.delivery summary").first.click()
    await expect(page.locator("li.delivery .detail .error")).to_contain_text("HTTP 500 from off")
    await no_operator_words(page)
    await page.goto(f"{api.url}/sessions/{session_id}")
    await no_operator_words(page)


async def test_health_times_and_redeliver_where_it_applies(
    api: Api,
    browser: Browser,  # noqa: F811
    receiver: Receiver,
    tmp_path: Path,
) -> None:
    fine = add_webhook(
        api.engine, api.box, alias="fine", type="session_created", url=receiver.url("/fine")
    )
    down = add_webhook(
        api.engine,
        api.box,
        alias="down",
        type="session_created",
        url=receiver.url("/down"),
        retry_schedule=[0, 0.2],
    )
    slow = add_webhook(
        api.engine,
        api.box,
        alias="slow",
        type="session_created",
        url=receiver.url("/slow"),
        retry_schedule=[0, 3600],
    )
    tripped = add_webhook(
        api.engine, api.box, alias="tripped", type="form_loaded", url=receiver.url("/t")
    )
    off = add_webhook(api.engine, api.box, alias="off", type="form_loaded", url=receiver.url("/o"))
    receiver.always("/fine", Reply(status=200))
    receiver.always("/down", Reply(status=503, body=b"down"))
    receiver.always("/slow", Reply(status=500))
    now = utcnow()
    change_health(
        engine=api.engine,
        webhook_id=tripped,
        change=lambda h: Health(
            version=h.version,
            streak=10,
            failing_since=now - timedelta(minutes=5),
            open_until=now + timedelta(hours=1),
        ),
    )
    with Session(api.engine) as db:
        disable_webhook(session=db, webhook_id=off, reason="paused by the owner")
    async with api.http(api.key("acme")) as http:
        session_id = (await http.post("/api/v1/sessions", json={})).json()["id"]
        rows = await eventually(
            lambda: http.get(f"/api/v1/deliveries?session={session_id}"),
            lambda r: sorted(d["status"] for d in r.json()) == ["delivered", "failed", "pending"],
        )
        pending = next(d for d in rows.json() if d["status"] == "pending")
        refused = await http.post(f"/api/v1/deliveries/{pending['id']}/redeliver")
        assert refused.status_code == 409, refused.text

    page = await browser.new_page(viewport={"width": 1400, "height": 900})
    await sign_in(page, api, api.key("acme"))
    health = {
        alias: page.locator(f"tr:has(a:text-is('{alias}')) td.health")
        for alias in ("fine", "down", "slow", "tripped", "off")
    }
    await expect(health["fine"]).to_have_text("healthy")
    await expect(health["down"]).to_have_text(re.compile(r"^failing since " + ISO.pattern + "$"))
    await expect(health["slow"]).to_contain_text("failing since")
    await expect(health["tripped"]).to_have_text("paused")
    await expect(health["tripped"]).to_have_attribute(
        "title", re.compile(r"deliveries wait until " + ISO.pattern)
    )
    await expect(health["off"]).to_have_text("disabled (paused by the owner)")
    await shot(page, tmp_path, "pane-webhooks")
    assert fine and down and slow

    # Times carry their offset; the pending row has no Redeliver (the API refuses it).
    query = f"/deliveries?webhook={down}&status=failed&session={session_id}"
    await page.goto(api.url + "/deliveries?session=" + session_id)
    for time in await page.locator("li.delivery summary time").all_inner_texts():
        assert ISO.fullmatch(time), time
    slow_row = page.locator("li.delivery:has(.hook:text-is('slow'))")
    await expect(slow_row.locator(".status")).to_have_text("pending")
    await expect(slow_row.locator("button:has-text('Redeliver')")).to_have_count(0)
    await expect(slow_row.locator(".next time")).to_have_text(ISO)
    fine_row = page.locator("li.delivery:has(.hook:text-is('fine'))")
    await expect(fine_row.locator("button:has-text('Redeliver')")).to_have_count(1)

    # Redeliver comes back to the same filters.
    await page.goto(api.url + query)
    await expect(page.locator("li.delivery")).to_have_count(1)
    await page.locator("li.delivery button:has-text('Redeliver')").click()
    await expect(page.locator(".flash")).to_contain_text("Redelivery of")
    assert page.url == api.url + query
    await expect(page.locator("select[name=status]")).to_have_value("failed")
    await expect(page.locator("input[name=session]")).to_have_value(session_id)


async def test_each_attempt_shows_its_headers_in_the_pane_and_the_cli(
    api: Api,
    browser: Browser,  # noqa: F811
    receiver: Receiver,
    cli: Cli,
    tmp_path: Path,
) -> None:
    add_webhook(
        api.engine,
        api.box,
        alias="hdr",
        type="session_created",
        url=receiver.url("/hdr"),
        headers={"X-Tenant": "acme"},
        custom_auth={"X-Api-Key": "k-very-secret"},
        signing_secret="whsec_" + "QUJDREVGR0hJSktMTU5PUFFSU1RVVldYWVo=",
    )
    many = {f"x-r{i:02d}": "v" * 20 for i in range(80)}
    receiver.always("/hdr", Reply(status=200, headers={"x-request-id": "req-42", **many}))
    async with api.http(api.key("acme")) as http:
        session_id, row = await session_delivered_once(http)
    [sent] = receiver.at("/hdr")
    assert sent.headers["x-api-key"] == "k-very-secret"

    page = await browser.new_page(viewport={"width": 1400, "height": 1000})
    await sign_in(page, api, api.key("acme"))
    await page.goto(f"{api.url}/deliveries?session={session_id}")
    item = page.locator("li.delivery").first
    await item.locator("summary").first.click()
    request = item.locator("pre.request-headers")
    await expect(request).to_contain_text("X-Tenant: acme")
    await expect(request).to_contain_text("X-Api-Key: ****")
    await expect(request).to_contain_text("webhook-signature: ****")
    await expect(request).to_contain_text(f"webhook-id: {sent.headers['webhook-id']}")
    await expect(item).not_to_contain_text("k-very-secret")
    response = item.locator("pre.response-headers")
    await expect(response).to_contain_text("x-request-id: req-42")
    lines = (await response.inner_text()).strip().splitlines()
    assert 10 < len(lines) <= 50, lines  # bounded
    await shot(page, tmp_path, "pane-delivery-headers")

    out = await asyncio.to_thread(cli.ok, "deliveries", "show", row["id"])
    assert "attempt 1 request headers:" in out and "  X-Api-Key: ****" in out
    assert "  x-request-id: req-42" in out and "k-very-secret" not in out
    shown = json.loads(await asyncio.to_thread(cli.ok, "deliveries", "show", row["id"], "--json"))
    [attempt] = shown["attempt_log"]
    assert attempt["request_headers"]["X-Tenant"] == "acme"
    assert attempt["response_headers"]["x-request-id"] == "req-42"
    assert len(attempt["response_headers"]) <= 50


async def test_examples_follow_content_type_and_accept(
    api: Api,
    browser: Browser,  # noqa: F811
) -> None:
    page = await browser.new_page(viewport={"width": 1400, "height": 1000})
    await sign_in(page, api, api.key("acme"))
    await page.goto(api.url + "/webhooks/new")
    await page.select_option("#type", "form_submitted")
    example = page.locator(".example[data-type=form_submitted]")
    request = example.locator("pre[data-part=request]:visible")
    answers = example.locator("pre[data-part=response]:visible")
    await expect(request).to_have_attribute("data-format", "json")
    await page.select_option("#accept", "xml")
    await expect(request).to_have_attribute("data-format", "json")
    await expect(answers).to_have_count(2)
    for answer in await answers.all():
        await expect(answer).to_have_attribute("data-format", "xml")
    success = await answers.first.inner_text()
    assert success.startswith("<?xml") and "\n  <" in success, success  # indented
    await page.select_option("#content_type", "xml")
    await page.select_option("#accept", "json")
    await expect(request).to_have_attribute("data-format", "xml")
    assert "\n  <event>" in await request.inner_text()
    await expect(answers.first).to_have_attribute("data-format", "json")
