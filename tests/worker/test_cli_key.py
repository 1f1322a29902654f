"""The secret key and the data dir: private, never replaced behind the user's back,
and every problem with them is one line."""

from __future__ import annotations

import os
import stat
from pathlib import Path

import pytest

from tests.worker.cli import Cli
from tests.worker.test_cli_webhooks import stored

ADD = ["webhooks", "add", "--project", "acme", "--type", "form_submitted"]


def add(cli: Cli, alias: str, *extra: str) -> None:
    cli.ok(*ADD, "--alias", alias, "--url", "https://crm.example.com/h", *extra)


def mode(path: Path) -> int:
    return stat.S_IMODE(path.stat().st_mode)


def one_line(err: str) -> str:
    lines = err.strip().splitlines()
    assert len(lines) == 1, err
    return lines[0]


@pytest.fixture
def data_dir(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """A data dir that does not exist yet, under a usual umask."""
    os.umask(0o022)
    path = tmp_path / "data"
    monkeypatch.setenv("HOOKFLOW_DATA_DIR", str(path))
    return path


def test_a_new_data_dir_is_private(cli: Cli, data_dir: Path) -> None:
    add(cli, "crm", "--basic-auth", "dana:pa55")
    pdf = data_dir.parent / "a.pdf"
    pdf.write_bytes(b"%PDF")
    cli.ok("documents", "put", str(pdf), "--project", "acme")
    assert mode(data_dir) == 0o700
    for path in data_dir.rglob("*"):
        assert mode(path) == (0o700 if path.is_dir() else 0o600), path.name


def test_an_older_data_dir_is_tightened(cli: Cli, data_dir: Path) -> None:
    add(cli, "crm", "--basic-auth", "dana:pa55")
    os.chmod(data_dir, 0o755)
    os.chmod(data_dir / "hookflow.db", 0o644)
    cli.ok("webhooks", "list")
    assert (mode(data_dir), mode(data_dir / "hookflow.db")) == (0o700, 0o600)


def test_a_key_others_can_read_is_refused(cli: Cli, data_dir: Path) -> None:
    add(cli, "crm", "--basic-auth", "dana:pa55")
    key = data_dir / "secret.key"
    os.chmod(key, 0o644)
    _code, err = cli.fails("webhooks", "list")
    assert one_line(err) == (
        f"hookflow: error: the secret key {key} can be read by others (mode 644): chmod 600 {key}"
    )
    _code, err = cli.fails(*ADD, "--alias", "other", "--url", "https://x.example.com/")
    assert "chmod 600" in one_line(err)
    assert [w.alias for w in stored(data_dir)] == ["crm"]  # nothing written
    assert mode(key) == 0o644  # and nothing changed behind the user's back


def test_a_deleted_key_is_never_silently_replaced(cli: Cli, data_dir: Path) -> None:
    add(cli, "crm", "--custom-auth", "X-Key=k3y")
    (data_dir / "secret.key").unlink()
    _code, err = cli.fails("webhooks", "show", "crm")
    assert one_line(err) == (
        f"hookflow: error: the secret key {data_dir / 'secret.key'} is missing and the "
        "database holds secrets encrypted with it: restore the file (or set HOOKFLOW_SECRET_KEY)"
    )
    _code, err = cli.fails(*ADD, "--alias", "two", "--url", "https://x.example.com/")
    assert "is missing" in one_line(err)
    assert not (data_dir / "secret.key").exists()
    assert len(stored(data_dir)) == 1


def test_an_empty_key_file_is_one_line(cli: Cli, data_dir: Path) -> None:
    add(cli, "crm")
    key = data_dir / "secret.key"
    key.write_text("\n")
    _code, err = cli.fails("webhooks", "list")
    assert one_line(err).startswith(f"hookflow: error: the secret key file {key} is empty")


def test_a_wrong_key_is_one_line(cli: Cli, data_dir: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    add(cli, "crm", "--signing-secret", "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw")
    monkeypatch.setenv("HOOKFLOW_SECRET_KEY", "not-the-key")
    _code, err = cli.fails("webhooks", "list")
    assert one_line(err) == (
        "hookflow: error: the secret key does not decrypt the secrets in the database: "
        "wrong HOOKFLOW_SECRET_KEY or secret.key?"
    )
    monkeypatch.delenv("HOOKFLOW_SECRET_KEY")
    assert "crm" in cli.ok("webhooks", "list")


def test_a_database_without_secrets_gets_a_new_key(cli: Cli, data_dir: Path) -> None:
    add(cli, "crm")  # no credentials: nothing encrypted
    (data_dir / "secret.key").unlink()
    cli.ok("webhooks", "list")
    assert mode(data_dir / "secret.key") == 0o600
