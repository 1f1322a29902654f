"""Database engine for the configuration store (SQLite by default, PostgreSQL at scale)."""

from __future__ import annotations

import sqlite3
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from sqlalchemy import DateTime, event
from sqlalchemy.engine import Engine
from sqlalchemy.types import TypeDecorator
from sqlmodel import create_engine

from activities.errors import SettingsError
from activities.files.private import FILE_MODE, private_file, tighten


class UTCDateTime(TypeDecorator[datetime]):
    """Timezone-aware UTC datetimes on every backend (SQLite keeps none)."""

    impl = DateTime
    cache_ok = True

    def process_bind_param(self, value: datetime | None, dialect: Any) -> datetime | None:
        if value is None:
            return None
        if value.tzinfo is None:
            raise ValueError("naive datetime given to the database")
        return value.astimezone(UTC).replace(tzinfo=None)

    def process_result_value(self, value: datetime | None, dialect: Any) -> datetime | None:
        return None if value is None else value.replace(tzinfo=UTC)


def utcnow() -> datetime:
    return datetime.now(UTC)


def make_engine(url: str) -> Engine:
    """An engine for ``url``; SQLite files get WAL and a busy timeout, and are
    private to the user (SQLite gives the -wal and -shm files the database's mode)."""
    if url.startswith("sqlite"):
        if sqlite3.sqlite_version_info < (3, 35):  # the attempt log's upsert ... RETURNING
            raise SettingsError(
                f"SQLite {sqlite3.sqlite_version} is too old: hookflow needs 3.35 or newer "
                "(or PostgreSQL through HOOKFLOW_DATABASE_URL)"
            )
        path = url.split("///", 1)[1].split("?", 1)[0] if "///" in url else ""
        if path and path != ":memory:":
            private_file(Path(path))
            for suffix in ("-wal", "-shm", "-journal"):
                tighten(Path(path + suffix), FILE_MODE)
        engine = create_engine(url, connect_args={"check_same_thread": False, "timeout": 30})
        event.listen(engine, "connect", _sqlite_pragmas)
        return engine
    return create_engine(url, pool_pre_ping=True, pool_size=10, max_overflow=10)


def _sqlite_pragmas(dbapi_connection: Any, _record: Any) -> None:
    cursor = dbapi_connection.cursor()
    cursor.execute("PRAGMA journal_mode=WAL")
    cursor.execute("PRAGMA synchronous=NORMAL")
    cursor.execute("PRAGMA foreign_keys=ON")
    cursor.close()


def init_db(engine: Engine) -> None:
    """Bring the database to the newest schema (Alembic migrations); data is kept."""
    from activities.store.migrate import upgrade  # Alembic loads only where a store opens

    upgrade(engine)
