"""``hookflow secrets`` and ``webhooks update``: redaction, rotation, errors that change nothing."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from tests.worker.cli import Cli
from tests.worker.test_cli_webhooks import ADD, stored

SECRET = [
    "secrets",
    "add",
    "--project",
    "acme",
    "--alias",
    "tok",
    "--token-url",
    "https://login.example.com/token",
]


def test_secrets_add_list_delete(cli: Cli, tmp_path: Path) -> None:
    cli.ok(*SECRET, "--username", "svc", "--password", "topsecret", "--scope", "hooks")
    listing = cli.ok("secrets", "list")
    assert "tok" in listing and "username=svc" in listing and "password=********" in listing
    assert "topsecret" not in listing
    [record] = json.loads(cli.ok("secrets", "list", "--json"))
    assert record["fields"]["password"] == "********"
    assert b"topsecret" not in (tmp_path / "hookflow.db").read_bytes()

    hook = cli.ok(*ADD, "--alias", "crm", "--url", "https://crm.example.com/", "--secret", "tok")
    code, err = cli.fails("secrets", "delete", "--project", "acme", "tok")
    assert "used by webhook 'crm'" in err
    cli.ok("webhooks", "update", hook.split()[-1], "--no-auth")
    cli.ok("secrets", "delete", "--project", "acme", "tok")
    assert "tok" not in cli.ok("secrets", "list")


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["--username", "svc"], "needs password"),
        (["--convention", "microsoft_graph", "--client-id", "a"], "needs client_secret"),
        (["--username", "u", "--password", "p", "--client-secret", "x"], "do not belong"),
        (["--convention", "vault", "--username", "u", "--password", "p"], "vault"),
    ],
)
def test_bad_secrets(cli: Cli, args: list[str], message: str) -> None:
    code, err = cli.fails(*SECRET, *args)
    assert message in err and len(err.strip().splitlines()) == 1
    assert json.loads(cli.ok("secrets", "list", "--json")) == []


def test_webhook_with_unknown_secret_is_refused(cli: Cli, tmp_path: Path) -> None:
    code, err = cli.fails(
        *ADD, "--alias", "crm", "--url", "https://crm.example.com/", "--secret", "missing"
    )
    assert "has no secret 'missing'" in err
    assert stored(tmp_path) == []


def test_update_keeps_the_uuid_and_rotates_signing(cli: Cli, tmp_path: Path) -> None:
    hook = cli.ok(
        *ADD,
        "--alias",
        "crm",
        "--url",
        "https://crm.example.com/",
        "--signing-secret",
        "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw",
    ).split()[-1]
    updated = json.loads(
        cli.ok(
            "webhooks",
            "update",
            "crm",
            "--url",
            "https://crm2.example.com/x",
            "--timeout",
            "5",
            "--header",
            "X-A=1",
            "--explicit",
            "--template",
            "loan",
            "--retry-schedule",
            "0s,1m",
            "--content-type",
            "xml",
            "--json",
        )
    )
    assert updated["id"] == hook
    assert updated["url"] == "https://crm2.example.com/x"
    assert updated["templates"] == ["loan"] and updated["explicit"] is True
    assert updated["retry_schedule"] == [0, 60] and updated["content_type"] == "xml"

    code, out, err = cli.run(
        "webhooks", "update", "crm", "--rotate-signing-secret", "--grace", "1h"
    )
    assert code == 0 and err.startswith("new signing secret: whsec_")
    shown = cli.ok("webhooks", "show", "crm")
    assert "previous secret also signs until" in shown and "MfKQ9r8" not in shown

    cli.ok("webhooks", "update", "crm", "--disable", "--reason", "maintenance")
    assert "no (maintenance)" in cli.ok("webhooks", "list")
    cli.ok("webhooks", "update", "crm", "--enable")
    assert json.loads(cli.ok("webhooks", "show", "crm", "--json"))["disabled_reason"] is None


def test_update_errors_change_nothing(cli: Cli, tmp_path: Path) -> None:
    cli.ok(*ADD, "--alias", "crm", "--url", "https://crm.example.com/")
    cli.ok(*ADD, "--alias", "other", "--url", "https://other.example.com/")
    before = [w.model_dump() for w in stored(tmp_path)]
    for args, message in [
        ([], "nothing to change"),
        (["--url", "gopher://x"], "invalid URL"),
        (["--alias", "other"], "already has that alias"),
        (["--no-auth", "--basic-auth", "a:b"], "--no-auth"),
        (["--template", "t"], "explicit"),
        (["--grace", "soon", "--rotate-signing-secret"], "--grace"),
    ]:
        code, err = cli.fails("webhooks", "update", "crm", *args)
        assert message in err and len(err.strip().splitlines()) == 1
    assert [w.model_dump() for w in stored(tmp_path)] == before
