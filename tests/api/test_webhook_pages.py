"""Cursor paging of ``GET /api/v1/webhooks``: every webhook once, by project and
alias, while webhooks are added and deleted between pages; a project key sees
its own only; a bad cursor is one 422 line."""

from __future__ import annotations

from sqlmodel import Session

from activities.store.webhooks import delete_webhook, find_webhook
from tests.api.conftest import Api
from tests.helpers import add_webhook

URL = "http://127.0.0.1:9/r"


def hook(api: Api, project: str, alias: str) -> None:
    add_webhook(api.engine, api.box, project=project, alias=alias, type="session_created", url=URL)


async def test_api_pages_every_webhook_once_while_webhooks_change(api: Api) -> None:
    for project, count in (("acme", 7), ("beta", 4)):
        for n in range(count):
            hook(api, project, f"h{n:02d}")
    expected = [("acme", f"h{n:02d}") for n in range(7)] + [("beta", f"h{n:02d}") for n in range(4)]
    seen: list[tuple[str, str]] = []
    async with api.http(api.key(admin=True)) as http:
        url: str | None = "/api/v1/webhooks?limit=3"
        pages = 0
        while url:
            answer = await http.get(url)
            assert answer.status_code == 200, answer.text
            seen += [(w["project"], w["alias"]) for w in answer.json()]
            if pages == 1:
                # Between pages: one added before the cursor (not shown, nothing
                # shifts), one after it (shown once), one already seen deleted.
                hook(api, "acme", "a-first")
                hook(api, "beta", "h99")
                with Session(api.engine) as session:
                    gone = find_webhook(session=session, ref="h00", project="acme")
                    delete_webhook(session=session, webhook=gone)
            url = answer.links.get("next", {}).get("url")
            assert url is None or "limit=3" in url
            pages += 1
        assert seen == [*expected, ("beta", "h99")]  # none skipped, none repeated
        assert pages == 4

    async with api.http(api.key("beta")) as http:
        first = await http.get("/api/v1/webhooks?limit=2")
        assert [w["alias"] for w in first.json()] == ["h00", "h01"]
        # ``cursor`` is the same parameter as ``after``.
        cursor = first.links["next"]["url"].split("after=")[1]
        by_after = await http.get(f"/api/v1/webhooks?limit=2&after={cursor}")
        by_cursor = await http.get(f"/api/v1/webhooks?limit=2&cursor={cursor}")
        assert by_after.json() == by_cursor.json()
        assert [w["alias"] for w in by_after.json()] == ["h02", "h03"]
        last = await http.get("/api/v1/webhooks?limit=10")
        assert {w["project"] for w in last.json()} == {"beta"} and "link" not in last.headers

        for bad in ("not-a-cursor", "WyJhY21lIl0", "%%%"):
            answer = await http.get(f"/api/v1/webhooks?after={bad}")
            assert answer.status_code == 422
            assert answer.json()["detail"].startswith("invalid cursor")
            assert "\n" not in answer.json()["detail"]
