"""``/api/v1/project``: a key reads and sets its own project's retention, with
the command line's parsing and bounds; a bad value is one 422 line and changes
nothing; a key of one project never reaches another's."""

from __future__ import annotations

import json

from sqlmodel import Session

from activities.store.health import retention
from tests.api.conftest import Api
from tests.worker.cli import Cli

DAY = 86400.0


def stored(api: Api, project: str) -> float:
    with Session(api.engine) as session:
        return retention(session=session, project=project)


async def test_a_key_sets_its_projects_retention(api: Api, cli: Cli) -> None:
    async with api.http(api.key("acme")) as http:
        shown = (await http.get("/api/v1/project")).json()
        assert shown["project"] == "acme"
        assert shown["retention"] == 30 * DAY and shown["retention_default"]
        changed = await http.patch("/api/v1/project", json={"retention": "7d"})
        assert changed.status_code == 200, changed.text
        assert changed.json()["retention"] == 7 * DAY
        assert changed.json()["retention_text"] == "7 days"
        assert not changed.json()["retention_default"]
        assert (await http.get("/api/v1/project")).json()["retention"] == 7 * DAY
    # What the command line and the retention schedule read.
    assert stored(api, "acme") == 7 * DAY
    record = json.loads(cli.ok("projects", "show", "--project", "acme", "--json"))
    assert record["retention"] == 7 * DAY and not record["retention_default"]
    async with api.http(api.key("acme")) as http:
        back = await http.patch("/api/v1/project", json={"retention": "default"})
        assert back.json()["retention_default"] and back.json()["retention"] == 30 * DAY
    assert stored(api, "acme") == 30 * DAY


async def test_a_bad_retention_is_one_line_and_changes_nothing(api: Api, cli: Cli) -> None:
    async with api.http(api.key("acme")) as http:
        assert (await http.patch("/api/v1/project", json={"retention": "12h"})).status_code == 200
        for body in (
            {"retention": "5x"},
            {"retention": "10m"},  # under 1h
            {"retention": "3651d"},  # over 3650d
            {"retention": ""},
            {"retention": 30},
            {"retention": "7d", "disable": True},
            {},
        ):
            answer = await http.patch("/api/v1/project", json=body)
            assert answer.status_code == 422, (body, answer.text)
            error = answer.json()
            assert error["code"] == "invalid"
            assert "\n" not in error["detail"] and error["detail"], body
            assert stored(api, "acme") == 12 * 3600, body
        bounds = await http.patch("/api/v1/project", json={"retention": "10m"})
        assert bounds.json()["detail"] == "retention: between 1h and 3650d, or 'default'"
    # The command line refuses the same value in the same words.
    _code, err = cli.fails("projects", "set", "--project", "acme", "--retention", "10m")
    assert "between 1h and 3650d, or 'default'" in err


async def test_a_project_key_never_reaches_another_project(api: Api) -> None:
    async with api.http(api.key("beta")) as beta:
        await beta.patch("/api/v1/project", json={"retention": "90d"})
    async with api.http(api.key("acme")) as acme:
        for method, body in (("GET", None), ("PATCH", {"retention": "1h"})):
            answer = await acme.request(method, "/api/v1/project?project=beta", json=body)
            assert answer.status_code == 403, answer.text
            assert answer.json()["code"] == "forbidden"
        own = await acme.patch("/api/v1/project", json={"retention": "2d"})
        assert own.json()["project"] == "acme"
    assert stored(api, "beta") == 90 * DAY
    assert stored(api, "acme") == 2 * DAY


async def test_an_admin_key_names_the_project(api: Api) -> None:
    async with api.http(api.key(admin=True)) as admin:
        unnamed = await admin.patch("/api/v1/project", json={"retention": "3d"})
        assert unnamed.status_code == 422
        assert unnamed.json()["detail"] == "project: required with an admin key"
        named = await admin.patch("/api/v1/project?project=beta", json={"retention": "3d"})
        assert named.status_code == 200 and named.json()["project"] == "beta"
        bad = await admin.get("/api/v1/project?project=Not%20A%20Slug")
        assert bad.status_code == 422
    assert stored(api, "beta") == 3 * DAY
    assert stored(api, "acme") == 30 * DAY
