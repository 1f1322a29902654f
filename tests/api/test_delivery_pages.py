"""Cursor paging of the delivery log over the API and in the pane: every row once,
in order, while new deliveries arrive between pages; filters kept; bad cursors refused."""

from __future__ import annotations

import re
from datetime import timedelta
from html import unescape

import httpx

from tests.api.conftest import Api
from tests.api.test_pane_security import sign_in
from tests.helpers import add_webhook
from tests.paging import BASE, add_deliveries


async def test_api_pages_every_delivery_once_while_new_ones_arrive(api: Api) -> None:
    hook = add_webhook(
        api.engine, api.box, alias="paged", type="storage_callback", url="http://127.0.0.1:9/r"
    )
    expected = add_deliveries(api.engine, 23, webhook_id=hook)
    add_deliveries(api.engine, 4, status="delivered", webhook_id=hook)  # filtered out
    add_deliveries(api.engine, 3, project="other")  # another project's
    seen: list[str] = []
    async with api.http(api.key("acme")) as http:
        url: str | None = "/api/v1/deliveries?status=failed&webhook=paged&limit=5"
        pages = 0
        while url:
            answer = await http.get(url)
            assert answer.status_code == 200, answer.text
            seen += [d["id"] for d in answer.json()]
            assert all(d["status"] == "failed" for d in answer.json())
            # Newer deliveries arrive between pages: they sort before the cursor.
            add_deliveries(api.engine, 2, start=BASE + timedelta(days=1 + pages), webhook_id=hook)
            url = answer.links.get("next", {}).get("url")
            assert url is None or ("status=failed" in url and "webhook=paged" in url)
            pages += 1
        assert pages == 5
        assert seen == expected  # none skipped, none repeated, newest first

        # ``cursor`` is the same parameter as ``after``.
        first = await http.get("/api/v1/deliveries?status=failed&webhook=paged&limit=5")
        cursor = first.links["next"]["url"].split("after=")[1]
        by_after = await http.get(f"/api/v1/deliveries?limit=5&after={cursor}")
        by_cursor = await http.get(f"/api/v1/deliveries?limit=5&cursor={cursor}")
        assert by_after.json() == by_cursor.json() and by_after.json()

        bad = await http.get("/api/v1/deliveries?after=not-a-cursor")
        assert bad.status_code == 422
        assert bad.json()["detail"].startswith("invalid cursor")
        assert "\n" not in bad.json()["detail"]


async def test_pane_next_link_keeps_the_filters(api: Api) -> None:
    hook = add_webhook(
        api.engine, api.box, alias="paned", type="storage_callback", url="http://127.0.0.1:9/r"
    )
    expected = add_deliveries(api.engine, 250, webhook_id=hook)
    add_deliveries(api.engine, 5, status="delivered", webhook_id=hook)
    seen: list[str] = []
    async with httpx.AsyncClient(base_url=api.url, timeout=60) as http:
        assert (await sign_in(http, api.key("acme"))).status_code == 303
        url: str | None = f"/deliveries?webhook={hook}&status=failed"
        while url:
            page = await http.get(url)
            assert page.status_code == 200
            seen += re.findall(r'data-delivery="([^"]+)"', page.text)
            add_deliveries(api.engine, 1, start=BASE + timedelta(days=len(seen)), webhook_id=hook)
            found = re.search(r'<a rel="next" href="([^"]+)">Next</a>', page.text)
            url = unescape(found[1]) if found else None
            assert url is None or (f"webhook={hook}" in url and "status=failed" in url)
        assert seen == expected
        bad = await http.get("/deliveries?after=%%%")
        assert bad.status_code == 200 and "invalid cursor" in bad.text


async def test_an_offset_is_refused_not_ignored(api: Api) -> None:
    # A client still paging by offset would get page 1 again and again.
    add_deliveries(api.engine, 3)
    async with api.http(api.key("acme")) as http:
        answer = await http.get("/api/v1/deliveries?offset=100")
    assert answer.status_code == 422
    assert "page with `after`" in answer.text


async def test_pane_says_why_a_delivery_is_waiting(api: Api) -> None:
    """Put off for the project's share of a server, or the webhook's cap on attempts
    at once: the pane says so in a customer's words, not only a rate limit."""
    hook = add_webhook(
        api.engine, api.box, alias="held", type="storage_callback", url="http://127.0.0.1:9/r"
    )
    add_deliveries(api.engine, 1, status="waiting", webhook_id=hook)
    async with httpx.AsyncClient(base_url=api.url, timeout=60) as http:
        assert (await sign_in(http, api.key("acme"))).status_code == 303
        page = await http.get(f"/deliveries?webhook={hook}")
    [help_text] = re.findall(r'<span class="status" title="([^"]*)">waiting</span>', page.text)
    assert unescape(help_text) == (
        "put off a moment: the webhook's rate limit or its limit on requests at once, "
        "a pause after failures, or your other deliveries are using this server's capacity"
    )
