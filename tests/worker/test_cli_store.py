"""``hookflow documents`` and ``hookflow storage``: files in, configuration, clear errors."""

from __future__ import annotations

import hashlib
import json
from pathlib import Path

import pytest

from activities.files.documents import LocalDocumentStore
from tests.worker.cli import Cli


def test_documents_put_and_delete(cli: Cli, tmp_path: Path) -> None:
    pdf = tmp_path / "contract.pdf"
    pdf.write_bytes(b"%PDF-1.7 hello")
    ref = cli.ok("documents", "put", str(pdf), "--project", "acme").strip()
    digest = hashlib.sha256(b"%PDF-1.7 hello").hexdigest()
    assert ref == "sha256:" + digest
    stored = tmp_path / "documents" / "projects" / "acme" / digest
    assert stored.read_bytes() == b"%PDF-1.7 hello"
    entry = json.loads(cli.ok("documents", "put", str(pdf), "--project", "acme", "--json"))
    assert entry == {"name": "contract.pdf", "content_type": "application/pdf", "ref": ref}
    code, err = cli.fails("documents", "put", str(tmp_path / "missing.pdf"), "--project", "acme")
    assert code != 0 and len(err.strip().splitlines()) == 1
    # Another project's document is not there for it.
    code, err = cli.fails("documents", "delete", ref, "--project", "globex")
    assert err.strip() == f"hookflow: error: no document {ref}"
    assert cli.ok("documents", "delete", ref, "--project", "acme").strip() == f"deleted {ref}"
    assert not stored.exists()


def test_documents_over_the_limit_or_the_quota(
    cli: Cli, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("HOOKFLOW_MAX_UPLOAD_SIZE", "10")
    monkeypatch.setenv("HOOKFLOW_DOCUMENT_QUOTA", "15")
    big, small = tmp_path / "big.pdf", tmp_path / "small.pdf"
    big.write_bytes(b"x" * 11)
    small.write_bytes(b"y" * 8)
    code, err = cli.fails("documents", "put", str(big), "--project", "acme")
    assert err.strip() == "hookflow: error: a document is at most 10 bytes"
    cli.ok("documents", "put", str(small), "--project", "acme")
    cli.ok("documents", "put", str(small), "--project", "acme")  # the same file, stored once
    small.write_bytes(b"z" * 8)
    code, err = cli.fails("documents", "put", str(small), "--project", "acme")
    assert "over its document quota" in err
    cli.ok("documents", "put", str(small), "--project", "globex")  # a quota per project
    assert [p.name for p in (tmp_path / "documents").iterdir() if p.name.startswith(".")] == []


def test_documents_stored_before_projects_go_to_the_first_project_naming_them(
    cli: Cli, tmp_path: Path
) -> None:
    root = tmp_path / "documents"
    root.mkdir(mode=0o700)
    old, other = b"%PDF old", b"%PDF other"
    for data in (old, other):
        (root / hashlib.sha256(data).hexdigest()).write_bytes(data)
    store = LocalDocumentStore(root)
    ref = "sha256:" + hashlib.sha256(old).hexdigest()
    assert store.read(ref, project="acme") == old
    assert not store.exists(ref, project="globex")
    assert store.read(ref, project="acme") == old
    out = cli.ok("documents", "adopt", "--project", "globex")
    assert out.strip() == "1 document(s) now belong to project globex"
    assert store.exists("sha256:" + hashlib.sha256(other).hexdigest(), project="globex")
    assert store.unowned() == []


def test_documents_put_labels_each_file_by_its_type(cli: Cli, tmp_path: Path) -> None:
    for name, expected in [
        ("id-card.png", "image/png"),
        ("notes.txt", "text/plain"),
        ("scan.jpeg", "image/jpeg"),
        ("blob.unknownext", "application/octet-stream"),
    ]:
        (tmp_path / name).write_bytes(b"x")
        entry = json.loads(
            cli.ok("documents", "put", str(tmp_path / name), "--project", "acme", "--json")
        )
        assert entry["content_type"] == expected, name
    given = ["documents", "put", str(tmp_path / "notes.txt"), "--project", "acme"]
    given += ["--content-type", "text/markdown"]
    assert json.loads(cli.ok(*given, "--json"))["content_type"] == "text/markdown"


def test_storage_set_show_delete(cli: Cli) -> None:
    out = cli.ok("storage", "set", "--project", "acme", "--path", "{project}/{session_id}", "--zip")
    assert out.strip().endswith("storage/{project}/{session_id} (zip)")
    [row] = json.loads(cli.ok("storage", "show", "--json"))
    assert row["path"] == "{project}/{session_id}" and row["zip"] is True
    code, err = cli.fails("storage", "set", "--project", "acme", "--path", "../{project}")
    assert "stays inside" in err and len(err.strip().splitlines()) == 1
    code, err = cli.fails("storage", "set", "--project", "acme", "--path", "{password}")
    assert "unknown path field {password}" in err
    assert json.loads(cli.ok("storage", "show", "--json"))[0]["path"] == "{project}/{session_id}"
    cli.ok("storage", "delete", "--project", "acme")
    code, err = cli.fails("storage", "delete", "--project", "acme")
    assert "has no storage" in err
