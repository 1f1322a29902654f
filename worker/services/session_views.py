"""Sessions as a client reads them, running or ended: one session's state, and
the list of sessions by their search attributes.

A running session answers its ``state`` query; an ended one has its last state
as the result in its closed history (no worker needed); a session whose
history is gone, or that was terminated, is told by the delivery log.
"""

from __future__ import annotations

import asyncio
import base64
import binascii
import re
from datetime import datetime, timedelta
from typing import Literal

from pydantic import BaseModel
from sqlalchemy.engine import Engine
from sqlmodel import Session, col, select
from temporalio.client import Client, WorkflowExecution, WorkflowExecutionStatus
from temporalio.service import RPCError, RPCStatusCode

from activities.contracts import DeliveryRecord, DeliveryStatus, SessionState
from activities.errors import Conflict
from activities.log.attempts import list_deliveries
from activities.store.tables import Delivery, Webhook
from worker.services.cursors import Page, decode_cursor, encode_cursor, invalid_cursor
from worker.services.ids import find
from workflows.names import SA_FAILED, SA_PROCESS, SA_PROJECT, SA_SESSION, SA_STATUS, SA_TEMPLATE

QUERY_TIMEOUT = timedelta(seconds=10)
SESSION_STATUSES = ("active", "submitted", "expired", "deleted")
# Values that go into a visibility query: ids as hookflow accepts them, so no quoting tricks.
_QUERY_VALUE = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_.-]{0,63}$")

# A cursor wrapping Temporal's page token (a few hundred bytes at most).
TOKEN_CURSOR_LIMIT = 4096

Source = Literal["query", "history", "log"]


class SessionView(BaseModel):
    """A session as ``sessions show`` prints it, and where that came from."""

    source: Source
    project: str | None = None
    """The session's project (its workflow's, or the delivery log's)."""
    execution: str
    """Temporal's status of the session's workflow: running, completed, terminated..."""
    closed_at: datetime | None = None
    state: SessionState | None = None
    """Its state (running: the query's answer; ended: its workflow's result)."""
    deliveries: list[DeliveryRecord]


class SessionSummary(BaseModel):
    """One line of ``sessions list``."""

    id: str
    project: str | None
    template: str | None
    status: str | None
    process_id: str | None
    failed_webhooks: list[str]
    execution: str
    started_at: datetime
    closed_at: datetime | None


async def fetch_session(
    client: Client, session_id: str, *, project: str | None = None
) -> SessionView | None:
    """The session of ``project`` (None: of the one project that has it), from
    wherever it still is; None when Temporal knows no such session (the caller
    may still find it in the delivery log)."""
    found = await find(client, "session", project=project, object_id=session_id)
    if found is None:
        return None
    handle = client.get_workflow_handle(found.handle.id, result_type=SessionState)
    described, project = found.described, found.project
    execution = _status_name(described.status)
    if described.status == WorkflowExecutionStatus.RUNNING:
        state: SessionState = await handle.query(
            "state", result_type=SessionState, rpc_timeout=QUERY_TIMEOUT
        )
        return SessionView(
            source="query",
            project=project,
            execution=execution,
            state=state,
            deliveries=state.deliveries,
        )
    if described.status == WorkflowExecutionStatus.COMPLETED:
        result = await handle.result(rpc_timeout=QUERY_TIMEOUT)
        return SessionView(
            source="history",
            project=project,
            execution=execution,
            closed_at=described.close_time,
            state=result,
            deliveries=result.deliveries,
        )
    return SessionView(
        source="log",
        project=project,
        execution=execution,
        closed_at=described.close_time,
        deliveries=[],
    )


def log_project(engine: Engine, session_id: str) -> str | None:
    """The one project whose delivery log has ``session_id`` (None: none has);
    ``Conflict`` when several have."""
    with Session(engine) as session:
        query = select(Delivery.project).where(Delivery.session_id == session_id).distinct()
        projects = sorted(session.exec(query).all())
    if len(projects) > 1:
        raise Conflict(
            f"session {session_id} is in projects {', '.join(projects)}: "
            "name one (--project, ?project=)"
        )
    return projects[0] if projects else None


def from_log(engine: Engine, session_id: str, *, project: str | None) -> list[DeliveryRecord]:
    """The session's deliveries as the delivery log has them, oldest first (of
    ``project`` only: session ids are per project)."""
    with Session(engine) as session:
        rows = list_deliveries(
            session=session, session_id=session_id, project=project, limit=10_000
        )
        ids = {row.webhook_id for row in rows}
        aliases = dict(
            session.exec(select(Webhook.id, Webhook.alias).where(col(Webhook.id).in_(ids))).all()
        )
    return [
        DeliveryRecord(
            sequence=row.sequence,
            event_id=row.event_id,
            event_type=row.event_type,
            webhook_id=row.webhook_id,
            webhook_alias=aliases.get(row.webhook_id, f"{row.webhook_id} (deleted)"),
            status=DeliveryStatus(row.status),
            attempts=row.attempts,
            status_code=row.status_code,
            error=row.last_error,
            next_attempt_at=row.next_attempt_at,
        )
        for row in sorted(rows, key=lambda r: (r.sequence, r.created_at))
    ]


async def read_session(
    client: Client, engine: Engine, session_id: str, *, project: str | None = None
) -> SessionView | None:
    """A session of ``project`` (None: of the one project that has it) as every
    front door shows it: its state from wherever it still is, and its deliveries
    from the delivery log, the one record of them (the session writes every
    transition it makes there). None when neither Temporal nor the log knows
    the session in that project."""
    view = await fetch_session(client, session_id, project=project)
    if view is not None:
        project = view.project
    elif project is None:
        project = await asyncio.to_thread(log_project, engine, session_id)
        if project is None:
            return None
    logged = await asyncio.to_thread(from_log, engine, session_id, project=project)
    if view is None:
        if not logged:
            return None
        view = SessionView(
            source="log", project=project, execution="gone from Temporal", deliveries=[]
        )
    view.deliveries = logged
    if view.state is not None:
        view.state.deliveries = logged
    return view


def visibility_query(*, project: str | None, status: str | None, template: str | None) -> str:
    """The sessions' visibility query; ValueError for a value hookflow never sets."""
    clauses = ['WorkflowType = "Session"', 'ExecutionStatus != "ContinuedAsNew"']
    for key, value in ((SA_PROJECT, project), (SA_STATUS, status), (SA_TEMPLATE, template)):
        if value is None:
            continue
        if not _QUERY_VALUE.match(value):
            raise ValueError(
                f"{value!r} is not a valid {key.name.removeprefix('Hookflow').lower()}"
            )
        clauses.append(f'{key.name} = "{value}"')
    return " AND ".join(clauses)


async def list_sessions(
    client: Client,
    *,
    project: str | None = None,
    status: str | None = None,
    template: str | None = None,
    limit: int = 100,
    after: str | None = None,
) -> Page[SessionSummary]:
    """Up to ``limit`` sessions newest first, by their search attributes, after
    the cursor ``after``: Temporal's own page token, wrapped as an opaque cursor
    (``worker.services.cursors``)."""
    query = visibility_query(project=project, status=status, template=template)
    token = _page_token(after) if after else None
    rows: list[SessionSummary] = []
    while True:  # the server may cap a page below ``limit``: ask on
        listing = client.list_workflows(query, page_size=limit - len(rows), next_page_token=token)
        try:
            await listing.fetch_next_page()
        except RPCError as err:
            if after and err.status == RPCStatusCode.INVALID_ARGUMENT:
                raise invalid_cursor() from None  # a token the server does not know
            raise
        rows += [_summary(execution) for execution in listing.current_page or ()]
        token = listing.next_page_token
        if not token or len(rows) >= limit:
            break
    cursor = encode_cursor([base64.urlsafe_b64encode(token).decode()]) if token else None
    return Page(rows=rows, next=cursor)


def _page_token(cursor: str) -> bytes:
    [token] = decode_cursor(cursor, size=1, limit=TOKEN_CURSOR_LIMIT)
    try:
        return base64.urlsafe_b64decode(token.encode("ascii"))
    except (ValueError, binascii.Error):
        raise invalid_cursor() from None


def _summary(execution: WorkflowExecution) -> SessionSummary:
    attributes = execution.typed_search_attributes
    session_id = attributes.get(SA_SESSION) or execution.id.removeprefix("session-").split(":")[-1]
    return SessionSummary(
        id=session_id,
        project=attributes.get(SA_PROJECT),
        template=attributes.get(SA_TEMPLATE),
        status=attributes.get(SA_STATUS),
        process_id=attributes.get(SA_PROCESS),
        failed_webhooks=list(attributes.get(SA_FAILED) or []),
        execution=_status_name(execution.status),
        started_at=execution.start_time,
        closed_at=execution.close_time,
    )


def _status_name(status: WorkflowExecutionStatus | None) -> str:
    return status.name.lower().replace("_", " ") if status is not None else "unknown"
