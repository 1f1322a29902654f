"""Creates racing for a project's last webhook place: exactly one takes it, on
SQLite (one writer at a time, counted again once written) and PostgreSQL (a
lock per project while counting)."""

from __future__ import annotations

import threading
from collections.abc import Iterator
from pathlib import Path

import pytest
from sqlmodel import Session, col, func, select

from activities.contracts.limits import WebhookLimits
from activities.errors import ConfigError
from activities.store.crypto import SecretBox
from activities.store.database import init_db, make_engine
from activities.store.tables import Webhook
from activities.store.webhooks import WebhookCreate, create_webhook
from tests.postgres import postgres_schema

LIMITS = WebhookLimits(webhooks_per_project=3)


@pytest.fixture(params=["sqlite", "postgresql"])
def url(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[str]:
    if request.param == "sqlite":
        yield f"sqlite:///{tmp_path / 'store.db'}"
    else:
        with postgres_schema() as found:
            yield found


def test_only_one_of_racing_creates_takes_the_last_place(url: str) -> None:
    engine = make_engine(url)
    init_db(engine)
    box = SecretBox("k")

    def create(alias: str) -> None:
        data = WebhookCreate(
            project="acme", alias=alias, type="form_submitted", url="https://crm.example.com/h"
        )
        with Session(engine) as session:
            create_webhook(session=session, data=data, box=box, limits=LIMITS)

    create("one")
    create("two")
    start, outcomes = threading.Barrier(8), []

    def race(n: int) -> None:
        start.wait()
        try:
            create(f"racer {n}")
            outcomes.append("created")
        except ConfigError:
            outcomes.append("refused")
        except Exception as err:  # SQLite: a writer that found the database busy
            outcomes.append(type(err).__name__)

    threads = [threading.Thread(target=race, args=(n,)) for n in range(8)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    with Session(engine) as session:
        count = session.exec(
            select(func.count(col(Webhook.id))).where(Webhook.project == "acme")
        ).one()
    engine.dispose()
    assert count == 3, outcomes
    assert outcomes.count("created") == 1, outcomes
