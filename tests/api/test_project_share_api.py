"""A project's share of a worker over ``/api/v1/project`` and ``hookflow
projects``: an admin key sets it, a project key reads it and is refused (403)
when it tries to change it; a bad value is one 422 line and changes nothing;
the command line reads and refuses the same values in the same words."""

from __future__ import annotations

import json

from sqlmodel import Session

from activities.store.health import project_share
from tests.api.conftest import Api
from tests.worker.cli import Cli


def stored(api: Api, project: str) -> float | None:
    with Session(api.engine) as session:
        return project_share(session=session, project=project)


async def test_an_admin_sets_a_projects_share_and_the_project_reads_it(api: Api, cli: Cli) -> None:
    async with api.http(api.key("acme")) as http:
        shown = (await http.get("/api/v1/project")).json()
        assert shown["share"] == 0.5 and shown["share_default"]
    async with api.http(api.key(admin=True)) as admin:
        changed = await admin.patch("/api/v1/project?project=acme", json={"share": 0.3})
        assert changed.status_code == 200, changed.text
        assert changed.json()["share"] == 0.3 and not changed.json()["share_default"]
        text = await admin.patch("/api/v1/project?project=beta", json={"share": "0.25"})
        assert text.json()["share"] == 0.25
    assert stored(api, "acme") == 0.3 and stored(api, "beta") == 0.25
    async with api.http(api.key("acme")) as http:
        assert (await http.get("/api/v1/project")).json()["share"] == 0.3
    record = json.loads(cli.ok("projects", "show", "--project", "acme", "--json"))
    assert record["share"] == 0.3 and not record["share_default"]
    assert "0.3" in cli.ok("projects", "show", "--project", "acme")
    async with api.http(api.key(admin=True)) as admin:
        back = await admin.patch("/api/v1/project?project=acme", json={"share": "default"})
        assert back.json()["share_default"] and back.json()["share"] == 0.5
    assert stored(api, "acme") is None


async def test_a_project_key_may_not_change_its_share(api: Api) -> None:
    async with api.http(api.key("acme")) as http:
        for body in ({"share": 1.0}, {"share": "default"}, {"share": 0.9, "retention": "7d"}):
            answer = await http.patch("/api/v1/project", json=body)
            assert answer.status_code == 403, (body, answer.text)
            assert answer.json()["code"] == "forbidden"
            assert answer.json()["detail"] == (
                "share: only an admin key changes a project's share of the workers"
            )
        shown = (await http.get("/api/v1/project")).json()
        assert shown["share_default"] and shown["retention_default"]  # nothing changed
        # Its retention is still its own to change.
        assert (await http.patch("/api/v1/project", json={"retention": "7d"})).status_code == 200
    assert stored(api, "acme") is None


async def test_a_bad_share_is_one_line_and_changes_nothing(api: Api, cli: Cli) -> None:
    async with api.http(api.key(admin=True)) as admin:
        ok = await admin.patch("/api/v1/project?project=acme", json={"share": 0.4})
        assert ok.status_code == 200
        for body in (
            {"share": 0},
            {"share": -0.5},
            {"share": 1.5},
            {"share": "nan"},
            {"share": "half"},
            {"share": ""},
            {"share": True},
            {"share": [0.3]},
            {"share": 0.3, "retention": "5x"},
        ):
            answer = await admin.patch("/api/v1/project?project=acme", json=body)
            assert answer.status_code == 422, (body, answer.text)
            error = answer.json()
            assert error["code"] == "invalid"
            assert "\n" not in error["detail"] and error["detail"], body
            assert stored(api, "acme") == 0.4, body
        bounds = await admin.patch("/api/v1/project?project=acme", json={"share": 2})
        assert bounds.json()["detail"] == (
            "share: a fraction above 0 and at most 1 (e.g. 0.3), or 'default'"
        )
    # The command line refuses the same values in the same words.
    for bad in ("2", "0", "half"):
        _code, err = cli.fails("projects", "set", "--project", "acme", "--share", bad)
        assert err.count("\n") == 1
        assert "--share: a fraction above 0 and at most 1 (e.g. 0.3), or 'default'" in err
    assert stored(api, "acme") == 0.4
    out = cli.ok("projects", "set", "--project", "acme", "--share", "0.2")
    assert "0.2" in out and stored(api, "acme") == 0.2
    out = cli.ok("projects", "set", "--project", "acme", "--share", "default")
    assert "0.5 (default)" in out and stored(api, "acme") is None
