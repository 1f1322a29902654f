"""Webhooks over the API: every pane field, secrets redacted, the Test button,
the hook types' examples; the command line sees the same records."""

from __future__ import annotations

import asyncio
import hashlib
import json
import uuid
from typing import Any

import jsonschema
import xmltodict

from activities.delivery.signing import new_secret
from activities.schemas import schema
from tests.api.conftest import Api
from tests.worker.cli import Cli
from worker.devstack.receiver import Receiver, Reply

EVERY_FIELD: dict[str, Any] = {
    "alias": "crm",
    "type": "form_submitted",
    "explicit": True,
    "templates": ["loan-application"],
    "timeout": 12.5,
    "verify_ssl": False,
    "headers": {"X-Tenant": "acme"},
    "basic_username": "crm",
    "basic_password": "s3cret",
    "content_type": "xml",
    "accept": "xml",
    "retry_schedule": [0, 10, 60],
    "failover_url": "https://backup.example.com/hooks",
}


async def test_create_get_update_delete_with_every_field(api: Api, cli: Cli) -> None:
    signing = new_secret()
    async with api.http(api.key("acme")) as http:
        made = await http.post(
            "/api/v1/webhooks",
            json={**EVERY_FIELD, "url": "https://crm.example.com/h", "signing_secret": signing},
        )
        assert made.status_code == 201, made.text
        hook = made.json()
        assert hook["project"] == "acme" and hook["event"] == "WHEF_CLIENT_FORM_SUBMITTED"
        for name in ("templates", "timeout", "verify_ssl", "headers", "content_type"):
            assert hook[name] == EVERY_FIELD[name]
        assert hook["retry_schedule"] == [0, 10, 60]
        assert hook["basic_password"] == "********" and hook["signing_secret"] == "whsec_********"
        assert hook["integration"] == {"type": "webhook", "uuid": hook["id"]}
        assert "s3cret" not in made.text and signing not in made.text

        # The command line shows the very same record.
        shown = json.loads(
            await asyncio.to_thread(cli.ok, "webhooks", "show", hook["id"], "--json")
        )
        got = (await http.get(f"/api/v1/webhooks/{hook['id']}")).json()
        got.pop("integration")
        assert shown == got

        changed = await http.patch(
            f"/api/v1/webhooks/{hook['id']}",
            json={
                "custom_auth": {"X-Api-Key": "k-123"},
                "enabled": False,
                "disabled_reason": "paused",
            },
        )
        assert changed.status_code == 200, changed.text
        after = changed.json()
        assert after["id"] == hook["id"] and after["auth"] == "custom"
        assert after["custom_auth"] == {"X-Api-Key": "********"} and after["basic_password"] is None
        assert (after["enabled"], after["disabled_reason"]) == (False, "paused")

        rotated = await http.post(
            f"/api/v1/webhooks/{hook['id']}/rotate-signing-secret", json={"grace": 3600}
        )
        assert rotated.status_code == 200
        assert rotated.json()["signing_secret"].startswith("whsec_")
        assert rotated.json()["previous_signs_until"] is not None

        by_alias = await http.get("/api/v1/webhooks/crm")
        assert by_alias.json()["id"] == hook["id"]
        assert (await http.delete(f"/api/v1/webhooks/{hook['id']}")).status_code == 204
        assert (await http.get(f"/api/v1/webhooks/{hook['id']}")).status_code == 404
    assert "crm" not in await asyncio.to_thread(cli.ok, "webhooks", "list")


async def test_bad_input_is_one_line_and_writes_nothing(api: Api) -> None:
    good = {"alias": "a", "type": "archive", "url": "https://dms.example.com/a"}
    async with api.http(api.key("acme")) as http:
        for bad, message in [
            (
                {"url": "ftp://x"},
                "url: invalid URL 'ftp://x': use an absolute http:// or https:// URL",
            ),
            ({"type": "nope"}, "type: unknown webhook type 'nope'"),
            (
                {"headers": {"Content-Type": "x"}},
                "headers: header 'Content-Type' is set by hookflow",
            ),
            ({"retry_schedule": [-1]}, "retry_schedule"),
            ({"timeout": 0}, "timeout: Input should be greater than 0"),
            ({"secret_alias": "ghost"}, "project 'acme' has no secret 'ghost'"),
            ({"signing_secret": "nope"}, "signing_secret: a signing secret looks like whsec_"),
            ({"templates": ["t"]}, "templates can be coupled to explicit webhooks only"),
            ({"surprise": 1}, "surprise: Extra inputs are not permitted"),
        ]:
            answer = await http.post("/api/v1/webhooks", json={**good, **bad})
            assert answer.status_code == 422, (bad, answer.text)
            detail = answer.json()["detail"]
            assert message in detail and "\n" not in detail, detail
        broken = await http.post(
            "/api/v1/webhooks", content=b"{not json", headers={"content-type": "application/json"}
        )
        assert broken.status_code == 422 and broken.json()["code"] == "invalid"
        assert (await http.get("/api/v1/webhooks")).json() == []
        made = (await http.post("/api/v1/webhooks", json=good)).json()
        twice = await http.post("/api/v1/webhooks", json=good)
        assert twice.status_code == 409
        assert twice.json()["detail"] == "project 'acme' already has a webhook named 'a'"
        patched = await http.patch(f"/api/v1/webhooks/{made['id']}", json={"url": "nope"})
        assert patched.status_code == 422
        assert (await http.get(f"/api/v1/webhooks/{made['id']}")).json()["url"] == good["url"]


async def test_test_button_sends_the_example_through_the_real_path(
    api: Api, receiver: Receiver
) -> None:
    receiver.script("/ok", Reply(status=200, body=b'{"status": "success"}'))
    receiver.script("/err", Reply(status=200, body=b'{"status": "error", "message": "no"}'))
    async with api.http(api.key("acme")) as http:
        ok = (
            await http.post(
                "/api/v1/webhooks",
                json={
                    "alias": "ok",
                    "type": "form_loaded",
                    "url": receiver.url("/ok"),
                    "basic_username": "u",
                    "basic_password": "pw-secret",
                    "signing_secret": new_secret(),
                },
            )
        ).json()
        bad = (
            await http.post(
                "/api/v1/webhooks",
                json={"alias": "bad", "type": "archive", "url": receiver.url("/err")},
            )
        ).json()
        result = (await http.post(f"/api/v1/webhooks/{ok['id']}/test")).json()
        failed = (await http.post(f"/api/v1/webhooks/{bad['id']}/test")).json()
    [sent] = receiver.at("/ok")
    assert sent.headers["authorization"].startswith("Basic ")
    assert sent.headers["webhook-signature"].startswith("v1,")
    assert sent.json()["event"]["type"] == "WHEF_CLIENT_FORM_LOADED"
    assert result["success"] is True and result["verdict"] == "success"
    assert result["status_code"] == 200 and result["latency_ms"] > 0
    assert result["request"]["headers"]["authorization"] == "********"
    assert json.loads(result["request"]["body"]) == sent.json()
    assert result["response_excerpt"] == '{"status": "success"}'
    assert "pw-secret" not in json.dumps(result)
    assert failed["success"] is False
    assert failed["verdict"] == "failure: HTTP 200 with an error body"


async def test_hook_types_give_every_example_in_json_and_xml(api: Api) -> None:
    async with api.http(api.key("acme")) as http:
        listed = (await http.get("/api/v1/hook-types")).json()
        one = (await http.get("/api/v1/hook-types/archive")).json()
        missing = await http.get("/api/v1/hook-types/nope")
    assert {t["type"] for t in listed} >= {"archive", "remote_data", "send_sms", "session_created"}
    assert one["event"] == "WHP_ARCHIVE"
    assert one["request"]["event"]["type"] == "WHP_ARCHIVE"
    assert one["response_success"]["status"] == "success"
    assert one["response_error"]["status"] == "error"
    as_xml = xmltodict.parse(one["xml"]["request"])
    assert as_xml["webhook"]["event"]["type"] == "WHP_ARCHIVE"
    assert xmltodict.parse(one["xml"]["response_error"])["webhook"]["status"] == "error"
    assert missing.status_code == 404


async def test_each_hook_type_serves_its_json_schema(api: Api) -> None:
    async with api.http(api.key("acme")) as http:
        got = await http.get("/api/v1/hook-types/archive/schema")
        missing = await http.get("/api/v1/hook-types/nope/schema")
        listed = (await http.get("/api/v1/hook-types/archive")).json()
    doc = got.json()
    assert got.status_code == 200 and doc == schema("archive")
    assert doc["$schema"] == "https://json-schema.org/draft/2020-12/schema"
    # archive.v2: files embedded or by link, and documents_trimmed
    assert doc["$id"] == "urn:hookflow:schema:archive.v2" and doc["version"] == 2
    assert listed["schema_version"] == "archive.v2" and listed["json_schema"] == doc
    jsonschema.Draft202012Validator(doc).validate(listed["request"])
    assert missing.status_code == 404


async def test_filters_and_signatures_through_the_api(api: Api) -> None:
    async with api.http(api.key("acme")) as http:
        bad = await http.post(
            "/api/v1/webhooks",
            json={
                "alias": "f",
                "type": "form_loaded",
                "url": "https://x.example.com/",
                "filter": "a.[",
            },
        )
        made = await http.post(
            "/api/v1/webhooks",
            json={
                "alias": "f",
                "type": "form_loaded",
                "url": "https://x.example.com/",
                "filter": "session.labels.REGION == 'EU'",
                "signature": "ed25519",
            },
        )
        body = made.json()
        patched = await http.patch("/api/v1/webhooks/f", json={"filter": ""})
        rotated = await http.post("/api/v1/webhooks/f/rotate-signing-secret", json={"grace": 60})
        after = (await http.get("/api/v1/webhooks/f")).json()
    assert bad.status_code == 422 and "does not parse as JMESPath" in bad.text
    assert made.status_code == 201 and body["filter"] == "session.labels.REGION == 'EU'"
    assert body["signature"] == "ed25519" and body["public_key"].startswith("whpk_")
    assert body["signing_secret"] == "whsk_********" and "whsk_" not in made.text.replace(
        "whsk_********", ""
    )
    assert patched.json()["filter"] is None
    assert rotated.json()["signing_secret"] is None
    assert rotated.json()["public_key"] == after["public_key"] != body["public_key"]
    assert after["previous_public_key"] == body["public_key"]


async def test_secrets_are_write_only(api: Api) -> None:
    async with api.http(api.key("acme")) as http:
        made = await http.post(
            "/api/v1/secrets",
            json={
                "alias": "graph",
                "convention": "microsoft_graph",
                "token_url": "https://login.example.com/t",
                "client_id": "app",
                "client_secret": "very-secret",
                "scope": "hooks",
            },
        )
        assert made.status_code == 201, made.text
        assert made.json()["fields"]["client_secret"] == "********"
        listed = await http.get("/api/v1/secrets")
        assert "very-secret" not in listed.text and listed.json()[0]["alias"] == "graph"
        hook = await http.post(
            "/api/v1/webhooks",
            json={
                "alias": "h",
                "type": "archive",
                "url": "https://a.example.com",
                "secret_alias": "graph",
            },
        )
        in_use = await http.delete("/api/v1/secrets/graph")
        assert in_use.status_code == 409 and "is used by webhook 'h'" in in_use.json()["detail"]
        await http.delete(f"/api/v1/webhooks/{hook.json()['id']}")
        assert (await http.delete(f"/api/v1/secrets/{made.json()['id']}")).status_code == 204
        assert (await http.get("/api/v1/secrets")).json() == []
        incomplete = await http.post(
            "/api/v1/secrets",
            json={"alias": "x", "convention": "general", "token_url": "https://l.example.com"},
        )
        assert incomplete.status_code == 422
        assert "the general convention needs username and password" in incomplete.json()["detail"]


async def test_documents_upload_answers_the_reference(api: Api) -> None:
    data = b"%PDF-1.7 " + uuid.uuid4().bytes * 1000
    async with api.http(api.key("acme")) as http:
        answer = await http.post(
            "/api/v1/documents", files={"file": ("contract.pdf", data, "application/pdf")}
        )
        missing = await http.post("/api/v1/documents")
    assert answer.status_code == 201, answer.text
    entry = answer.json()
    assert entry == {
        "name": "contract.pdf",
        "content_type": "application/pdf",
        "ref": "sha256:" + hashlib.sha256(data).hexdigest(),
        "size": len(data),
        "project": "acme",
    }
    stored = api.settings.documents / "projects" / "acme" / entry["ref"].removeprefix("sha256:")
    assert stored.read_bytes() == data
    assert missing.status_code == 422


async def test_update_clears_what_the_cli_clears(api: Api) -> None:
    """--no-auth, --no-signing, --no-headers, --no-templates, --default-retry-schedule,
    --enable: each has its PATCH."""
    async with api.http(api.key("acme")) as http:
        hook = (
            await http.post(
                "/api/v1/webhooks",
                json={
                    **EVERY_FIELD,
                    "url": "https://crm.example.com/h",
                    "signing_secret": new_secret(),
                },
            )
        ).json()
        path = f"/api/v1/webhooks/{hook['id']}"
        await http.patch(path, json={"enabled": False})
        assert (await http.get(path)).json()["disabled_reason"] == "disabled by a user"
        cleared = await http.patch(
            path,
            json={
                "auth": "none",
                "signing_secret": "",
                "headers": {},
                "templates": [],
                "retry_schedule": None,
                "failover_url": "",
                "enabled": True,
            },
        )
        assert cleared.status_code == 200, cleared.text
        after = cleared.json()
    assert (after["auth"], after["basic_username"], after["basic_password"]) == ("none", None, None)
    assert after["signing_secret"] is None and after["headers"] == {} and after["templates"] == []
    assert after["retry_schedule"] == [0, 5, 300, 1800, 7200, 18000, 36000, 36000]
    assert after["failover_url"] is None
    assert (after["enabled"], after["disabled_reason"]) == (True, None)
