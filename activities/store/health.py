"""Shared delivery state in the database: webhook health, project settings.

A webhook's health row is changed by compare-and-set on its ``version``
(read, decide, ``UPDATE ... WHERE version = v``; on a lost race, read again),
which behaves the same on SQLite and PostgreSQL and needs no lock held across
a decision. The decisions themselves are pure (``activities.delivery.health``).
"""

from __future__ import annotations

import dataclasses
import math
import random
import time
import uuid
from collections.abc import Callable
from datetime import timedelta

from sqlalchemy import update
from sqlalchemy.engine import Engine
from sqlalchemy.exc import IntegrityError
from sqlmodel import Session, col, select

from activities.delivery.health import Health
from activities.delivery.retry import parse_duration
from activities.errors import EndpointUnavailable
from activities.store.database import utcnow
from activities.store.tables import ProjectSettings, Webhook, WebhookHealth

# A webhook that failed every attempt this long is disabled, unless its project says otherwise.
DEFAULT_DISABLE_AFTER = timedelta(days=5).total_seconds()
_MAX_TRIES = 100
_FIELDS = [f.name for f in dataclasses.fields(Health) if f.name != "version"]


def _snapshot(row: WebhookHealth) -> Health:
    return Health(version=row.version, **{name: getattr(row, name) for name in _FIELDS})


def read_health(*, session: Session, webhook_id: uuid.UUID) -> Health:
    row = session.get(WebhookHealth, webhook_id)
    return Health() if row is None else _snapshot(row)


def change_health(
    *, engine: Engine, webhook_id: uuid.UUID, change: Callable[[Health], Health | None]
) -> Health:
    """Apply ``change`` to the webhook's health atomically; returns the state
    after it. ``change`` may run more than once (on a lost race) and returns
    None to leave the state as it is."""
    for _ in range(_MAX_TRIES):
        with Session(engine) as session:
            row = session.get(WebhookHealth, webhook_id)
            if row is None:
                _create(session, webhook_id)
                continue
            current = _snapshot(row)
            new = change(current)
            if new is None:
                return current
            values = {name: getattr(new, name) for name in _FIELDS}
            result = session.execute(
                update(WebhookHealth)
                .where(
                    col(WebhookHealth.webhook_id) == webhook_id,
                    col(WebhookHealth.version) == current.version,
                )
                .values(version=current.version + 1, **values)
            )
            session.commit()
            if result.rowcount == 1:  # type: ignore[attr-defined]
                return dataclasses.replace(new, version=current.version + 1)
        time.sleep(random.uniform(0, 0.005))  # another worker won the race: read again
    raise RuntimeError(f"webhook {webhook_id}: health row too contended")


def _create(session: Session, webhook_id: uuid.UUID) -> None:
    session.add(WebhookHealth(webhook_id=webhook_id))
    try:
        session.commit()
    except IntegrityError:  # created meanwhile by another worker, or the webhook is gone
        session.rollback()
        if session.get(Webhook, webhook_id) is None:
            raise EndpointUnavailable(f"webhook {webhook_id} was deleted") from None


# --- project settings ------------------------------------------------------------


def disable_after(*, session: Session, project: str) -> float | None:
    """Seconds of failing every attempt after which the project's webhooks are
    disabled (None: never)."""
    row = session.get(ProjectSettings, project)
    seconds = (
        DEFAULT_DISABLE_AFTER if row is None or row.disable_after is None else row.disable_after
    )
    return seconds or None


def project_settings(*, session: Session, project: str) -> ProjectSettings:
    return session.get(ProjectSettings, project) or ProjectSettings(project=project)


def set_disable_after(*, session: Session, project: str, seconds: float | None) -> ProjectSettings:
    """Set (None: back to the default; 0: never) and return the project's settings."""
    return _update_project(session, project, disable_after=seconds)


def _update_project(session: Session, project: str, **values: float | None) -> ProjectSettings:
    """Write ``values`` into the project's settings row (made on first use)."""
    row = project_settings(session=session, project=project)
    for name, value in values.items():
        setattr(row, name, value)
    row.updated_at = utcnow()
    session.add(row)
    session.commit()
    session.refresh(row)
    return row


# The delivery log, documents and stored archives are kept this long unless the project says.
DEFAULT_RETENTION = timedelta(days=30).total_seconds()


MIN_RETENTION = timedelta(hours=1).total_seconds()
MAX_RETENTION = timedelta(days=3650).total_seconds()


def parse_retention(text: str) -> float | None:
    """Seconds in ``"30d"``, ``"12h"``... between 1h and 3650d; None for
    ``"default"``. The command line and the API read a retention with this."""
    value = text.strip().lower()
    if value == "default":
        return None
    try:
        seconds = parse_duration(value)
    except ValueError as err:
        raise ValueError(f"{err} or 'default'") from None
    if not MIN_RETENTION <= seconds <= MAX_RETENTION:
        raise ValueError("between 1h and 3650d, or 'default'")
    return seconds


def retention(*, session: Session, project: str) -> float:
    """Seconds the project's delivery log, documents and archives are kept."""
    row = session.get(ProjectSettings, project)
    return DEFAULT_RETENTION if row is None or row.retention is None else row.retention


def retentions(*, session: Session) -> dict[str, float]:
    """Every project that set a retention of its own, with it."""
    rows = session.exec(select(ProjectSettings).where(col(ProjectSettings.retention).is_not(None)))
    return {row.project: float(row.retention) for row in rows if row.retention is not None}


def set_retention(*, session: Session, project: str, seconds: float | None) -> ProjectSettings:
    """Set (None: back to the default) and return the project's settings."""
    return _update_project(session, project, retention=seconds)


def parse_share(value: str | float) -> float | None:
    """A project's share of a worker's attempt places: a fraction above 0 and
    at most 1 (``0.3`` or ``"0.3"``); None for ``"default"``. The command line
    and the API read a share with this."""
    if isinstance(value, str) and value.strip().lower() == "default":
        return None
    try:
        share = math.nan if isinstance(value, bool) else float(value)
    except ValueError:
        share = math.nan
    if not 0 < share <= 1:  # NaN fails too
        raise ValueError("a fraction above 0 and at most 1 (e.g. 0.3), or 'default'")
    return share


def project_share(*, session: Session, project: str) -> float | None:
    """The project's own share of a worker (None: the worker's default)."""
    row = session.get(ProjectSettings, project)
    return None if row is None else row.share


def shares(*, session: Session) -> dict[str, float]:
    """Every project with a share of its own, with it (the workers' cache reads this)."""
    rows = session.exec(select(ProjectSettings).where(col(ProjectSettings.share).is_not(None)))
    return {row.project: float(row.share) for row in rows if row.share is not None}


def set_share(*, session: Session, project: str, share: float | None) -> ProjectSettings:
    """Set (None: back to the worker's default) and return the project's settings."""
    return _update_project(session, project, share=share)
