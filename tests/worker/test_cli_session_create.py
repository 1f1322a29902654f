"""``sessions create`` input, refused in the command's words before anything is
created; ``--dry-run`` prints the request and creates nothing (no Temporal here)."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from tests.worker.cli import Cli


def test_a_missing_project_reads_as_every_command_words_it(cli: Cli, tmp_path: Path) -> None:
    _code, err = cli.fails("sessions", "create")
    assert err == "hookflow: error: Missing option '--project'.\n"
    _code, err = cli.fails("webhooks", "add", "--alias", "crm", "--type", "archive", "--url", "x")
    assert err == "hookflow: error: Missing option '--project'.\n"
    request = tmp_path / "request.json"
    request.write_text(json.dumps({"template": "loan-application"}))
    _code, err = cli.fails("sessions", "create", str(request))
    assert err == "hookflow: error: Missing option '--project' (or \"project\" in FILE).\n"


@pytest.mark.parametrize("option", ["--expires-in", "--retention"])
def test_a_malformed_duration_is_refused_in_the_options_words(cli: Cli, option: str) -> None:
    _code, err = cli.fails("sessions", "create", "--project", "acme", option, "2x")
    assert err == (
        f"hookflow: error: {option}: '2x' is not a duration: "
        "use seconds (3600), 2h, 7d or ISO 8601 (P7D)\n"
    )


def test_dry_run_prints_the_request_and_creates_nothing(cli: Cli) -> None:
    # No Temporal answers here: a create would fail to connect.
    out = cli.ok("sessions", "create", "--project", "acme", "--expires-in", "2h", "--dry-run")
    request = json.loads(out)
    assert request["project"] == "acme" and request["expires_in"] == "PT2H"
    assert len(request["id"]) == 10
    assert json.loads(
        cli.ok("sessions", "create", "--project", "acme", "--expires-in", "P7D", "--dry-run")
    )["expires_in"] in ("P7D", "P7DT0H0M0S")


def test_a_wrong_signal_name_names_the_argument(cli: Cli) -> None:
    _code, err = cli.fails("sessions", "signal", "xM72By4JkM", "form_sbmitted")
    assert err.startswith("hookflow: error: Invalid value for 'SIGNAL': 'form_sbmitted' is not ")
    assert "{" not in err and "'form_submitted'" in err
