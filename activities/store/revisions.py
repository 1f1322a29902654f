"""Whether the configuration database is at the newest revision, without Alembic.

Opening the store upgrades it (``migrate.upgrade``), which imports Alembic;
a command that finds the database already at the newest revision skips that.
The revisions are read off ``migrations/versions/*.py`` (their ``revision``
and ``down_revision`` assignments, parsed, not imported), as Alembic reads them.
"""

from __future__ import annotations

import ast
from functools import cache
from pathlib import Path

from sqlalchemy import text
from sqlalchemy.engine import Engine
from sqlalchemy.exc import SQLAlchemyError

VERSIONS = Path(__file__).parent / "migrations" / "versions"


@cache
def newest_revisions(versions: Path = VERSIONS) -> frozenset[str]:
    """The heads: revisions no other revision names as its ``down_revision``."""
    revisions: set[str] = set()
    parents: set[str] = set()
    for path in sorted(versions.glob("*.py")):
        values: dict[str, object] = {}
        for node in ast.parse(path.read_text()).body:
            target, value = None, None
            if isinstance(node, ast.AnnAssign) and isinstance(node.target, ast.Name):
                target, value = node.target.id, node.value
            elif isinstance(node, ast.Assign) and isinstance(node.targets[0], ast.Name):
                target, value = node.targets[0].id, node.value
            if target in ("revision", "down_revision") and value is not None:
                values[target] = ast.literal_eval(value)
        revision = values.get("revision")
        if not isinstance(revision, str):
            continue
        revisions.add(revision)
        down = values.get("down_revision")
        if isinstance(down, str):
            parents.add(down)
        elif isinstance(down, tuple | list):
            parents.update(str(item) for item in down)
    return frozenset(revisions - parents)


def is_current(engine: Engine) -> bool:
    """The database records exactly the newest revisions (False when unsure)."""
    try:
        with engine.connect() as connection:
            rows = connection.execute(text("SELECT version_num FROM alembic_version"))
            current = {row[0] for row in rows}
    except SQLAlchemyError:  # no version table yet: a new or pre-migration database
        return False
    heads = newest_revisions()
    return bool(heads) and current == heads
