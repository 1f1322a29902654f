"""``hookflow retention show/run`` and ``projects set --retention`` on the command line."""

from __future__ import annotations

import json
from datetime import timedelta
from pathlib import Path

import pytest

from activities.store.database import make_engine
from tests.activities.test_retention import _left, _rows
from tests.worker.cli import Cli

DAY = timedelta(days=1)


def test_a_project_sets_its_retention(cli: Cli) -> None:
    assert "30 days (default)" in cli.ok("projects", "show", "--project", "acme")
    assert "7 days" in cli.ok("projects", "set", "--project", "acme", "--retention", "7d")
    record = json.loads(cli.ok("projects", "show", "--project", "acme", "--json"))
    assert record["retention"] == 7 * 86400 and not record["retention_default"]
    assert record["disable_after_default"]  # the other setting is left as it was
    for bad in (["--retention", "5x"], ["--retention", "10m"], ["--retention", "99999d"]):
        _code, err = cli.fails("projects", "set", "--project", "acme", *bad)
        assert err.count("\n") == 1 and "--retention" in err
    _code, err = cli.fails("projects", "set", "--project", "acme")
    assert "nothing to set" in err
    cli.ok("projects", "set", "--project", "acme", "--retention", "default")
    assert "30 days (default)" in cli.ok("projects", "show", "--project", "acme")


def test_retention_shows_then_deletes(
    cli: Cli, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("TEMPORAL_ADDRESS", "127.0.0.1:1")  # no Temporal: files are kept
    cli.ok("projects", "set", "--project", "acme", "--retention", "10d")
    engine = make_engine(f"sqlite:///{tmp_path / 'hookflow.db'}")
    old = _rows(engine, project="acme", count=12, age=11 * DAY)
    young = _rows(engine, project="acme", count=3, age=9 * DAY)
    other = _rows(engine, project="other", count=4, age=11 * DAY)

    shown = json.loads(cli.ok("retention", "show", "--json"))
    assert (shown["deliveries"], shown["attempts"]) == (12, 24)
    assert shown["projects"] == {"acme": 12}
    assert "12" in cli.ok("retention", "show", "--project", "acme")
    assert _left(engine, old) == (12, 24)

    done = json.loads(cli.ok("retention", "run", "--project", "acme", "--json"))
    assert done["deliveries"] == 12 and _left(engine, old) == (0, 0)
    forced = cli.ok("retention", "run", "--older-than", "8d")
    assert "deliveries deleted" in forced
    assert _left(engine, young) == (0, 0) and _left(engine, other) == (0, 0)
    for bad in (["--older-than", "5x"], ["--older-than", "10m"], ["--project", "a b"]):
        _code, err = cli.fails("retention", "run", *bad)
        assert err.count("\n") == 1, err
    engine.dispose()
