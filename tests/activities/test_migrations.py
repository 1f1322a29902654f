"""Schema migrations: an existing database keeps its data through every upgrade.

Each test runs on a SQLite file and on a PostgreSQL schema (``store_url``).
"""

from __future__ import annotations

import shutil
import threading
import uuid
from datetime import UTC, datetime
from pathlib import Path

import pytest
from alembic.autogenerate import compare_metadata
from alembic.runtime.migration import MigrationContext
from alembic.script import ScriptDirectory
from sqlalchemy import MetaData, Table, inspect, text
from sqlalchemy.engine import Connection, Engine
from sqlmodel import Session, SQLModel

from activities.errors import SettingsError
from activities.log.attempts import attempts_of, list_deliveries
from activities.store.crypto import SecretBox
from activities.store.database import init_db, make_engine
from activities.store.migrate import MIGRATIONS, alembic_config, current_revisions, upgrade
from activities.store.webhooks import (
    WebhookCreate,
    create_webhook,
    find_webhook,
    public,
    templates_of,
)

PRE_MIGRATIONS = Path(__file__).parent / "pre_migrations"
HEADS = set(ScriptDirectory.from_config(alembic_config(None)).get_heads())


def run_script(engine: Engine, name: str) -> None:
    lines = (PRE_MIGRATIONS / f"{name}.sql").read_text().splitlines()
    script = "\n".join(line for line in lines if not line.startswith("--"))
    statements = [s for s in script.split(";\n") if s.strip()]
    with engine.begin() as connection:
        for statement in statements:
            connection.exec_driver_sql(statement)


def insert(connection: Connection, table: str, **values: object) -> None:
    """Write a row the way an older hookflow did: against the table as the database has it."""
    reflected = Table(table, MetaData(), autoload_with=connection)
    connection.execute(reflected.insert().values(**values))


def uuid_value(engine: Engine, value: uuid.UUID) -> object:
    return value if engine.dialect.name == "postgresql" else value.hex


def test_the_migrations_match_the_tables(store_url: str) -> None:
    """A table or column added to ``tables.py`` without a revision fails here."""
    engine = make_engine(store_url)
    try:
        init_db(engine)
        with engine.connect() as connection:
            diff = compare_metadata(MigrationContext.configure(connection), SQLModel.metadata)
        assert diff == []
        assert current_revisions(engine) == HEADS
    finally:
        engine.dispose()


def test_a_database_from_before_migrations_is_stamped_and_keeps_its_data(
    store_url: str, box: SecretBox
) -> None:
    engine = make_engine(store_url)
    try:
        run_script(engine, engine.dialect.name)
        hook, now = uuid.uuid4(), datetime.now(UTC).replace(tzinfo=None)
        with engine.begin() as connection:
            insert(
                connection,
                "webhook",
                id=uuid_value(engine, hook),
                project="acme",
                alias="crm",
                type="form_submitted",
                explicit=True,
                url="https://crm.example.com/hook",
                timeout=12.5,
                verify_ssl=True,
                headers={"X-Tenant": "acme"},
                auth="basic",
                basic_username="dana",
                basic_password_enc=box.seal("pa55word"),
                content_type="json",
                accept="json",
                retry_schedule=[0, 5, 300],
                enabled=True,
                created_at=now,
                updated_at=now,
            )
            insert(
                connection, "webhook_template", webhook_id=uuid_value(engine, hook), template="loan"
            )
            insert(
                connection,
                "delivery",
                id="evt_1.abc",
                project="acme",
                session_id="s1",
                webhook_id=uuid_value(engine, hook),
                event_id="evt_1",
                event_type="WHEF_CLIENT_FORM_SUBMITTED",
                sequence=3,
                status="delivered",
                attempts=1,
                status_code=200,
                envelope={"event": {"id": "evt_1"}},
                created_at=now,
                updated_at=now,
            )
            insert(
                connection,
                "attempt",
                delivery_id="evt_1.abc",
                attempt=1,
                started_at=now,
                status_code=200,
                latency_ms=12.5,
                outcome="delivered",
            )

        init_db(engine)

        assert current_revisions(engine) == HEADS
        with Session(engine) as session:
            webhook = find_webhook(session=session, ref="crm", project="acme")
            shown = public(webhook, templates=templates_of(session, hook), box=box)
            assert (webhook.id, shown.timeout, shown.retry_schedule) == (hook, 12.5, [0, 5, 300])
            assert templates_of(session, hook) == ["loan"]
            assert box.open(webhook.basic_password_enc or "") == "pa55word"
            [delivery] = list_deliveries(session=session, session_id="s1")
            assert (delivery.sequence, delivery.status) == (3, "delivered")
            [attempt] = attempts_of(session=session, delivery="evt_1.abc")
            assert attempt.started_at == now.replace(tzinfo=UTC)
    finally:
        engine.dispose()


def test_an_unknown_database_is_refused_and_left_alone(store_url: str) -> None:
    engine = make_engine(store_url)
    try:
        with engine.begin() as connection:
            connection.exec_driver_sql("CREATE TABLE webhook (id INTEGER PRIMARY KEY, name TEXT)")
        with pytest.raises(SettingsError, match=r"first schema \(missing attempt, delivery, "):
            init_db(engine)
        with engine.connect() as connection:
            assert inspect(connection).get_table_names() == ["webhook"]
    finally:
        engine.dispose()


def test_a_database_missing_a_column_is_refused(store_url: str) -> None:
    engine = make_engine(store_url)
    try:
        run_script(engine, engine.dialect.name)
        with engine.begin() as connection:
            connection.exec_driver_sql("ALTER TABLE webhook DROP COLUMN failover_url")
        with pytest.raises(SettingsError, match=r"\(missing webhook\.failover_url\)"):
            init_db(engine)
        with engine.connect() as connection:
            assert "alembic_version" not in inspect(connection).get_table_names()
    finally:
        engine.dispose()


def test_a_database_newer_than_the_code_is_refused(store_url: str) -> None:
    engine = make_engine(store_url)
    try:
        init_db(engine)
        with engine.begin() as connection:
            connection.execute(text("UPDATE alembic_version SET version_num = '9999'"))
        with pytest.raises(SettingsError, match="at revision 9999, newer than this hookflow"):
            init_db(engine)
    finally:
        engine.dispose()


NEXT_REVISION = '''
"""a later change: a new column, and a column whose type changes (SQLite copies the table)"""

import sqlalchemy as sa
from alembic import op

revision = "9000_test"
down_revision = {heads!r}


def upgrade() -> None:
    with op.batch_alter_table("webhook") as batch:
        batch.add_column(sa.Column("test_note", sa.String(20), nullable=True))
        batch.alter_column(
            "alias", existing_type=sa.String(100), type_=sa.String(120), existing_nullable=False
        )


def downgrade() -> None:
    with op.batch_alter_table("webhook") as batch:
        batch.drop_column("test_note")
'''


def test_a_new_revision_upgrades_a_running_database(
    store_url: str, box: SecretBox, tmp_path: Path
) -> None:
    """A new revision is one file; applying it keeps every row, and the rows
    that refer to a copied table (template couplings) too."""
    location = tmp_path / "migrations"
    shutil.copytree(MIGRATIONS, location, ignore=shutil.ignore_patterns("__pycache__"))
    heads = tuple(sorted(HEADS))
    (location / "versions" / "9000_test.py").write_text(
        NEXT_REVISION.format(heads=heads[0] if len(heads) == 1 else heads)
    )
    engine = make_engine(store_url)
    try:
        init_db(engine)
        with Session(engine) as session:
            data = WebhookCreate(
                project="acme",
                alias="crm",
                type="form_loaded",
                url="https://crm.example.com/",
                explicit=True,
                templates=["loan", "lease"],
            )
            hook = create_webhook(session=session, box=box, data=data).id

        upgrade(engine, location=location)

        assert current_revisions(engine) == {"9000_test"}
        with engine.connect() as connection:
            columns = {c["name"]: c for c in inspect(connection).get_columns("webhook")}
            rows = connection.execute(text("SELECT alias, url, test_note FROM webhook")).all()
        assert "test_note" in columns and getattr(columns["alias"]["type"], "length", None) == 120
        assert [tuple(row) for row in rows] == [("crm", "https://crm.example.com/", None)]
        with Session(engine) as session:
            assert sorted(templates_of(session, hook)) == ["lease", "loan"]
    finally:
        engine.dispose()


@pytest.mark.postgres
def test_workers_starting_together_migrate_once(tmp_path: Path) -> None:
    """Several workers opening one empty PostgreSQL database at once: one
    migrates, the others wait for it and find the schema there."""
    from tests.postgres import postgres_schema

    with postgres_schema() as url:
        engines = [make_engine(url) for _ in range(4)]
        errors: list[BaseException] = []
        start = threading.Barrier(len(engines))

        def open_store(engine: Engine) -> None:
            start.wait()
            try:
                init_db(engine)
            except BaseException as err:  # reported below
                errors.append(err)

        threads = [threading.Thread(target=open_store, args=(e,)) for e in engines]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join(timeout=60)
        try:
            assert errors == []
            assert current_revisions(engines[0]) == HEADS
        finally:
            for engine in engines:
                engine.dispose()
