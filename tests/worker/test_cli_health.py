"""Per-webhook throttles on the command line, and a project's auto-disable setting."""

from __future__ import annotations

import json
import re

from tests.worker.cli import Cli

ADD = ["webhooks", "add", "--project", "acme", "--type", "form_submitted", "--alias", "crm"]
URL = ["--url", "https://crm.example.com/hook"]


def test_rate_limit_and_max_in_flight_are_set_shown_and_reset(cli: Cli) -> None:
    record = json.loads(cli.ok(*ADD, *URL, "--rate-limit", "5", "--max-in-flight", "3", "--json"))
    assert record["rate_limit"] == 5 and record["max_in_flight"] == 3
    shown = cli.ok("webhooks", "show", "crm")
    assert "5 requests/s (all workers)" in shown and "3 per worker" in shown

    cli.ok("webhooks", "update", "crm", "--rate-limit", "0.5")
    record = json.loads(cli.ok("webhooks", "show", "crm", "--json"))
    assert record["rate_limit"] == 0.5 and record["max_in_flight"] == 3

    cli.ok("webhooks", "update", "crm", "--no-rate-limit", "--default-max-in-flight")
    record = json.loads(cli.ok("webhooks", "show", "crm", "--json"))
    assert record["rate_limit"] is None and record["max_in_flight"] is None
    shown = cli.ok("webhooks", "show", "crm")
    assert re.search(r"^rate limit +none$", shown, re.M) and "worker default (20)" in shown


def test_bad_limits_are_one_line_and_change_nothing(cli: Cli) -> None:
    cli.ok(*ADD, *URL, "--rate-limit", "5")
    for args in (
        ["--rate-limit", "0"],
        ["--rate-limit", "-1"],
        ["--max-in-flight", "0"],
        ["--rate-limit", "2", "--no-rate-limit"],
        ["--max-in-flight", "2", "--default-max-in-flight"],
    ):
        _code, err = cli.fails("webhooks", "update", "crm", *args)
        assert err.count("\n") == 1 and err.startswith("hookflow: error:"), err
    record = json.loads(cli.ok("webhooks", "show", "crm", "--json"))
    assert record["rate_limit"] == 5 and record["max_in_flight"] is None
    _code, err = cli.fails(*ADD[:-1], "other", *URL, "--max-in-flight", "5000")
    assert "max_in_flight" in err
    assert "other" not in cli.ok("webhooks", "list")


def test_a_project_sets_when_failing_webhooks_are_disabled(cli: Cli) -> None:
    assert "5 days (default)" in cli.ok("projects", "show", "--project", "acme")
    assert "12 hours" in cli.ok("projects", "set", "--project", "acme", "--disable-after", "12h")
    record = json.loads(cli.ok("projects", "show", "--project", "acme", "--json"))
    assert record == {
        "project": "acme",
        "disable_after": 43200,
        "disable_after_default": False,
        "retention": 30 * 86400,
        "retention_default": True,
        "share": 0.5,
        "share_default": True,
    }
    assert "never" in cli.ok("projects", "set", "--project", "acme", "--disable-after", "never")
    for bad in (["--disable-after", "5x"], ["--disable-after", "10s"]):
        _code, err = cli.fails("projects", "set", "--project", "acme", *bad)
        assert err.count("\n") == 1 and "--disable-after" in err
    _code, err = cli.fails("projects", "set", "--project", "a b", "--disable-after", "1d")
    assert "invalid project" in err
    assert "never" in cli.ok("projects", "show", "--project", "acme")
    cli.ok("projects", "set", "--project", "acme", "--disable-after", "default")
    assert "5 days (default)" in cli.ok("projects", "show", "--project", "acme")
