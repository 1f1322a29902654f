"""The configuration store as a command opens it (no Temporal, no worker)."""

from __future__ import annotations

from sqlalchemy.engine import Engine

from activities.files.private import DIR_MODE, tighten
from activities.store.crypto import SecretBox, sealed_sample
from activities.store.database import init_db, make_engine
from activities.store.revisions import is_current
from worker.runtime.settings import Settings


def open_store(settings: Settings) -> tuple[Engine, SecretBox]:
    """The configuration database and the key that opens its secrets: a key is
    made only for a database that holds none, and must open what it holds."""
    tighten(settings.data_dir, DIR_MODE)
    engine = make_engine(settings.database_url)
    if not is_current(engine):  # Alembic loads only when there is something to do
        init_db(engine)
    sample = sealed_sample(engine)
    box = SecretBox(settings.secret_key(create=sample is None))
    if sample is not None:
        box.check(sample)
    return engine, box
