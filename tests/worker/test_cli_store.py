"""``hookflow documents`` and ``hookflow storage``: files in, configuration, clear errors."""

from __future__ import annotations

import hashlib
import json
from pathlib import Path

from tests.worker.cli import Cli


def test_documents_put(cli: Cli, tmp_path: Path) -> None:
    pdf = tmp_path / "contract.pdf"
    pdf.write_bytes(b"%PDF-1.7 hello")
    ref = cli.ok("documents", "put", str(pdf)).strip()
    assert ref == "sha256:" + hashlib.sha256(b"%PDF-1.7 hello").hexdigest()
    assert (tmp_path / "documents" / ref.removeprefix("sha256:")).read_bytes() == b"%PDF-1.7 hello"
    entry = json.loads(cli.ok("documents", "put", str(pdf), "--json"))
    assert entry == {"name": "contract.pdf", "content_type": "application/pdf", "ref": ref}
    code, err = cli.fails("documents", "put", str(tmp_path / "missing.pdf"))
    assert code != 0 and len(err.strip().splitlines()) == 1


def test_documents_put_labels_each_file_by_its_type(cli: Cli, tmp_path: Path) -> None:
    for name, expected in [
        ("id-card.png", "image/png"),
        ("notes.txt", "text/plain"),
        ("scan.jpeg", "image/jpeg"),
        ("blob.unknownext", "application/octet-stream"),
    ]:
        (tmp_path / name).write_bytes(b"x")
        entry = json.loads(cli.ok("documents", "put", str(tmp_path / name), "--json"))
        assert entry["content_type"] == expected, name
    given = ["documents", "put", str(tmp_path / "notes.txt"), "--content-type", "text/markdown"]
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
