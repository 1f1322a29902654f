"""The server's limits on a project's webhooks, over the API and the command
line: one clear line, and nothing stored."""

from __future__ import annotations

import asyncio

import pytest

from tests.api.conftest import Api
from tests.worker.cli import Cli

GOOD = {"type": "form_loaded", "url": "https://a.example.com/hook"}


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
    monkeypatch.setenv("HOOKFLOW_WEBHOOKS_PER_PROJECT", "2")
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
