"""Keys and project scope, for every resource: 401 without a valid key, 404 for
another project's objects, 403 for a body naming another project."""

from __future__ import annotations

import asyncio
import re
import uuid
from typing import Any

from sqlmodel import Session

from activities.store.keys import revoke_key
from activities.store.tables import Delivery
from tests.api.conftest import Api
from tests.helpers import eventually
from worker.devstack.receiver import Receiver


def api_operations(schema: dict[str, Any]) -> list[tuple[str, str]]:
    """Every operation of the OpenAPI document, path parameters filled in; not
    those that declare they need no key (``security: []``: a signed document link)."""
    found = []
    for path, item in schema["paths"].items():
        for method, operation in item.items():
            if operation.get("security") == []:
                continue
            found.append((method.upper(), re.sub(r"\{[^}]+\}", "x", path)))
    return found


async def test_every_operation_needs_a_valid_key(api: Api) -> None:
    async with api.http() as anonymous:
        schema = (await anonymous.get("/openapi.json")).json()
    operations = api_operations(schema)
    assert len(operations) >= 20
    revoked = api.key("acme")
    with Session(api.engine) as session:
        revoke_key(session=session, ref=revoked[:12])
    for key in (None, "hfk_" + "x" * 43, "not-a-key", revoked):
        async with api.http(key) as http:
            for method, path in operations:
                answer = await http.request(method, path)
                assert answer.status_code == 401, (key, method, path, answer.text)
                assert answer.headers["www-authenticate"] == "Bearer"
                assert answer.json()["code"] == "unauthorized"


async def _other_projects_objects(api: Api, other: str, receiver: Receiver) -> dict[str, str]:
    """A webhook, a secret, a session, a process and a delivery of ``other``."""
    async with api.http(api.key(other)) as http:
        hook = (
            await http.post(
                "/api/v1/webhooks",
                json={"alias": "crm", "type": "session_created", "url": receiver.url("/b")},
            )
        ).json()
        secret = (
            await http.post(
                "/api/v1/secrets",
                json={
                    "alias": "tok",
                    "token_url": "https://login.example.com/token",
                    "convention": "general",
                    "username": "u",
                    "password": "p",
                },
            )
        ).json()
        session = (await http.post("/api/v1/sessions", json={})).json()
        process = (
            await http.post("/api/v1/processes", json={"sessions": [{"template": "t1"}]})
        ).json()

    def delivery() -> str | None:
        with Session(api.engine) as db:
            row = db.get(Delivery, _first_delivery(db, session["id"]))
            return row.id if row else None

    found = await eventually(lambda: asyncio.to_thread(delivery), lambda d: d is not None)
    return {
        "webhook": hook["id"],
        "secret": secret["id"],
        "session": session["id"],
        "process": process["id"],
        "delivery": str(found),
    }


def _first_delivery(db: Session, session_id: str) -> str:
    from sqlmodel import select

    row = db.exec(select(Delivery.id).where(Delivery.session_id == session_id)).first()
    return row or "none"


async def test_another_projects_objects_are_not_found(api: Api, receiver: Receiver) -> None:
    other = f"b{uuid.uuid4().hex[:6]}"
    ids = await _other_projects_objects(api, other, receiver)
    webhook, session, process, delivery = (
        ids["webhook"],
        ids["session"],
        ids["process"],
        ids["delivery"],
    )
    not_found: list[tuple[str, str, dict[str, Any] | None]] = [
        ("GET", f"/api/v1/webhooks/{webhook}", None),
        ("GET", "/api/v1/webhooks/crm", None),
        ("PATCH", f"/api/v1/webhooks/{webhook}", {"timeout": 5}),
        ("DELETE", f"/api/v1/webhooks/{webhook}", None),
        ("POST", f"/api/v1/webhooks/{webhook}/test", None),
        ("POST", f"/api/v1/webhooks/{webhook}/rotate-signing-secret", None),
        ("DELETE", f"/api/v1/secrets/{ids['secret']}", None),
        ("DELETE", "/api/v1/secrets/tok", None),
        ("GET", f"/api/v1/sessions/{session}", None),
        ("POST", f"/api/v1/sessions/{session}/signals/form_loaded", {}),
        ("POST", f"/api/v1/sessions/{session}/field-changed", {"change": {"id": "f"}}),
        ("GET", f"/api/v1/processes/{process}", None),
        ("POST", f"/api/v1/processes/{process}/signals/form_loaded", {}),
        ("POST", f"/api/v1/processes/{process}/field-changed", {"change": {"id": "f"}}),
        ("GET", f"/api/v1/deliveries/{delivery}", None),
        ("POST", f"/api/v1/deliveries/{delivery}/redeliver", None),
        ("POST", "/api/v1/deliveries/redeliver", {"webhook": webhook}),
        ("GET", f"/api/v1/deliveries?webhook={webhook}", None),
    ]
    async with api.http(api.key("acme")) as http:
        for method, path, body in not_found:
            answer = await http.request(method, path, json=body)
            assert answer.status_code == 404, (method, path, answer.text)
            assert answer.json()["code"] == "not_found"
        # Lists show the key's own project only.
        assert (await http.get("/api/v1/webhooks")).json() == []
        assert (await http.get("/api/v1/secrets")).json() == []
        assert (await http.get("/api/v1/deliveries")).json() == []
    # Nothing was changed: the other project still has everything.
    async with api.http(api.key(other)) as http:
        shown = (await http.get(f"/api/v1/webhooks/{webhook}")).json()
        assert shown["timeout"] == 30 and shown["alias"] == "crm"
        assert len((await http.get("/api/v1/secrets")).json()) == 1
        assert (await http.get(f"/api/v1/deliveries/{delivery}")).status_code == 200
    async with api.http(api.key(admin=True)) as admin:
        assert (await admin.get(f"/api/v1/sessions/{session}")).json()["project"] == other
        assert (await admin.get(f"/api/v1/webhooks?project={other}")).json()[0]["id"] == webhook


async def test_a_body_naming_another_project_is_forbidden(api: Api, receiver: Receiver) -> None:
    url = receiver.url("/x")
    forbidden: list[tuple[str, str, dict[str, Any] | None]] = [
        (
            "POST",
            "/api/v1/webhooks",
            {"project": "other", "alias": "a", "type": "archive", "url": url},
        ),
        (
            "POST",
            "/api/v1/secrets",
            {
                "project": "other",
                "alias": "s",
                "token_url": "https://login.example.com/t",
                "convention": "general",
                "username": "u",
                "password": "p",
            },
        ),
        ("POST", "/api/v1/sessions", {"project": "other"}),
        ("POST", "/api/v1/processes", {"project": "other", "sessions": [{}]}),
        ("POST", "/api/v1/deliveries/redeliver", {"project": "other", "webhook": "crm"}),
        ("GET", "/api/v1/webhooks?project=other", None),
        ("GET", "/api/v1/secrets?project=other", None),
        ("GET", "/api/v1/deliveries?project=other", None),
    ]
    async with api.http(api.key("acme")) as http:
        for method, path, body in forbidden:
            answer = await http.request(method, path, json=body)
            assert answer.status_code == 403, (method, path, answer.text)
            assert answer.json() == {
                "detail": "this key reaches project 'acme' only",
                "code": "forbidden",
            }
        assert (await http.get("/api/v1/webhooks")).json() == []  # nothing was written
        assert (await http.get("/api/v1/secrets")).json() == []


async def test_admin_key_must_name_the_project_of_new_things(api: Api) -> None:
    async with api.http(api.key(admin=True)) as http:
        answer = await http.post(
            "/api/v1/webhooks",
            json={"alias": "a", "type": "archive", "url": "https://dms.example.com/a"},
        )
        assert answer.status_code == 422
        assert answer.json()["detail"] == "project: required with an admin key"
        made = await http.post(
            "/api/v1/webhooks",
            json={
                "project": "zeta",
                "alias": "a",
                "type": "archive",
                "url": "https://dms.example.com/a",
            },
        )
        assert made.status_code == 201 and made.json()["project"] == "zeta"
