"""``hookflow keys``: the key is printed once (the last line), stored hashed, revocable."""

from __future__ import annotations

import hashlib
import json
from pathlib import Path

from sqlmodel import Session, select

from activities.store.database import make_engine
from activities.store.keys import authenticate
from activities.store.tables import ApiKey
from tests.worker.cli import Cli


def test_create_list_revoke(cli: Cli, tmp_path: Path) -> None:
    out = cli.ok("keys", "create", "--project", "acme", "--name", "backend")
    key = out.splitlines()[-1]
    assert key.startswith("hfk_") and len(key) == 47
    assert out.splitlines()[0].endswith("(backend) for project acme")
    admin = cli.ok("keys", "create", "--admin").splitlines()[-1]
    assert admin != key

    engine = make_engine(f"sqlite:///{tmp_path / 'hookflow.db'}")
    with Session(engine) as session:
        rows = list(session.exec(select(ApiKey)))
        stored = {row.key_hash for row in rows}
        assert hashlib.sha256(key.encode()).hexdigest() in stored
        assert all(key not in str(row.model_dump()) for row in rows)  # never the key itself
        assert authenticate(session=session, key=key) is not None

    listed = json.loads(cli.ok("keys", "list", "--json"))
    assert [(k["project"], k["admin"], k["name"]) for k in listed] == [
        ("acme", False, "backend"),
        (None, True, "admin key"),
    ]
    table = cli.ok("keys", "list")
    assert key not in table and key[:12] + "..." in table

    assert cli.ok("keys", "revoke", key[:12]).startswith("revoked key ")
    with Session(engine) as session:
        assert authenticate(session=session, key=key) is None
    assert json.loads(cli.ok("keys", "list", "--json"))[0]["revoked_at"] is not None
    engine.dispose()


def test_bad_input_is_one_line(cli: Cli) -> None:
    for args, message in [
        (("keys", "create"), "give a project, or make an admin key"),
        (
            ("keys", "create", "--project", "acme", "--admin"),
            "give a project, or make an admin key",
        ),
        (("keys", "create", "--project", "no spaces"), "invalid project 'no spaces'"),
        (("keys", "revoke", "hfk_nothing"), "no key 'hfk_nothing'"),
    ]:
        code, err = cli.fails(*args)
        assert code == 1 and err.strip() == f"hookflow: error: {message}" + (
            ": not both, not neither" if "admin key" in message else ""
        )
    assert cli.ok("keys", "list", "--json").strip() == "[]"


def test_revoke_takes_the_prefix_as_keys_list_prints_it(cli: Cli) -> None:
    key = cli.ok("keys", "create", "--project", "acme").splitlines()[-1]
    printed = cli.ok("keys", "list").splitlines()[1].split()[1]
    assert printed == key[:12] + "..."
    assert cli.ok("keys", "revoke", printed).startswith("revoked key ")
    assert json.loads(cli.ok("keys", "list", "--json"))[0]["revoked_at"] is not None
