"""The server's limits on a project's webhooks, over the API and the command
line: one clear line, and nothing stored."""

from __future__ import annotations

import asyncio

import pytest
from sqlmodel import Session

from activities.store.webhooks import find_webhook
from tests.api.conftest import Api
from tests.worker.cli import Cli
from worker.runtime.settings import Settings

GOOD = {"type": "form_loaded", "url": "https://a.example.com/hook"}


@pytest.fixture
def settings(settings: Settings) -> Settings:
    """This server allows two webhooks a project (the API reads its settings once)."""
    return settings.replace(webhooks_per_project=2)


async def test_max_in_flight_over_the_ceiling_is_refused(api: Api, cli: Cli) -> None:
    async with api.http(api.key("acme")) as http:
        over = await http.post("/api/v1/webhooks", json={**GOOD, "alias": "a", "max_in_flight": 51})
        assert over.status_code == 422, over.text
        assert over.json()["detail"] == (
            "max_in_flight 51 is over this server's ceiling of 50 (HOOKFLOW_MAX_IN_FLIGHT_CEILING)"
        )
        made = await http.post("/api/v1/webhooks", json={**GOOD, "alias": "a", "max_in_flight": 50})
        assert made.status_code == 201, made.text
        raised = await http.patch("/api/v1/webhooks/a", json={"max_in_flight": 60})
        assert raised.status_code == 422 and "ceiling of 50" in raised.json()["detail"]
        assert (await http.get("/api/v1/webhooks/a")).json()["max_in_flight"] == 50
    _code, err = await asyncio.to_thread(
        cli.fails, "webhooks", "update", "a", "--project", "acme", "--max-in-flight", "80"
    )
    assert err == (
        "hookflow: error: max_in_flight 80 is over this server's ceiling of 50 "
        "(HOOKFLOW_MAX_IN_FLIGHT_CEILING)\n"
    )


async def test_a_project_has_at_most_its_webhooks(
    api: Api, cli: Cli, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("HOOKFLOW_WEBHOOKS_PER_PROJECT", "2")  # the command line's
    async with api.http(api.key("acme")) as http:
        for alias in ("a", "b"):
            made = await http.post("/api/v1/webhooks", json={**GOOD, "alias": alias})
            assert made.status_code == 201, made.text
        third = await http.post("/api/v1/webhooks", json={**GOOD, "alias": "c"})
        assert third.status_code == 422
        assert third.json()["detail"] == (
            "project 'acme' has 2 webhooks, the most this server allows "
            "(HOOKFLOW_WEBHOOKS_PER_PROJECT): delete one first"
        )
        assert len((await http.get("/api/v1/webhooks")).json()) == 2
    _code, err = await asyncio.to_thread(
        cli.fails,
        "webhooks",
        "add",
        "--project",
        "acme",
        "--type",
        "form_loaded",
        "--alias",
        "c",
        "--url",
        "https://a.example.com/hook",
    )
    assert err.startswith("hookflow: error: project 'acme' has 2 webhooks") and err.count("\n") == 1
    # Another project is not counted against this one.
    await asyncio.to_thread(
        cli.ok,
        "webhooks",
        "add",
        "--project",
        "other",
        "--type",
        "form_loaded",
        "--alias",
        "c",
        "--url",
        "https://a.example.com/hook",
    )


async def test_a_webhook_stored_over_the_ceiling_can_have_its_timeout_changed(
    api: Api, cli: Cli
) -> None:
    async with api.http(api.key("acme")) as http:
        made = await http.post("/api/v1/webhooks", json={**GOOD, "alias": "x"})
        assert made.status_code == 201, made.text
        with Session(api.engine) as session:  # stored when the API allowed up to 1000
            webhook = find_webhook(session=session, ref="x", project="acme")
            webhook.max_in_flight = 200
            session.add(webhook)
            session.commit()
        changed = await http.patch("/api/v1/webhooks/x", json={"timeout": 10})
        assert changed.status_code == 200, changed.text
        assert (changed.json()["timeout"], changed.json()["max_in_flight"]) == (10, 200)
        rotated = await http.post("/api/v1/webhooks/x/rotate-signing-secret")
        assert rotated.status_code == 200, rotated.text
    await asyncio.to_thread(
        cli.ok, "webhooks", "update", "x", "--project", "acme", "--timeout", "5"
    )
