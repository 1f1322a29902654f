"""A remote-data answer that cannot fill the form is a failed delivery, in the
log and in the pane, with the reason; the caller is told the same. Against a
real receiver on loopback."""

from __future__ import annotations

from playwright.async_api import Browser, expect

from tests.api.conftest import Api
from tests.api.test_pane_browser import browser, sign_in  # noqa: F401  (fixture)
from tests.helpers import add_webhook
from worker.devstack.receiver import Receiver, Reply

CHANGE = {"change": {"id": "customer_id", "type": "text", "value": "C-1042"}}


async def test_a_refused_answer_is_logged_failed_with_the_reason(
    api: Api,
    receiver: Receiver,
    browser: Browser,  # noqa: F811
) -> None:
    add_webhook(api.engine, api.box, alias="crm", type="remote_data", url=receiver.url("/rd"))
    receiver.script(
        "/rd",
        Reply(body=b'{"status": "success"}'),
        Reply(body=b'[{"value": "Dana Levi"}]'),
        Reply(body=b'[{"id": "customer_name", "value": "Dana Levi"}]'),
    )
    async with api.http(api.key("acme")) as http:
        session_id = (await http.post("/api/v1/sessions", json={})).json()["id"]
        url = f"/api/v1/sessions/{session_id}/field-changed"
        not_a_list = await http.post(url, json=CHANGE)
        assert not_a_list.status_code == 424, not_a_list.text
        assert "answer is not [{id, value}]: not a list" in not_a_list.json()["detail"]
        no_id = await http.post(url, json=CHANGE)
        assert no_id.status_code == 424, no_id.text
        assert "answer is not [{id, value}]: 0.id: Field required" in no_id.json()["detail"]
        assert "Dana Levi" not in no_id.text  # the answer's values stay out of the message
        good = await http.post(url, json=CHANGE)
        assert good.json() == [{"id": "customer_name", "value": "Dana Levi"}]
        assert len(receiver.at("/rd")) == 3  # a refused answer is not asked again

        logged = (await http.get(f"/api/v1/deliveries?session={session_id}")).json()
    by_status = sorted((d["status"], d["last_error"] or "") for d in logged)
    assert [status for status, _ in by_status] == ["delivered", "failed", "failed"]
    errors = [error for status, error in by_status if status == "failed"]
    assert any("answer is not [{id, value}]: not a list" in e for e in errors), errors
    assert any("0.id: Field required" in e for e in errors), errors

    page = await browser.new_page()
    await sign_in(page, api, api.key("acme"))
    await page.goto(f"{api.url}/deliveries?session={session_id}&status=failed")
    rows = page.locator("li.delivery")
    await expect(rows).to_have_count(2)
    await rows.first.locator("summary").first.click()
    reason = rows.first.locator(".detail .error")
    await expect(reason).to_contain_text("answer is not [{id, value}]")
