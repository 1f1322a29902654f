"""Retention on SQLite and PostgreSQL: old settled deliveries go with their
attempts, in batches; open ones, recent ones and files still named stay."""

from __future__ import annotations

import io
import os
import uuid
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

from sqlalchemy import event, insert
from sqlalchemy.engine import Engine
from sqlmodel import Session, col, func, select

from activities.catalog import ARCHIVE, SUBMITTED
from activities.contracts.retention import RetentionInput
from activities.files.documents import LocalDocumentStore
from activities.log.open_sessions import OpenSessions
from activities.log.retention import Retention
from activities.store.crypto import SecretBox
from activities.store.database import utcnow
from activities.store.health import set_retention
from activities.store.tables import Attempt, Delivery, Storage

DAY = timedelta(days=1)


def _rows(
    engine: Engine,
    *,
    project: str,
    count: int,
    age: timedelta,
    status: str = "delivered",
    event_type: str = "WHEF_CLIENT_LOGGED_IN",
    session_id: str = "s1",
    envelope: dict[str, object] | None = None,
    attempts: int = 2,
) -> list[str]:
    """``count`` deliveries last changed ``age`` ago, each with ``attempts`` attempts."""
    when = utcnow() - age
    keys = [f"evt_{uuid.uuid4().hex}.{project}" for _ in range(count)]
    deliveries = [
        {
            "id": key,
            "project": project,
            "session_id": session_id,
            "webhook_id": uuid.uuid4(),
            "event_id": key.split(".")[0],
            "event_type": event_type,
            "sequence": n,
            "status": status,
            "attempts": attempts,
            "envelope": envelope or {},
            "created_at": when,
            "updated_at": when,
        }
        for n, key in enumerate(keys)
    ]
    tries = [
        {
            "delivery_id": key,
            "attempt": n + 1,
            "started_at": when,
            "latency_ms": 1.0,
            "outcome": "delivered",
            "response_excerpt": "ok",
        }
        for key in keys
        for n in range(attempts)
    ]
    with Session(engine) as session:
        session.execute(insert(Delivery), deliveries)
        if tries:
            session.execute(insert(Attempt), tries)
        session.commit()
    return keys


def _left(engine: Engine, keys: list[str]) -> tuple[int, int]:
    with Session(engine) as session:
        deliveries = session.exec(select(func.count()).where(col(Delivery.id).in_(keys))).one()
        attempts = session.exec(
            select(func.count()).where(col(Attempt.delivery_id).in_(keys))
        ).one()
    return deliveries, attempts


def _retention(engine: Engine, box: SecretBox, tmp_path: Path, batch: int = 1000) -> Retention:
    return Retention(
        engine=engine,
        box=box,
        documents=tmp_path / "documents",
        storage=tmp_path / "storage",
        batch=batch,
        pause=0,
    )


def _age(path: Path, age: timedelta) -> None:
    when = (datetime.now() - age).timestamp()
    os.utime(path, (when, when))


async def test_old_settled_deliveries_go_in_batches_and_nothing_else(
    store: Engine, box: SecretBox, tmp_path: Path
) -> None:
    old = _rows(store, project="acme", count=25, age=40 * DAY)
    old += _rows(store, project="acme", count=5, age=40 * DAY, status="failed")
    old += _rows(store, project="acme", count=5, age=40 * DAY, status="skipped", attempts=0)
    recent = _rows(store, project="acme", count=7, age=20 * DAY)
    unsettled = []
    for status in ("pending", "waiting", "held"):
        unsettled += _rows(store, project="acme", count=3, age=90 * DAY, status=status)
    work = _retention(store, box, tmp_path, batch=4)

    shown = await work.run(RetentionInput(dry_run=True), open_sessions=None)
    assert (shown.deliveries, shown.attempts) == (35, 60)
    assert _left(store, old) == (35, 60)  # a dry run deletes nothing

    beats: list[int] = []
    done = await work.run(
        RetentionInput(), open_sessions=None, progress=lambda r: beats.append(r.deliveries)
    )
    assert (done.deliveries, done.attempts, done.projects) == (35, 60, {"acme": 35})
    assert len(beats) >= 9  # four at a time
    assert _left(store, old) == (0, 0)
    assert _left(store, recent) == (7, 14)
    assert _left(store, unsettled) == (9, 18)
    again = await work.run(RetentionInput(), open_sessions=None)
    assert again.deliveries == 0


async def test_a_delivery_redelivered_as_its_batch_is_deleted_stays(
    store: Engine, box: SecretBox, tmp_path: Path
) -> None:
    """Between a batch's read and its delete, a redelivery makes a row pending
    and new again: the delete checks again, and the row stays."""
    kept_open = _rows(store, project="acme", count=3, age=41 * DAY, event_type=SUBMITTED)
    old = _rows(store, project="acme", count=6, age=40 * DAY)
    old += _rows(store, project="acme", count=6, age=39 * DAY)
    redelivered = min(old[:6])  # the first batch: the three kept open, and this one

    def redeliver(connection: Any, cursor: Any, statement: str, *_: Any) -> None:
        if statement.startswith("DELETE FROM delivery") and not hits:
            hits.append(statement)
            mark = "?" if connection.dialect.paramstyle == "qmark" else "%s"
            cursor.execute(
                f"UPDATE delivery SET status = 'pending', updated_at = {mark} WHERE id = {mark}",
                (utcnow().replace(tzinfo=None).isoformat(sep=" "), redelivered),
            )

    hits: list[str] = []
    event.listen(store, "before_cursor_execute", redeliver)
    try:
        # Files of a running session stay; the batches go on past them.
        done = await _retention(store, box, tmp_path, batch=4).run(
            RetentionInput(), open_sessions=None
        )
    finally:
        event.remove(store, "before_cursor_execute", redeliver)
    assert hits
    assert done.deliveries == 11 and done.kept_open == 3
    assert _left(store, [key for key in old if key != redelivered]) == (0, 0)
    assert _left(store, [redelivered]) == (1, 2)
    assert _left(store, kept_open) == (3, 6)
    with Session(store) as session:
        row = session.get(Delivery, redelivered)
        assert row is not None and row.status == "pending"


async def test_each_project_at_its_own_retention_or_older_than(
    store: Engine, box: SecretBox, tmp_path: Path
) -> None:
    with Session(store) as session:
        set_retention(session=session, project="brief", seconds=(7 * DAY).total_seconds())
    brief = _rows(store, project="brief", count=3, age=10 * DAY)
    acme = _rows(store, project="acme", count=3, age=10 * DAY)
    ancient = _rows(store, project="acme", count=2, age=100 * DAY)
    work = _retention(store, box, tmp_path)

    only = await work.run(RetentionInput(project="acme", dry_run=True))
    assert only.projects == {"acme": 2}
    done = await work.run(RetentionInput())
    assert done.projects == {"brief": 3, "acme": 2}
    assert _left(store, brief) == (0, 0) and _left(store, ancient) == (0, 0)
    assert _left(store, acme) == (3, 6)
    forced = await work.run(RetentionInput(project="acme", older_than=(5 * DAY).total_seconds()))
    assert forced.deliveries == 3 and _left(store, acme) == (0, 0)


async def test_documents_named_by_a_kept_or_running_delivery_stay(
    store: Engine, box: SecretBox, tmp_path: Path
) -> None:
    documents = LocalDocumentStore(tmp_path / "documents")
    refs = [documents.put(io.BytesIO(f"document {n}".encode()), project="acme") for n in range(5)]
    for ref in refs:
        _age(documents.project_dir("acme") / ref.removeprefix("sha256:"), 60 * DAY)
    fresh = documents.put(io.BytesIO(b"fresh, named by nothing"), project="acme")

    def named(ref: str) -> dict[str, object]:
        return {"document": {"name": "a.pdf", "content_type": "application/pdf", "ref": ref}}

    # 0: its delivery is recent; 1: its old delivery's session still runs;
    # 2: its old delivery's process still runs; 3: its old delivery goes; 4: named by nothing.
    recent = _rows(
        store, project="acme", count=1, age=DAY, event_type=SUBMITTED, envelope=named(refs[0])
    )
    running = _rows(
        store,
        project="acme",
        count=1,
        age=60 * DAY,
        event_type=SUBMITTED,
        session_id="open1",
        envelope=named(refs[1]),
    )
    process = uuid.uuid4()
    station = _rows(
        store,
        project="acme",
        count=1,
        age=60 * DAY,
        event_type=ARCHIVE,
        session_id=f"{process.hex}-1",
        envelope=named(refs[2]),
    )
    ended = _rows(
        store,
        project="acme",
        count=1,
        age=60 * DAY,
        event_type=SUBMITTED,
        session_id="ended",
        envelope=named(refs[3]),
    )
    open_now = OpenSessions(frozenset({"session-open1", f"process-{process}"}))

    async def lookup() -> OpenSessions:
        return open_now

    work = _retention(store, box, tmp_path)
    shown = await work.run(RetentionInput(dry_run=True), open_sessions=lookup)
    assert (shown.deliveries, shown.documents, shown.kept_open) == (1, 2, 2)
    done = await work.run(RetentionInput(), open_sessions=lookup)
    assert (done.deliveries, done.documents, done.kept_open) == (1, 2, 2)
    left = {path.name for path in documents.project_dir("acme").iterdir()}
    digests = [ref.removeprefix("sha256:") for ref in [*refs, fresh]]
    assert left == {digests[0], digests[1], digests[2], digests[5]}
    assert _left(store, recent + running + station) == (3, 6)
    assert _left(store, ended) == (0, 0)

    # While the running sessions are unknown, every file-carrying delivery stays.
    unknown = await work.run(RetentionInput(older_than=3600), open_sessions=None)
    assert unknown.deliveries == 0 and unknown.kept_open == 3


async def test_stored_archives_go_at_their_projects_retention(
    store: Engine, box: SecretBox, tmp_path: Path
) -> None:
    root = tmp_path / "storage"
    with Session(store) as session:
        session.add(Storage(project="brief", path="{project}/{session_id}"))
        session.add(Storage(project="shared", path="all/{session_id}"))
        set_retention(session=session, project="brief", seconds=(7 * DAY).total_seconds())
        session.commit()
    files = {
        "brief/old/form_data.json": 10 * DAY,
        "brief/new/form_data.json": DAY,
        "all/old.zip": 40 * DAY,
        "all/young.zip": 10 * DAY,
    }
    for name, age in files.items():
        path = root / name
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text("{}")
        _age(path, age)
    work = _retention(store, box, tmp_path)
    assert (await work.run(RetentionInput(dry_run=True))).archives == 2
    assert (await work.run(RetentionInput(project="brief"))).archives == 1
    assert (await work.run(RetentionInput())).archives == 1
    left = sorted(str(p.relative_to(root)) for p in root.rglob("*") if p.is_file())
    assert left == ["all/young.zip", "brief/new/form_data.json"]
    assert not (root / "brief" / "old").exists()  # an emptied folder goes too


def test_open_sessions_are_a_projects_own_under_either_id_form() -> None:
    """A running session keeps its files under its per-project id or the old
    form; another project's running session of the same id keeps nothing."""
    process = uuid.uuid4()
    running = OpenSessions(
        frozenset(
            {"session-acme:new1", "session-old1", f"process-acme:{process}", "session-globex:g1"}
        )
    )
    assert running.names("new1", project="acme")
    assert running.names("old1", project="acme")  # started before ids were per project
    assert running.names(f"{process.hex}-2", project="acme")
    assert not running.names("new1", project="globex")
    assert not running.names("g1", project="acme")
    assert not running.names(f"{process.hex}-2", project="globex")
