"""Documents by link, end to end: the archive delivery carries signed links to
hookflow's API, a real loopback receiver fetches them without an API key, and
a tampered or expired link is refused (403). An embedded archive over the
webhook's max body size goes with links and says so."""

from __future__ import annotations

import base64
import hashlib
import os
import uuid
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs, urlencode, urlsplit

import httpx
import pytest

from activities.contracts import Envelope
from activities.files.links import PURPOSE, DocumentLinks
from tests.activities.delivering import delivery_activities, envelope, request, run_deliver
from tests.api.conftest import Api
from worker.devstack.receiver import Received, Receiver

PDF = b"%PDF-1.7 " + os.urandom(6000)
NOTE = b"a small note"


class Fetcher:
    """What a receiver does with a linked archive: fetch each file, no key."""

    def __init__(self) -> None:
        self.fetched: dict[str, httpx.Response] = {}

    def __call__(self, received: Received) -> None:
        body = received.json()
        files = [body["document"], *body.get("attachments", [])]
        for file in files:
            if "url" in file:
                self.fetched[file["name"]] = httpx.get(file["url"], timeout=30)


async def _upload(api: Api, key: str, name: str, data: bytes) -> dict[str, Any]:
    async with api.http(key) as http:
        got = await http.post("/api/v1/documents", files={"file": (name, data)})
    assert got.status_code == 201, got.text
    return {k: got.json()[k] for k in ("name", "content_type", "ref")}


async def _webhook(api: Api, key: str, url: str, **fields: Any) -> uuid.UUID:
    body = {"alias": f"dms-{uuid.uuid4().hex[:6]}", "type": "archive", "url": url, **fields}
    async with api.http(key) as http:
        got = await http.post("/api/v1/webhooks", json=body)
    assert got.status_code == 201, got.text
    shown = got.json()
    assert shown["documents"] == fields.get("documents", "embed")
    return uuid.UUID(shown["id"])


def _archive(document: dict[str, Any], attachments: list[dict[str, Any]]) -> Envelope:
    base = envelope(1, event_type="WHP_ARCHIVE").model_dump(mode="json", exclude={"storage"})
    return Envelope.model_validate(
        {**base, "document": document, "attachments": attachments, "form_data": {"a": 1}}
    )


async def _deliver(api: Api, tmp_path: Path, webhook: uuid.UUID, archive: Envelope) -> None:
    async with delivery_activities(api.engine, api.box, tmp_path, public_url=api.url) as acts:
        req = request(webhook, 1)
        req = req.model_copy(update={"envelope": archive, "project": "acme"})
        assert (await run_deliver(acts, req)).status_code == 200


async def test_a_linked_archive_is_fetched_by_its_receiver(api: Api, tmp_path: Path) -> None:
    key = api.key("acme")
    pdf = await _upload(api, key, "contract.pdf", PDF)
    note = await _upload(api, key, "note.txt", NOTE)
    fetcher = Fetcher()
    with Receiver(listener=fetcher) as rx:
        webhook = await _webhook(api, key, rx.url("/dms"), documents="link")
        await _deliver(api, tmp_path, webhook, _archive(pdf, [note]))
        (got,) = rx.at("/dms")
    body = got.json()
    assert "content" not in body["document"] and "documents_trimmed" not in body
    assert body["document"]["sha256"] == hashlib.sha256(PDF).hexdigest()
    assert body["document"]["size"] == len(PDF)
    assert fetcher.fetched["contract.pdf"].status_code == 200
    assert fetcher.fetched["contract.pdf"].content == PDF
    assert fetcher.fetched["note.txt"].content == NOTE
    assert body["document"]["url"].startswith(api.url + "/api/v1/documents/sha256:")
    _check_schema(body)

    url = body["document"]["url"]
    parts = urlsplit(url)
    query = {k: v[0] for k, v in parse_qs(parts.query).items()}
    base = f"{api.url}{parts.path}"
    tampered = [
        {**query, "sig": query["sig"][:-1] + ("0" if query["sig"][-1] != "0" else "1")},
        {**query, "expires": str(int(query["expires"]) + 3600)},  # a longer life
        {**query, "project": "globex"},  # another project
    ]
    async with httpx.AsyncClient() as http:
        for params in tampered:
            refused = await http.get(f"{base}?{urlencode(params)}")
            assert refused.status_code == 403, params
            assert refused.json()["code"] == "forbidden"
        other_ref = note["ref"]
        swapped = await http.get(f"{api.url}/api/v1/documents/{other_ref}?{parts.query}")
        assert swapped.status_code == 403
        # a link signed with the server key but already expired
        links = DocumentLinks(key=api.box.derive(PURPOSE), base_url=api.url, ttl=-60)
        late, _ = links.url(project="acme", ref=pdf["ref"])
        expired = await http.get(late)
        assert expired.status_code == 403 and "expired" in expired.json()["detail"]
        assert (await http.get(url)).content == PDF  # the real one still works


async def test_an_archive_over_the_max_body_size_goes_with_links(api: Api, tmp_path: Path) -> None:
    key = api.key("acme")
    pdf = await _upload(api, key, "contract.pdf", PDF)
    note = await _upload(api, key, "note.txt", NOTE)
    fetcher = Fetcher()
    with Receiver(listener=fetcher) as rx:
        small = await _webhook(api, key, rx.url("/small"), max_body_size=4096)
        roomy = await _webhook(api, key, rx.url("/roomy"), max_body_size=64 * 1024)
        await _deliver(api, tmp_path, small, _archive(pdf, [note]))
        await _deliver(api, tmp_path, roomy, _archive(pdf, [note]))
        (trimmed,) = rx.at("/small")
        (whole,) = rx.at("/roomy")
    body = trimmed.json()
    assert body["documents_trimmed"] is True and "content" not in body["document"]
    assert len(trimmed.body) < 4096
    assert fetcher.fetched["contract.pdf"].content == PDF
    embedded = whole.json()
    assert "documents_trimmed" not in embedded
    assert base64.b64decode(embedded["document"]["content"]) == PDF
    _check_schema(body)
    _check_schema(embedded)


def _check_schema(body: dict[str, Any]) -> None:
    from tests.helpers import validate

    validate(body, "archive")


@pytest.mark.parametrize("documents", ["link"])
async def test_links_without_a_public_url_fail_the_delivery_in_one_line(
    api: Api, tmp_path: Path, documents: str
) -> None:
    from temporalio.exceptions import ApplicationError

    key = api.key("acme")
    pdf = await _upload(api, key, "contract.pdf", PDF)
    with Receiver() as rx:
        webhook = await _webhook(api, key, rx.url("/x"), documents=documents)
        async with delivery_activities(api.engine, api.box, tmp_path) as acts:
            req = request(webhook, 1).model_copy(update={"envelope": _archive(pdf, [])})
            with pytest.raises(ApplicationError) as caught:
                await run_deliver(acts, req)
        assert rx.at("/x") == []
    assert "HOOKFLOW_PUBLIC_URL" in str(caught.value) and caught.value.non_retryable


async def test_the_signed_link_is_the_only_operation_without_a_key(api: Api) -> None:
    async with api.http() as anonymous:
        schema = (await anonymous.get("/openapi.json")).json()
    keyless = [
        (method, path)
        for path, item in schema["paths"].items()
        for method, operation in item.items()
        if operation.get("security") == []
    ]
    assert keyless == [("get", "/api/v1/documents/{ref}")]


async def test_a_client_certificate_through_the_api_is_shown_by_subject_only(api: Api) -> None:
    from tests.tls import TestCA

    ca = TestCA()
    client, other = ca.issue("erp-client"), ca.issue("other")
    hook = {"alias": "erp", "type": "form_submitted", "url": "https://erp.example.com/h"}
    async with api.http(api.key("acme")) as http:
        bad = await http.post(
            "/api/v1/webhooks", json={**hook, "client_cert": client.cert, "client_key": other.key}
        )
        made = await http.post(
            "/api/v1/webhooks",
            json={
                **hook,
                "client_cert": client.cert,
                "client_key": client.key,
                "ca_bundle": ca.pem,
            },
        )
        listed = await http.get("/api/v1/webhooks")
    assert bad.status_code == 422
    assert bad.json()["detail"].endswith("client key: it does not match the client certificate")
    assert made.status_code == 201, made.text
    shown = made.json()
    assert shown["client_certificate"]["subject"] == "CN=erp-client"
    assert shown["ca_bundle"] == ["CN=hookflow test CA"]
    for text in (made.text, listed.text):
        assert "PRIVATE KEY" not in text and "BEGIN CERTIFICATE" not in text
    assert len(listed.json() if isinstance(listed.json(), list) else listed.json()["items"]) == 1


async def test_without_a_public_url_a_large_archive_is_still_embedded(
    api: Api, tmp_path: Path
) -> None:
    key = api.key("acme")
    pdf = await _upload(api, key, "contract.pdf", PDF)
    with Receiver() as rx:
        webhook = await _webhook(api, key, rx.url("/big"), max_body_size=4096)
        async with delivery_activities(api.engine, api.box, tmp_path) as acts:
            req = request(webhook, 1).model_copy(update={"envelope": _archive(pdf, [])})
            assert (await run_deliver(acts, req)).status_code == 200
        (got,) = rx.at("/big")
    body = got.json()
    assert base64.b64decode(body["document"]["content"]) == PDF
    assert "documents_trimmed" not in body
