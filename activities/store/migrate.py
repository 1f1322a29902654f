"""Schema migrations of the configuration store (Alembic), applied when a store opens.

Every revision lives in ``migrations/versions/``, one file each. Opening a
store upgrades it to the newest revision; a database created before hookflow
had migrations is checked against the first revision and stamped with it, so
existing ``.hookflow/hookflow.db`` files keep working.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from functools import cache
from pathlib import Path

from alembic import command
from alembic.config import Config
from alembic.runtime.migration import MigrationContext
from alembic.script import ScriptDirectory
from sqlalchemy import create_engine, inspect, text
from sqlalchemy.engine import Connection, Engine

from activities.errors import SettingsError

MIGRATIONS = Path(__file__).parent / "migrations"
FIRST_REVISION = "0001"
VERSION_TABLE = "alembic_version"
# Workers that start together on one PostgreSQL database migrate one at a time.
_LOCK_KEY = 0x686F6F6B666C6F77  # "hookflow"


@contextmanager
def migration_connection(engine: Engine) -> Iterator[Connection]:
    """A connection in a transaction that is safe to migrate on.

    PostgreSQL: an advisory lock held until commit (its DDL is transactional,
    so a failed upgrade leaves nothing behind). SQLite: foreign keys off while
    migrating, because a batch operation copies a table and dropping the old
    copy would cascade deletes to the rows that refer to it.
    """
    with engine.connect() as connection:
        sqlite = connection.dialect.name == "sqlite"
        if sqlite:  # a no-op inside a transaction, so before it begins
            connection.exec_driver_sql("PRAGMA foreign_keys=OFF")
            connection.commit()
        try:
            with connection.begin():
                if connection.dialect.name == "postgresql":
                    connection.execute(
                        text("SELECT pg_advisory_xact_lock(:key)"), {"key": _LOCK_KEY}
                    )
                yield connection
        finally:
            if sqlite:
                connection.exec_driver_sql("PRAGMA foreign_keys=ON")
                connection.commit()


def alembic_config(connection: Connection | None, *, location: Path = MIGRATIONS) -> Config:
    config = Config()
    config.set_main_option("script_location", str(location))
    config.attributes["connection"] = connection
    return config


def upgrade(engine: Engine, *, location: Path = MIGRATIONS) -> None:
    """Bring the database to the newest revision; nothing changes if it is there."""
    script = ScriptDirectory.from_config(alembic_config(None, location=location))
    heads = set(script.get_heads())
    with migration_connection(engine) as connection:
        current = set(MigrationContext.configure(connection).get_current_heads())
        if current == heads:
            return
        known = {rev.revision for rev in script.walk_revisions()}
        if current - known:
            raise SettingsError(
                f"the configuration database is at revision {', '.join(sorted(current - known))},"
                f" newer than this hookflow knows ({', '.join(sorted(heads))}): upgrade hookflow"
            )
        config = alembic_config(connection, location=location)
        if not current and _has_tables(connection, location=location):
            check_first_revision(connection, location=location)
            command.stamp(config, FIRST_REVISION)
        command.upgrade(config, "heads")


def current_revisions(engine: Engine) -> set[str]:
    with engine.connect() as connection:
        return set(MigrationContext.configure(connection).get_current_heads())


def _has_tables(connection: Connection, *, location: Path) -> bool:
    present = set(inspect(connection).get_table_names())
    return bool(present & set(first_revision_schema(location)))


def check_first_revision(connection: Connection, *, location: Path = MIGRATIONS) -> None:
    """A database from before migrations must hold every table and column of the
    first revision; anything else is a database hookflow does not know."""
    found = inspect(connection)
    tables = set(found.get_table_names())
    missing: list[str] = []
    for table, columns in sorted(first_revision_schema(location).items()):
        if table not in tables:
            missing.append(table)
            continue
        have = {column["name"] for column in found.get_columns(table)}
        missing += [f"{table}.{column}" for column in sorted(columns - have)]
    if missing:
        shown = ", ".join(missing[:5]) + (" ..." if len(missing) > 5 else "")
        raise SettingsError(
            f"the configuration database has no {VERSION_TABLE} table and does not match "
            f"hookflow's first schema (missing {shown}): point HOOKFLOW_DATABASE_URL at "
            "hookflow's own database or at an empty one"
        )


@cache
def first_revision_schema(location: Path = MIGRATIONS) -> dict[str, frozenset[str]]:
    """Tables and columns of the first revision, read off a scratch in-memory database."""
    engine = create_engine("sqlite://")
    try:
        with engine.begin() as connection:
            command.upgrade(alembic_config(connection, location=location), FIRST_REVISION)
            found = inspect(connection)
            return {
                table: frozenset(column["name"] for column in found.get_columns(table))
                for table in found.get_table_names()
                if table != VERSION_TABLE
            }
    finally:
        engine.dispose()
