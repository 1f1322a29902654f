"""The pane's sign-ins over HTTP against the real app: sessions on the server
(signing out or revoking the key ends them at once, a stolen cookie opens
nothing afterwards), Secure cookies over HTTPS, no framing, no caching of
pages with secrets or payloads, API docs without a CDN, sign-ins rate limited."""

from __future__ import annotations

import re

import httpx
from sqlmodel import Session

from activities.store.keys import create_key, revoke_key
from tests.api.conftest import Api

COOKIE = "hookflow_pane"


def csrf_of(page: httpx.Response) -> str:
    found = re.search(r'name="csrf" value="([^"]+)"', page.text)
    assert found, page.text[:500]
    return found[1]


async def sign_in(http: httpx.AsyncClient, key: str, **headers: str) -> httpx.Response:
    page = await http.get("/login", headers=headers)
    return await http.post(
        "/login", data={"key": key, "csrf": csrf_of(page)}, headers=headers, follow_redirects=False
    )


async def test_signing_out_ends_the_session_on_the_server(api: Api) -> None:
    async with httpx.AsyncClient(base_url=api.url) as http:
        await http.get("/login")
        before = http.cookies[COOKIE]
        signed = await sign_in(http, api.key("acme"))
        assert signed.status_code == 303, signed.text
        stolen = http.cookies[COOKIE]
        assert stolen != before  # a new id at sign-in: no fixation
        assert "." not in stolen and len(stolen) >= 40  # an id, nothing signed in it
        home = await http.get("/")
        assert home.status_code == 200 and "Webhooks" in home.text
        out = await http.post("/logout", data={"csrf": csrf_of(home)}, follow_redirects=False)
        assert out.status_code == 303
    async with httpx.AsyncClient(base_url=api.url, cookies={COOKIE: stolen}) as thief:
        replayed = await thief.get("/", follow_redirects=False)
        assert replayed.status_code == 303 and replayed.headers["location"] == "/login"


async def test_revoking_the_key_ends_its_sessions_at_once(api: Api) -> None:
    with Session(api.engine) as session:
        record, key = create_key(session=session, project="acme", admin=False)
    async with httpx.AsyncClient(base_url=api.url) as http:
        assert (await sign_in(http, key)).status_code == 303
        assert (await http.get("/")).status_code == 200
        with Session(api.engine) as session:
            revoke_key(session=session, ref=str(record.id))
        gone = await http.get("/", follow_redirects=False)
        assert gone.status_code == 303 and gone.headers["location"] == "/login"


async def test_the_cookie_is_secure_over_https_or_behind_a_proxy_that_says_so(api: Api) -> None:
    async with httpx.AsyncClient(base_url=api.url) as http:
        plain = await http.get("/login")
        assert "secure" not in plain.headers["set-cookie"].lower()
        assert "httponly" in plain.headers["set-cookie"].lower()
        assert "samesite=strict" in plain.headers["set-cookie"].lower()
    async with httpx.AsyncClient(base_url=api.url) as http:
        # uvicorn trusts X-Forwarded-Proto from 127.0.0.1 (FORWARDED_ALLOW_IPS).
        proxied = await http.get("/login", headers={"x-forwarded-proto": "https"})
        assert "; secure" in proxied.headers["set-cookie"].lower()


async def test_no_framing_and_no_caching_of_pages_or_answers(api: Api) -> None:
    key = api.key("acme")
    async with httpx.AsyncClient(base_url=api.url) as http:
        assert (await sign_in(http, key)).status_code == 303
        for path in ("/login", "/", "/deliveries", "/webhooks/new"):
            page = await http.get(path)
            assert page.headers["x-frame-options"] == "DENY", path
            assert "frame-ancestors 'none'" in page.headers["content-security-policy"]
            assert page.headers["cache-control"] == "no-store", path
        api_answer = await http.get("/api/v1/webhooks", headers={"authorization": f"Bearer {key}"})
        assert api_answer.headers["cache-control"] == "no-store"
        assert api_answer.headers["x-frame-options"] == "DENY"
        static = await http.get("/static/pane.css")
        assert static.status_code == 200 and static.headers.get("cache-control") != "no-store"


async def test_the_api_docs_load_nothing_from_another_origin(api: Api) -> None:
    async with httpx.AsyncClient(base_url=api.url) as http:
        docs = await http.get("/api/docs")
        assert docs.status_code == 200
        sources = re.findall(r'(?:src|href)="([^"]+)"', docs.text)
        assert sources and all(s.startswith("/") for s in sources), sources
        assert "cdn" not in docs.text and "https://" not in docs.text
        for source in sources:
            asset = await http.get(source)
            assert asset.status_code == 200 and len(asset.content) > 1000, source


async def test_sign_in_attempts_are_rate_limited_per_client(api: Api) -> None:
    async with httpx.AsyncClient(base_url=api.url) as http:
        answers = [(await sign_in(http, "hfk_wrong")).status_code for _ in range(11)]
        assert answers[:10] == [401] * 10 and answers[10] == 429
        limited = await sign_in(http, api.key("acme"))
        assert limited.status_code == 429 and int(limited.headers["retry-after"]) >= 1
        assert "Too many sign-in attempts" in limited.text
