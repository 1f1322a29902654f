"""The pane in a real browser: Debian's Chromium driven by Playwright (this project
never has it download a browser). Sign in, add a webhook through the form, Test it,
redeliver a delivery."""

from __future__ import annotations

import os
import re
import shutil
from collections.abc import AsyncIterator
from pathlib import Path

import httpx
import pytest
from playwright.async_api import Browser, Page, async_playwright, expect
from standardwebhooks.webhooks import Webhook

from tests.api.conftest import Api
from tests.helpers import add_webhook, eventually, wait_for_requests
from worker.devstack.receiver import Receiver, Reply

CHROMIUM = "/usr/bin/chromium"
FLAGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
]
# Set to a folder to keep these screenshots (README's come from scripts/pane_screenshots.py).
SHOTS = os.environ.get("HOOKFLOW_SCREENSHOT_DIR")


@pytest.fixture
async def browser() -> AsyncIterator[Browser]:
    """Debian's Chromium, else one that `playwright install chromium` put here."""
    async with async_playwright() as playwright:
        if Path(CHROMIUM).exists():
            executable: str | None = CHROMIUM
        elif Path(playwright.chromium.executable_path).exists():
            executable = None  # Playwright's own
        else:
            pytest.fail(
                f"{CHROMIUM} is missing: make test installs it as root (apt-get install "
                "chromium), or run .venv/bin/playwright install chromium"
            )
        launched = await playwright.chromium.launch(
            executable_path=executable, args=FLAGS, headless=True, chromium_sandbox=False
        )
        yield launched
        await launched.close()


async def shot(page: Page, tmp_path: Path, name: str) -> None:
    path = tmp_path / f"{name}.png"
    await page.screenshot(path=str(path), full_page=True)
    if SHOTS:
        Path(SHOTS).mkdir(parents=True, exist_ok=True)
        shutil.copy(path, Path(SHOTS) / path.name)


async def sign_in(page: Page, api: Api, key: str) -> None:
    await page.goto(api.url + "/")
    await expect(page).to_have_url(re.compile(r"/login$"))
    await page.fill("input[name=key]", key)
    await page.click("button:has-text('Sign in')")


async def test_sign_in_add_a_webhook_and_test_it(
    api: Api, browser: Browser, receiver: Receiver, tmp_path: Path
) -> None:
    page = await browser.new_page(viewport={"width": 1400, "height": 1000})
    await sign_in(page, api, "hfk_wrong")
    await expect(page.locator(".error")).to_have_text("That key is not valid (or revoked).")
    await sign_in(page, api, api.key("acme"))
    await expect(page.locator("h1")).to_have_text("Webhooks")
    [cookie] = await page.context.cookies()
    assert (cookie["name"], cookie["httpOnly"], cookie["sameSite"]) == (
        "hookflow_pane",
        True,
        "Strict",
    )

    await page.click("text=Add")
    await page.select_option("#type", "form_submitted")
    example = page.locator(".example[data-type=form_submitted]")
    await expect(example).to_be_visible()
    await expect(example.locator("pre[data-format=json]").first).to_contain_text(
        '"type": "WHEF_CLIENT_FORM_SUBMITTED"'
    )
    await page.select_option("#content_type", "xml")
    await expect(example.locator("pre[data-format=xml]").first).to_contain_text(
        "<type>WHEF_CLIENT_FORM_SUBMITTED</type>"
    )
    await expect(page.locator(".example[data-type=archive]")).to_be_hidden()
    await page.select_option("#content_type", "json")

    await page.fill("input[name=alias]", "crm")
    await page.fill("input[name=url]", receiver.url("/crm"))
    await page.fill("input[name=timeout]", "10")
    await page.locator("input[name=header_name]").last.fill("X-Tenant")
    await page.locator("input[name=header_value]").last.fill("acme")
    await page.select_option("#auth", "basic")
    await page.fill("input[name=basic_username]", "crm")
    await page.fill("input[name=basic_password]", "s3cret")
    await page.click("button:has-text('Save')")
    await expect(page.locator(".flash")).to_have_text("Saved crm.")
    await expect(page.locator("input[name=basic_password]")).to_have_attribute(
        "placeholder", "******** (unchanged)"
    )

    receiver.script("/crm", Reply(status=200, body=b'{"status": "success"}'))
    await page.click("#test")
    result = page.locator("#test-result")
    await expect(result.locator(".verdict")).to_contain_text("Success: HTTP 200 in")
    await expect(result).to_contain_text("authorization: ********")
    await shot(page, tmp_path, "pane-webhook")
    [sent] = receiver.at("/crm")
    assert sent.headers["x-tenant"] == "acme" and sent.headers["authorization"].startswith("Basic")
    assert sent.json()["event"]["type"] == "WHEF_CLIENT_FORM_SUBMITTED"

    # A failing answer shows as a failure, in the pane.
    receiver.script("/crm", Reply(status=503, body=b"down"))
    await page.click("#test")
    await expect(page.locator("#test-result .verdict")).to_contain_text("Failure")
    await expect(page.locator("#test-result")).to_contain_text("verdict: failure: HTTP 503")

    # A bad URL is one clear line and changes nothing.
    await page.fill("input[name=url]", "ftp://nowhere")
    await page.evaluate("document.querySelector('input[name=url]').type = 'text'")
    await page.click("button:has-text('Save')")
    await expect(page.locator(".error")).to_contain_text("invalid URL 'ftp://nowhere'")
    async with api.http(api.key("acme")) as http:
        [stored] = (await http.get("/api/v1/webhooks")).json()
    assert stored["url"] == receiver.url("/crm") and stored["headers"] == {"X-Tenant": "acme"}
    assert stored["basic_password"] == "********" and stored["timeout"] == 10

    # Edit keeps the UUID; Delete asks first.
    await page.goto(f"{api.url}/webhooks/{stored['id']}")
    await page.check("input[name=mode][value=explicit]")
    await page.fill("input[name=templates]", "loan-application")
    await page.fill("input[name=url]", receiver.url("/crm2"))
    await page.click("button:has-text('Save')")
    await expect(page.locator(".flash")).to_have_text("Saved crm.")
    async with api.http(api.key("acme")) as http:
        [edited] = (await http.get("/api/v1/webhooks")).json()
    assert edited["id"] == stored["id"] and edited["explicit"] is True
    assert edited["templates"] == ["loan-application"] and edited["url"].endswith("/crm2")
    assert edited["basic_password"] == "********"  # left blank: kept

    # A generated signing secret is shown once, on the page, and signs the Test.
    await page.click("summary:has-text('Delivery')")
    await page.select_option("#signing", "generate")
    await page.click("button:has-text('Save')")
    notice = await page.locator(".flash").inner_text()
    secret = notice.rsplit(" ", 1)[1]
    assert notice.startswith("Saved crm. New signing secret, shown this once: whsec_")
    await page.goto(f"{api.url}/webhooks/{stored['id']}")
    await expect(page.locator("main")).not_to_contain_text(secret)
    await page.click("#test")
    await expect(page.locator("#test-result .verdict")).to_contain_text("Success")
    signed = receiver.at("/crm2")[-1]
    Webhook(secret).verify(signed.body, signed.headers)

    await page.goto(api.url + "/")
    await expect(page.locator("table.list")).to_contain_text("crm")
    await shot(page, tmp_path, "pane-webhooks")
    await page.click("text=crm")
    page.once("dialog", lambda dialog: dialog.accept())
    await page.click("button:has-text('Delete')")
    await expect(page.locator(".flash")).to_have_text("Deleted crm.")
    await expect(page.locator("main")).to_contain_text("No webhooks yet.")


async def test_redeliver_from_the_deliveries_page(
    api: Api, browser: Browser, receiver: Receiver, tmp_path: Path
) -> None:
    add_webhook(
        api.engine,
        api.box,
        alias="dw",
        type="session_created",
        url=receiver.url("/dw"),
        retry_schedule=[0, 0.2],
    )
    receiver.always("/dw", Reply(status=500, body=b'{"error": "database down"}'))
    async with api.http(api.key("acme")) as http:
        session_id = (await http.post("/api/v1/sessions", json={})).json()["id"]
        await eventually(
            lambda: http.get(f"/api/v1/deliveries?session={session_id}&status=failed"),
            lambda r: len(r.json()) == 1,
        )
    page = await browser.new_page(viewport={"width": 1400, "height": 900})
    await sign_in(page, api, api.key("acme"))
    await page.click("text=Recent deliveries")
    row = page.locator("li.delivery").first
    await expect(row.locator(".event")).to_have_text("WHEF_SESSION_CREATED")
    await expect(row.locator(".status")).to_have_text("failed")
    await expect(row.locator(".attempts")).to_have_text("2 attempts")
    await expect(row.locator(".http")).to_have_text("500")
    await row.locator("summary").click()
    await expect(row.locator(".detail pre").first).to_have_text('{"error": "database down"}')
    await expect(row.locator(".attempts-log tbody tr")).to_have_count(2)
    await expect(row.locator(".detail pre").last).to_contain_text('"type": "WHEF_SESSION_CREATED"')
    await shot(page, tmp_path, "pane-deliveries")

    receiver.always("/dw", Reply(status=200))
    await row.locator("button:has-text('Redeliver')").click()
    await expect(page.locator(".flash")).to_contain_text("Redelivery of")
    resent = await wait_for_requests(receiver, 3, "/dw")
    assert resent[2].headers["webhook-id"] == resent[0].headers["webhook-id"]

    async def status() -> str:
        await page.reload()
        return await page.locator("li.delivery .status").first.inner_text()

    await eventually(status, lambda s: s == "delivered")
    await expect(page.locator("li.delivery .attempts").first).to_have_text("3 attempts")

    await page.click(f"text={session_id}")
    await expect(page.locator("h1")).to_have_text(f"Session {session_id}")
    await expect(page.locator("table.list").first).to_contain_text("WHEF_SESSION_CREATED")
    # Customers have no access to the operators' tools: the page does not send them there.
    await expect(page.locator("body")).not_to_contain_text("Temporal")
    await shot(page, tmp_path, "pane-session")


async def test_forms_need_the_csrf_token_and_pages_a_key(api: Api, browser: Browser) -> None:
    async with httpx.AsyncClient(base_url=api.url) as http:
        assert (await http.get("/", follow_redirects=False)).headers["location"] == "/login"
        forged = await http.post("/login", data={"key": api.key("acme")})
        assert forged.status_code == 403
    page = await browser.new_page()
    await sign_in(page, api, api.key("acme"))
    other = add_webhook(
        api.engine, api.box, project="other", type="archive", url="https://x.example.com"
    )
    answer = await page.goto(f"{api.url}/webhooks/{other}")
    assert answer is not None and answer.status == 404
    await expect(page.locator(".error")).to_have_text(f"no webhook '{other}'")
    forged_delete = await page.request.post(f"{api.url}/webhooks/{other}/delete", form={})
    assert forged_delete.status == 403


async def test_the_form_takes_a_filter_and_an_ed25519_signature_and_shows_the_schema(
    api: Api, browser: Browser, receiver: Receiver, tmp_path: Path
) -> None:
    page = await browser.new_page(viewport={"width": 1400, "height": 1000})
    await sign_in(page, api, api.key("acme"))
    await page.goto(api.url + "/webhooks/new")
    await page.select_option("#type", "form_loaded")
    example = page.locator(".example[data-type=form_loaded]")
    await example.locator("details.schema summary").click()
    await expect(example.locator("details.schema")).to_contain_text("form_loaded.v1")
    await expect(example.locator("details.schema pre")).to_contain_text(
        "https://json-schema.org/draft/2020-12/schema"
    )
    await page.fill("input[name=alias]", "eu")
    await page.fill("input[name=url]", receiver.url("/eu"))
    await page.click("summary:has-text('Delivery')")
    await page.fill("input[name=filter]", "session.labels.REGION == 'EU'")
    await page.select_option("#signature", "ed25519")
    await page.click("button:has-text('Save')")
    await expect(page.locator(".flash")).to_have_text("Saved eu.")
    key = await page.locator("#public-key").text_content()
    assert key is not None and key.startswith("whpk_")
    await expect(page.locator("input[name=filter]")).to_have_value("session.labels.REGION == 'EU'")
    async with api.http(api.key("acme")) as http:
        stored = (await http.get("/api/v1/webhooks/eu")).json()
    assert stored["public_key"] == key and stored["filter"] == "session.labels.REGION == 'EU'"

    # A filter that does not parse is one line, and nothing changes.
    await page.fill("input[name=filter]", "labels.[")
    await page.click("button:has-text('Save')")
    await expect(page.locator(".error")).to_contain_text("does not parse as JMESPath")
    await shot(page, tmp_path, "pane-contract")
