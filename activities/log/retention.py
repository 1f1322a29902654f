"""Retention: what keeps storage bounded.

Per project, settled deliveries (delivered, failed, skipped: never pending,
waiting or held) whose last change is older than the project's retention
(``projects set --retention``, default 30 days) go with their attempts (and
so their envelopes and response excerpts), a thousand ids per transaction,
so no transaction holds the log for long. A delivery that carries files
(a submission, an archive) of a session or process still running stays
until it ends: it is what names the files that session still needs.

Documents (content-addressed files, shared by every project) go once they
are older than the longest retention of any project and no delivery still
in the log names them. Stored archives (the storage integration's local
folder) go once they are older than the retention: a project whose storage
path starts with ``{project}`` has its folder at its own retention, the rest
of the folder at the longest one.
"""

from __future__ import annotations

import asyncio
import json
import re
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

from sqlalchemy import and_, delete, func, or_
from sqlalchemy.engine import Engine
from sqlmodel import Session, col, select
from temporalio import activity

from activities.catalog import ARCHIVE, SUBMITTED
from activities.contracts import ActivityName
from activities.contracts.retention import RetentionInput, RetentionResult
from activities.contracts.states import SETTLED
from activities.log.attempts import envelope_of
from activities.log.file_sweep import sweep_documents, sweep_tree
from activities.log.open_sessions import (
    OpenLookup,
    OpenSessions,
    running_sessions,
)
from activities.store.crypto import SecretBox
from activities.store.database import utcnow
from activities.store.health import DEFAULT_RETENTION, retention, retentions
from activities.store.tables import Attempt, Delivery, Storage

BATCH = 1000
"""Deliveries deleted per transaction."""
PAUSE = 0.005
"""Seconds between two batches: the log's writers and readers go first."""
FILE_EVENTS = (SUBMITTED, ARCHIVE)
"""Event types whose envelopes name documents."""
_SETTLED = [str(status) for status in SETTLED]
_REF = re.compile(r"sha256:[0-9a-f]{64}")


@dataclass
class _Plan:
    now: datetime
    cutoffs: dict[str, datetime]
    """Per project: rows last changed before this go."""
    files_cutoff: datetime | None
    """Documents and the shared part of the storage folder: older than this go."""
    result: RetentionResult = field(default_factory=RetentionResult)


class Retention:
    """Applies retention to one store, its document folder and its storage folder."""

    def __init__(
        self,
        *,
        engine: Engine,
        box: SecretBox,
        documents: Path,
        storage: Path,
        batch: int = BATCH,
        pause: float = PAUSE,
    ) -> None:
        self._engine = engine
        self._box = box
        self._documents = documents
        self._storage = storage
        self._batch = batch
        self._pause = pause

    async def run(
        self,
        req: RetentionInput,
        *,
        open_sessions: OpenLookup | None = None,
        progress: Callable[[RetentionResult], None] | None = None,
    ) -> RetentionResult:
        """Delete (or, with ``dry_run``, count) what is older than the retention.
        ``open_sessions`` tells which sessions still run (None, or a lookup that
        answers None: unknown, and every file-carrying delivery stays)."""
        plan = await asyncio.to_thread(self._plan, req)
        needs_open = await asyncio.to_thread(self._has_file_candidates, plan)
        running = await open_sessions() if (needs_open and open_sessions) else None
        for project, cutoff in sorted(plan.cutoffs.items()):
            if req.dry_run:
                counted = await asyncio.to_thread(self._count, project, cutoff, running)
                plan.result = plan.result.add(counted)
                continue
            after: tuple[datetime, str] | None = None
            while True:
                done, after = await asyncio.to_thread(
                    self._delete_batch, project, cutoff, running, after
                )
                plan.result = plan.result.add(done)
                if progress is not None:
                    progress(plan.result)
                if after is None:
                    break
                await asyncio.sleep(self._pause)
        if plan.files_cutoff is not None and req.project is None:
            kept = await asyncio.to_thread(self._named_documents, plan, running, req.dry_run)
            documents = await asyncio.to_thread(
                sweep_documents, self._documents, plan.files_cutoff, kept, req.dry_run
            )
            plan.result = plan.result.model_copy(update={"documents": documents})
        archives = await asyncio.to_thread(self._sweep_archives, plan, req)
        plan.result = plan.result.model_copy(update={"archives": archives})
        return plan.result

    # --- the plan ---------------------------------------------------------------

    def _plan(self, req: RetentionInput) -> _Plan:
        now = utcnow()
        with Session(self._engine) as session:
            own = retentions(session=session)
            if req.project is not None:
                projects = {req.project}
            else:
                logged = session.exec(select(Delivery.project).distinct())
                projects = set(logged) | set(own)
            cutoffs = {
                project: now
                - timedelta(seconds=req.older_than or retention(session=session, project=project))
                for project in projects
            }
        longest = max([DEFAULT_RETENTION, *own.values()])
        files_cutoff = now - timedelta(seconds=req.older_than or longest)
        return _Plan(now=now, cutoffs=cutoffs, files_cutoff=files_cutoff)

    def _expired(self, project: str, cutoff: datetime) -> Any:
        return and_(
            col(Delivery.project) == project,
            col(Delivery.status).in_(_SETTLED),
            col(Delivery.updated_at) < cutoff,
        )

    def _has_file_candidates(self, plan: _Plan) -> bool:
        with Session(self._engine) as session:
            for project, cutoff in plan.cutoffs.items():
                query = (
                    select(Delivery.id)
                    .where(self._expired(project, cutoff))
                    .where(col(Delivery.event_type).in_(FILE_EVENTS))
                    .limit(1)
                )
                if session.exec(query).first() is not None:
                    return True
        return False

    # --- the delivery log ---------------------------------------------------------

    def _delete_batch(
        self,
        project: str,
        cutoff: datetime,
        running: OpenSessions | None,
        after: tuple[datetime, str] | None,
    ) -> tuple[RetentionResult, tuple[datetime, str] | None]:
        """One transaction: up to ``batch`` expired deliveries of the project and
        their attempts; where to go on from (None: nothing left)."""
        query = select(Delivery.id, Delivery.session_id, Delivery.event_type, Delivery.updated_at)
        query = query.where(self._expired(project, cutoff))
        if after is not None:  # past the rows kept open, which stay where they are
            updated, key = after
            query = query.where(
                col(Delivery.updated_at) >= updated,  # the index's range: no sort of the rest
                or_(
                    col(Delivery.updated_at) > updated,
                    and_(col(Delivery.updated_at) == updated, col(Delivery.id) > key),
                ),
            )
        query = query.order_by(col(Delivery.updated_at), col(Delivery.id)).limit(self._batch)
        with Session(self._engine) as session:
            rows = list(session.exec(query))
            if not rows:
                return RetentionResult(), None
            doomed = [key for key, sid, kind, _ in rows if _goes(project, sid, kind, running)]
            deleted: list[str] = []
            attempts = 0
            if doomed:
                # Checked again as it is deleted: a redelivery meanwhile keeps the row.
                # Within the batch's own span of updated_at (before the cutoff), so
                # whichever index the planner takes, it reads this batch's rows only.
                gone = session.execute(
                    delete(Delivery)
                    .where(
                        col(Delivery.id).in_(doomed),
                        col(Delivery.project) == project,
                        col(Delivery.status).in_(_SETTLED),
                        col(Delivery.updated_at).between(rows[0][3], rows[-1][3]),
                    )
                    .returning(col(Delivery.id))
                )
                deleted = [key for (key,) in gone]
                if deleted:
                    removed = session.execute(
                        delete(Attempt).where(col(Attempt.delivery_id).in_(deleted))
                    )
                    attempts = int(removed.rowcount)  # type: ignore[attr-defined]
            session.commit()
        last = rows[-1]
        done = RetentionResult(
            deliveries=len(deleted),
            attempts=attempts,
            kept_open=len(rows) - len(doomed),
            projects={project: len(deleted)} if deleted else {},
        )
        return done, ((last[3], last[0]) if len(rows) == self._batch else None)

    def _count(
        self, project: str, cutoff: datetime, running: OpenSessions | None
    ) -> RetentionResult:
        """What ``_delete_batch`` would delete for the project, counted."""
        expired = self._expired(project, cutoff)
        plain = and_(expired, col(Delivery.event_type).not_in(FILE_EVENTS))
        with Session(self._engine) as session:
            deliveries = session.exec(select(func.count()).where(plain)).one()
            attempts = session.exec(
                select(func.count())
                .select_from(Attempt)
                .join(Delivery, col(Delivery.id) == col(Attempt.delivery_id))
                .where(plain)
            ).one()
            files = session.exec(
                select(Delivery.id, Delivery.session_id, Delivery.event_type).where(
                    expired, col(Delivery.event_type).in_(FILE_EVENTS)
                )
            )
            doomed = [key for key, sid, kind in files if _goes(project, sid, kind, running)]
            kept = 0
            for chunk in _chunks(doomed, self._batch):
                deliveries += len(chunk)
                attempts += session.exec(
                    select(func.count()).where(col(Attempt.delivery_id).in_(chunk))
                ).one()
            kept = session.exec(
                select(func.count()).where(expired, col(Delivery.event_type).in_(FILE_EVENTS))
            ).one() - len(doomed)
        return RetentionResult(
            deliveries=deliveries,
            attempts=attempts,
            kept_open=kept,
            projects={project: deliveries} if deliveries else {},
        )

    # --- documents and archives ---------------------------------------------------

    def _named_documents(
        self, plan: _Plan, running: OpenSessions | None, dry_run: bool
    ) -> set[str]:
        """Document references named by a delivery that stays in the log."""
        named: set[str] = set()
        query = select(Delivery).where(col(Delivery.event_type).in_(FILE_EVENTS))
        with Session(self._engine) as session:
            for delivery in session.exec(query.execution_options(yield_per=500)):
                cutoff = plan.cutoffs.get(delivery.project)
                goes = (
                    dry_run
                    and cutoff is not None
                    and delivery.status in _SETTLED
                    and delivery.updated_at < cutoff
                    and _goes(delivery.project, delivery.session_id, delivery.event_type, running)
                )
                if not goes:
                    text = json.dumps(envelope_of(delivery, box=self._box))
                    named.update(_REF.findall(text))
        return named

    def _sweep_archives(self, plan: _Plan, req: RetentionInput) -> int:
        root = self._storage
        if not root.is_dir():
            return 0
        with Session(self._engine) as session:
            own = {
                row.project: root / row.project
                for row in session.exec(select(Storage))
                if row.path.split("/", 1)[0] == "{project}"
            }
        removed = 0
        for project, folder in own.items():
            cutoff = plan.cutoffs.get(project)
            if cutoff is None and req.project is None and plan.files_cutoff is not None:
                cutoff = plan.files_cutoff  # nothing in the log: at the longest retention
            if cutoff is not None and (req.project is None or req.project == project):
                removed += sweep_tree(folder, cutoff, skip=(), dry_run=req.dry_run)
        if req.project is None and plan.files_cutoff is not None:
            removed += sweep_tree(
                root, plan.files_cutoff, skip=set(own.values()), dry_run=req.dry_run
            )
        return removed


def _goes(project: str, session_id: str, event_type: str, running: OpenSessions | None) -> bool:
    """Whether an expired delivery may go: one that names files stays while its
    session (or process) runs, and while that is unknown."""
    if event_type not in FILE_EVENTS:
        return True
    return running is not None and not running.names(session_id, project=project)


def _chunks(items: list[str], size: int) -> Iterable[list[str]]:
    for start in range(0, len(items), size):
        yield items[start : start + size]


class RetentionActivities:
    def __init__(self, retention: Retention) -> None:
        self._retention = retention

    @activity.defn(name=ActivityName.APPLY_RETENTION)
    async def apply_retention(self, req: RetentionInput) -> RetentionResult:
        """Delete what is older than the retention; heartbeats after each batch."""

        async def lookup() -> OpenSessions | None:
            return await running_sessions(activity.client())

        def beat(so_far: RetentionResult) -> None:
            activity.heartbeat(so_far.deliveries)

        return await self._retention.run(req, open_sessions=lookup, progress=beat)
