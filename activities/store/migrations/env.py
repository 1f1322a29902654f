"""Alembic's environment: the configuration store's tables, as SQLModel declares them.

hookflow runs it through ``activities.store.migrate``, which hands over a
connection already in a transaction (and, on PostgreSQL, holding the
migration lock); Alembic's own command line gets an engine of its own here.
"""

from __future__ import annotations

from logging.config import fileConfig
from typing import Any, Literal

from alembic import context
from alembic.autogenerate.api import AutogenContext
from sqlalchemy.engine import Connection
from sqlalchemy.types import String, TypeDecorator, TypeEngine
from sqlmodel import SQLModel
from sqlmodel.sql.sqltypes import AutoString

from activities.store import tables  # noqa: F401  (registers the tables)
from activities.store.database import make_engine
from activities.store.migrate import migration_connection


def render_item(kind: str, item: Any, autogen: AutogenContext) -> str | Literal[False]:
    """Write hookflow's column types as the plain SQLAlchemy types they store,
    so a revision never imports application code that may later move."""
    if kind != "type" or not isinstance(item, TypeEngine):
        return False
    if isinstance(item, AutoString):
        return f"sa.String(length={item.length!r})" if item.length else "sa.String()"
    if isinstance(item, TypeDecorator):
        impl = item.impl_instance
        if isinstance(impl, String) and impl.length:
            return f"sa.{type(impl).__name__}(length={impl.length!r})"
        return f"sa.{type(impl).__name__}()"
    return False


def _configure(**options: Any) -> None:
    context.configure(
        target_metadata=SQLModel.metadata,
        # SQLite alters most columns by copying the table: batch operations do that.
        render_as_batch=True,
        render_item=render_item,
        compare_type=True,
        **options,
    )


def _run(connection: Connection) -> None:
    _configure(connection=connection)
    with context.begin_transaction():
        context.run_migrations()


def _command_line_url() -> str:
    """The database of Alembic's command line: the one ``hookflow`` commands open
    here (``HOOKFLOW_DATABASE_URL``, else the data dir's, as their settings say)."""
    url = context.config.get_main_option("sqlalchemy.url")
    if url:
        return url
    # Only Alembic's own command line comes here, never a worker: the settings
    # are the command line's, so it is imported here and nowhere else in activities/.
    from worker.runtime.settings import Settings

    return Settings.from_env().database_url


def main() -> None:
    given: Connection | None = context.config.attributes.get("connection")
    if given is not None:
        _run(given)
        return
    if context.config.config_file_name:
        fileConfig(context.config.config_file_name, disable_existing_loggers=False)
    if context.is_offline_mode():  # `upgrade --sql`: the SQL for a DBA to run
        _configure(url=_command_line_url(), literal_binds=True)
        with context.begin_transaction():
            context.run_migrations()
        return
    engine = make_engine(_command_line_url())
    try:
        with migration_connection(engine) as connection:
            _run(connection)
    finally:
        engine.dispose()


main()
