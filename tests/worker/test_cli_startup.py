"""``hookflow --help`` and the configuration commands load no more than they use:
neither the Temporal client, nor the worker, the API or the delivery engine.

Speed itself is measured by ``python -m benchmarks.cli``; these tests hold the
line that makes it fast (which modules a command imports), on a busy machine too.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import click
import pytest

from activities.store.database import init_db, make_engine
from activities.store.revisions import is_current, newest_revisions
from worker.cli.main import COMMANDS, cli

HEAVY = ("temporalio", "fastapi", "uvicorn", "httpx", "jinja2", "alembic", "workflows")
"""Top-level packages a configuration command must not import."""

_PROBE = """
import json, sys
from worker.cli.main import main
try:
    main(sys.argv[1:])
except SystemExit:
    pass
loaded = sorted({name.split(".")[0] for name in sys.modules})
print(json.dumps(loaded), file=sys.stderr)
"""


def loaded_by(tmp_path: Path, *args: str) -> set[str]:
    """The top-level packages ``hookflow ARGS`` imported, run in a fresh interpreter."""
    env = {**os.environ, "HOOKFLOW_DATA_DIR": str(tmp_path)}
    for name in ("HOOKFLOW_DATABASE_URL", "HOOKFLOW_SECRET_KEY", "HOOKFLOW_ALLOW_NETWORKS"):
        env.pop(name, None)
    done = subprocess.run(
        [sys.executable, "-c", _PROBE, *args],
        capture_output=True,
        text=True,
        env=env,
        cwd=tmp_path,
        timeout=60,
        check=True,
    )
    return set(json.loads(done.stderr.strip().splitlines()[-1]))


def test_help_imports_no_command(tmp_path: Path) -> None:
    loaded = loaded_by(tmp_path, "--help")
    assert not loaded & {*HEAVY, "sqlalchemy", "sqlmodel", "pydantic", "cryptography"}


@pytest.mark.parametrize(
    "args",
    [
        ("webhooks", "--help"),
        ("webhooks", "list"),
        ("webhooks", "show", "crm"),
        ("secrets", "list"),
        ("keys", "list"),
        (
            "webhooks",
            "add",
            "--project",
            "acme",
            "--alias",
            "other",
            "--type",
            "form_submitted",
            "--url",
            "https://crm.example.com/hook",
            "--basic-auth",
            "crm:s3cret",
        ),
    ],
)
def test_configuration_commands_load_the_store_only(tmp_path: Path, args: tuple[str, ...]) -> None:
    # The store exists (as after `hookflow up`), so opening it needs no migration.
    loaded_by(
        tmp_path,
        "webhooks",
        "add",
        "--project",
        "acme",
        "--alias",
        "crm",
        "--type",
        "form_submitted",
        "--url",
        "https://crm.example.com/hook",
    )
    loaded = loaded_by(tmp_path, *args)
    # Adding checks the URL with the parser every attempt uses (httpx's).
    allowed = {"httpx"} if args[1] == "add" else set()
    assert not loaded & (set(HEAVY) - allowed), args


def test_lazy_help_matches_each_command() -> None:
    """The help ``hookflow --help`` prints without importing a command is its own."""
    for name, lazy in COMMANDS.items():
        command = lazy.load()
        first = " ".join((command.help or "").split("\n\n")[0].split())
        assert lazy.help == first, name
    ctx = click.Context(cli)
    assert sorted(COMMANDS) == cli.list_commands(ctx)


def test_newest_revisions_are_alembics(tmp_path: Path) -> None:
    from alembic.script import ScriptDirectory

    from activities.store.migrate import MIGRATIONS, alembic_config

    script = ScriptDirectory.from_config(alembic_config(None, location=MIGRATIONS))
    assert newest_revisions() == set(script.get_heads())
    engine = make_engine(f"sqlite:///{tmp_path / 'hookflow.db'}")
    assert not is_current(engine)  # no version table yet
    init_db(engine)
    assert is_current(engine)
    engine.dispose()
