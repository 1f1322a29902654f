"""``hookflow webhooks``: every flag, redaction, and one clear error line for bad input."""

from __future__ import annotations

import json
import uuid
from pathlib import Path

import pytest
from sqlmodel import Session, select

from activities.store.database import init_db, make_engine
from activities.store.tables import Webhook
from tests.worker.cli import Cli


def stored(tmp_path: Path) -> list[Webhook]:
    engine = make_engine(f"sqlite:///{tmp_path / 'hookflow.db'}")
    init_db(engine)
    with Session(engine) as session:
        return list(session.exec(select(Webhook)))


ADD = ["webhooks", "add", "--project", "acme", "--type", "form_submitted"]


def test_add_list_show_delete(cli: Cli, tmp_path: Path) -> None:
    out = cli.ok(
        *ADD,
        "--alias",
        "crm",
        "--url",
        "https://crm.example.com/hook",
        "--header",
        "X-Tenant=acme",
        "--basic-auth",
        "dana:pa55word",
        "--timeout",
        "12.5",
        "--retry-schedule",
        "0s,5s,5m",
        "--no-verify-ssl",
        "--failover-url",
        "https://backup.example.com/hook",
    )
    assert out.startswith("created webhook crm in acme: ")
    hook = uuid.UUID(out.split()[-1])  # the UUID is the last word, for scripts
    listing = cli.ok("webhooks", "list")
    assert str(hook) in listing and "crm" in listing and "implicit" in listing

    shown = cli.ok("webhooks", "show", "crm")
    assert "pa55word" not in shown and "dana:********" in shown
    assert "0s,5s,5m" in shown and "12.5s" in shown and "X-Tenant: acme" in shown
    assert "https://backup.example.com/hook" in shown
    assert "Integration code" not in shown  # implicit webhooks need none

    record = json.loads(cli.ok("webhooks", "show", str(hook), "--json"))
    assert record["basic_password"] == "********"
    assert record["verify_ssl"] is False
    assert record["retry_schedule"] == [0, 5, 300]
    assert record["event"] == "WHEF_CLIENT_FORM_SUBMITTED"
    # Encrypted at rest: the password is not in the database file.
    assert b"pa55word" not in (tmp_path / "hookflow.db").read_bytes()
    assert (tmp_path / "secret.key").stat().st_mode & 0o777 == 0o600

    assert "deleted" in cli.ok("webhooks", "delete", "crm", "--project", "acme")
    assert stored(tmp_path) == []


def test_explicit_webhook_prints_its_integration_code(cli: Cli) -> None:
    hook = cli.ok(
        *ADD,
        "--alias",
        "x",
        "--url",
        "https://a.example.com/",
        "--explicit",
        "--template",
        "loan",
        "--custom-auth",
        "X-Api-Key=k3y",
    ).split()[-1]
    shown = cli.ok("webhooks", "show", hook)
    assert json.dumps({"type": "webhook", "uuid": hook}) in shown
    assert "loan" in shown and "k3y" not in shown and "X-Api-Key: ********" in shown
    listed = json.loads(cli.ok("webhooks", "list", "--json"))
    assert listed[0]["custom_auth"] == {"X-Api-Key": "********"}
    assert listed[0]["templates"] == ["loan"]


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["--alias", "a", "--url", "ftp://x.example.com/"], "invalid URL"),
        (["--alias", "a", "--url", "not a url"], "invalid URL"),
        (["--alias", "a", "--url", "https://u:p@x.example.com/"], "credentials in the URL"),
        (
            ["--alias", "a", "--url", "https://x.example.com/", "--header", "Bad Header=1"],
            "invalid header name",
        ),
        (
            ["--alias", "a", "--url", "https://x.example.com/", "--header", "nokeyvalue"],
            "KEY=VALUE",
        ),
        (
            ["--alias", "a", "--url", "https://x.example.com/", "--header", "webhook-id=1"],
            "set by hookflow",
        ),
        (["--alias", "a", "--url", "https://x.example.com/", "--template", "t"], "explicit"),
        (
            ["--alias", "a", "--url", "https://x.example.com/", "--retry-schedule", "0s,fast"],
            "not a duration",
        ),
        (["--alias", "a", "--url", "https://x.example.com/", "--timeout", "0"], "timeout"),
        (
            ["--alias", "a", "--url", "https://x.example.com/", "--basic-auth", "nopassword"],
            "USER:PASSWORD",
        ),
        (
            [
                "--alias",
                "a",
                "--url",
                "https://x.example.com/",
                "--basic-auth",
                "a:b",
                "--custom-auth",
                "k=v",
            ],
            "choose one",
        ),
        (["--alias", "a", "--url", "https://x.example.com/", "--signing-secret", "nope"], "whsec_"),
        (["--alias", "", "--url", "https://x.example.com/"], "alias"),
    ],
)
def test_bad_input_is_one_line_and_writes_nothing(
    cli: Cli, tmp_path: Path, args: list[str], message: str
) -> None:
    code, err = cli.fails(*ADD, *args)
    assert code != 0
    assert message in err
    assert len(err.strip().splitlines()) == 1 and err.startswith("hookflow: error: ")
    assert stored(tmp_path) == []


def test_unknown_type_and_duplicate_alias(cli: Cli, tmp_path: Path) -> None:
    code, err = cli.fails(
        "webhooks",
        "add",
        "--project",
        "acme",
        "--alias",
        "a",
        "--type",
        "nope",
        "--url",
        "https://x.example.com/",
    )
    assert code == 2 and "nope" in err and len(err.strip().splitlines()) == 1
    cli.ok(*ADD, "--alias", "a", "--url", "https://x.example.com/")
    code, err = cli.fails(*ADD, "--alias", "a", "--url", "https://y.example.com/")
    assert "already has a webhook named 'a'" in err
    assert [w.url for w in stored(tmp_path)] == ["https://x.example.com/"]


def test_unknown_webhook(cli: Cli) -> None:
    code, err = cli.fails("webhooks", "show", str(uuid.uuid4()))
    assert code == 1 and "no webhook" in err
    code, err = cli.fails("webhooks", "delete", "ghost")
    assert code == 1 and "no webhook 'ghost'" in err


def test_ed25519_signature_shows_its_public_key_and_rotates(cli: Cli) -> None:
    cli.ok(
        *ADD, "--alias", "signed", "--url", "https://crm.example.com/h", "--signature", "ed25519"
    )
    record = json.loads(cli.ok("webhooks", "show", "signed", "--json"))
    assert record["signature"] == "ed25519" and record["public_key"].startswith("whpk_")
    assert record["signing_secret"] == "whsk_********"
    out = cli.ok("webhooks", "show", "signed")
    assert record["public_key"] in out and "v1a" in out
    cli.ok("webhooks", "update", "signed", "--rotate-signing-secret", "--grace", "1h")
    rotated = json.loads(cli.ok("webhooks", "show", "signed", "--json"))
    assert rotated["signature"] == "ed25519" and rotated["public_key"] != record["public_key"]
    assert rotated["previous_public_key"] == record["public_key"]
    assert "previous key" in cli.ok("webhooks", "show", "signed")
    code, err = cli.fails(
        "webhooks",
        "update",
        "signed",
        "--signature",
        "ed25519",
        "--signing-secret",
        "whsec_" + "A" * 24,
    )
    assert code != 0 and "takes a whsk_" in err and "\n" not in err.strip()
    code, err = cli.fails("webhooks", "update", "signed", "--signature", "hmac")
    assert code != 0 and "needs a secret" in err
    cli.ok("webhooks", "update", "signed", "--signature", "hmac", "--rotate-signing-secret")
    assert json.loads(cli.ok("webhooks", "show", "signed", "--json"))["signature"] == "hmac"


def test_filter_is_checked_shown_and_removed(cli: Cli, tmp_path: Path) -> None:
    code, err = cli.fails(
        *ADD, "--alias", "f", "--url", "https://x.example.com/", "--filter", "a.["
    )
    assert code != 0 and "does not parse as JMESPath" in err and len(err.strip().splitlines()) == 1
    assert stored(tmp_path) == []
    expr = "session.labels.REGION == 'EU'"
    cli.ok(*ADD, "--alias", "f", "--url", "https://x.example.com/", "--filter", expr)
    assert json.loads(cli.ok("webhooks", "show", "f", "--json"))["filter"] == expr
    assert expr in cli.ok("webhooks", "show", "f")
    code, err = cli.fails("webhooks", "update", "f", "--filter", "labels[?")
    assert code != 0 and "does not parse" in err
    assert stored(tmp_path)[0].filter == expr
    cli.ok("webhooks", "update", "f", "--no-filter")
    assert stored(tmp_path)[0].filter is None
