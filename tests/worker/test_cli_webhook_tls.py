"""``webhooks add|update --client-cert --client-key --ca-bundle --documents
--max-body-size``: stored encrypted, shown by subject and expiry only, bad
files one clear line that changes nothing."""

from __future__ import annotations

import json
from datetime import timedelta
from pathlib import Path

from tests.tls import TestCA
from tests.worker.cli import Cli
from tests.worker.test_cli_webhooks import stored

ADD = ["webhooks", "add", "--project", "acme", "--type", "archive", "--alias", "dms"]
URL = ["--url", "https://dms.example.com/hook"]


def test_a_client_certificate_is_stored_encrypted_and_never_shown(cli: Cli, tmp_path: Path) -> None:
    ca = TestCA()
    cert, key = ca.issue("dms-client").write(tmp_path, "client")
    bundle = tmp_path / "ca.pem"
    bundle.write_text(ca.pem)
    cli.ok(
        *ADD,
        *URL,
        "--client-cert",
        str(cert),
        "--client-key",
        str(key),
        "--ca-bundle",
        str(bundle),
        "--documents",
        "link",
        "--max-body-size",
        "2MiB",
    )
    (row,) = stored(tmp_path)
    key_text = key.read_text()
    assert row.client_key_enc and key_text not in row.client_key_enc
    assert row.client_cert_enc and "BEGIN CERTIFICATE" not in row.client_cert_enc
    assert row.documents == "link" and row.max_body_size == 2 * 1024 * 1024
    out = cli.ok("webhooks", "show", "dms")
    assert "set: CN=dms-client, expires 20" in out
    assert "CN=hookflow test CA" in out and "link (max body 2 MiB)" in out
    shown = json.loads(cli.ok("webhooks", "show", "dms", "--json"))
    assert shown["client_certificate"]["subject"] == "CN=dms-client"
    assert shown["documents"] == "link"
    everything = out + json.dumps(shown)
    assert "PRIVATE KEY" not in everything and "BEGIN CERTIFICATE" not in everything
    assert key_text.splitlines()[1] not in everything


def test_rotation_and_removal(cli: Cli, tmp_path: Path) -> None:
    ca = TestCA()
    first = ca.issue("first").write(tmp_path, "first")
    second = ca.issue("second").write(tmp_path, "second")
    cli.ok(*ADD, *URL, "--client-cert", str(first[0]), "--client-key", str(first[1]))
    cli.ok(
        "webhooks", "update", "dms", "--client-cert", str(second[0]), "--client-key", str(second[1])
    )
    assert "CN=second" in cli.ok("webhooks", "show", "dms")
    cli.ok("webhooks", "update", "dms", "--no-client-cert")
    (row,) = stored(tmp_path)
    assert row.client_cert_enc is None and row.client_key_enc is None


def test_bad_files_are_one_clear_line_and_change_nothing(cli: Cli, tmp_path: Path) -> None:
    ca = TestCA()
    good = ca.issue("good").write(tmp_path, "good")
    other = ca.issue("other").write(tmp_path, "other")
    expired = ca.issue("old", starts=timedelta(days=-9), valid=timedelta(days=1))
    old = expired.write(tmp_path, "old")
    junk = tmp_path / "junk.pem"
    junk.write_text("hello\n")
    binary = tmp_path / "cert.der"
    binary.write_bytes(b"\x30\x82\xff\xfe")
    cli.ok(*ADD, *URL, "--client-cert", str(good[0]), "--client-key", str(good[1]))
    before = stored(tmp_path)[0].client_cert_enc
    cases = [
        (["--client-cert", str(junk), "--client-key", str(good[1])], "not a PEM certificate"),
        (["--client-cert", str(good[0]), "--client-key", str(junk)], "not a PEM private key"),
        (["--client-cert", str(good[0]), "--client-key", str(other[1])], "does not match"),
        (["--client-cert", str(old[0]), "--client-key", str(old[1])], "expired on"),
        (["--client-cert", str(binary), "--client-key", str(good[1])], "not a PEM file"),
        (["--client-cert", str(good[0])], "--client-cert and --client-key go together"),
        (["--ca-bundle", str(junk)], "CA bundle: not a PEM certificate"),
        (["--max-body-size", "big"], "--max-body-size"),
    ]
    for args, words in cases:
        code, err = cli.fails("webhooks", "update", "dms", *args)
        lines = err.strip().splitlines()
        assert len(lines) == 1 and words in lines[0], err
        assert good[1].read_text().splitlines()[1] not in err  # the key is never echoed
    (row,) = stored(tmp_path)
    assert row.client_cert_enc == before and row.ca_bundle is None


def test_the_error_line_reads_plainly(cli: Cli, tmp_path: Path) -> None:
    ca = TestCA()
    good, other = ca.issue("good").write(tmp_path, "g"), ca.issue("o").write(tmp_path, "o")
    code, err = cli.fails(*ADD, *URL, "--client-cert", str(good[0]), "--client-key", str(other[1]))
    assert err.strip().endswith("client key: it does not match the client certificate"), err
    assert stored(tmp_path) == []


def test_a_certificate_that_expired_since_is_shown_as_expired(cli: Cli, tmp_path: Path) -> None:
    from sqlmodel import Session

    from activities.store.crypto import SecretBox
    from activities.store.database import make_engine
    from activities.store.tables import Webhook

    ca = TestCA()
    cert, key = ca.issue("soon").write(tmp_path, "soon")
    cli.ok(*ADD, *URL, "--client-cert", str(cert), "--client-key", str(key))
    expired = ca.issue("gone", starts=timedelta(days=-9), valid=timedelta(days=1))
    box = SecretBox((tmp_path / "secret.key").read_text().strip())
    engine = make_engine(f"sqlite:///{tmp_path / 'hookflow.db'}")
    with Session(engine) as session:
        (row,) = stored(tmp_path)
        found = session.get(Webhook, row.id)
        assert found is not None
        found.client_cert_enc = box.seal(expired.cert)  # as if time had passed
        session.add(found)
        session.commit()
    out = cli.ok("webhooks", "show", "dms")
    assert "set: CN=gone" in out and "EXPIRED" in out
