"""Sessions as a client reads them, running or ended: one session's state, and
the list of sessions by their search attributes.

A running session answers its ``state`` query; an ended one has its last state
as the result in its closed history (no worker needed); a session whose
history is gone, or that was terminated, is told by the delivery log.
"""

from __future__ import annotations

import asyncio
import re
from datetime import datetime, timedelta
from typing import Literal

from pydantic import BaseModel
from sqlalchemy.engine import Engine
from sqlmodel import Session, col, select
from temporalio.client import Client, WorkflowExecution, WorkflowExecutionStatus
from temporalio.service import RPCError, RPCStatusCode

from activities.contracts import DeliveryRecord, DeliveryStatus, SessionState, session_workflow_id
from activities.log.attempts import list_deliveries
from activities.store.tables import Webhook
from workflows.names import SA_FAILED, SA_PROCESS, SA_PROJECT, SA_SESSION, SA_STATUS, SA_TEMPLATE

QUERY_TIMEOUT = timedelta(seconds=10)
SESSION_STATUSES = ("active", "submitted", "expired", "deleted")
# Values that go into a visibility query: ids as hookflow accepts them, so no quoting tricks.
_QUERY_VALUE = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_.-]{0,63}$")

Source = Literal["query", "history", "log"]


class SessionView(BaseModel):
    """A session as ``sessions show`` prints it, and where that came from."""

    source: Source
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


async def fetch_session(client: Client, session_id: str) -> SessionView | None:
    """The session's state, from wherever it still is; None when Temporal knows
    no such session (the caller may still find it in the delivery log)."""
    handle = client.get_workflow_handle(session_workflow_id(session_id), result_type=SessionState)
    try:
        described = await handle.describe()
    except RPCError as err:
        if err.status == RPCStatusCode.NOT_FOUND:
            return None
        raise
    execution = _status_name(described.status)
    if described.status == WorkflowExecutionStatus.RUNNING:
        state: SessionState = await handle.query(
            "state", result_type=SessionState, rpc_timeout=QUERY_TIMEOUT
        )
        return SessionView(
            source="query", execution=execution, state=state, deliveries=state.deliveries
        )
    if described.status == WorkflowExecutionStatus.COMPLETED:
        result = await handle.result(rpc_timeout=QUERY_TIMEOUT)
        return SessionView(
            source="history",
            execution=execution,
            closed_at=described.close_time,
            state=result,
            deliveries=result.deliveries,
        )
    return SessionView(
        source="log", execution=execution, closed_at=described.close_time, deliveries=[]
    )


def from_log(engine: Engine, session_id: str) -> list[DeliveryRecord]:
    """The session's deliveries as the delivery log has them, oldest first."""
    with Session(engine) as session:
        rows = list_deliveries(session=session, session_id=session_id, limit=10_000)
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


async def read_session(client: Client, engine: Engine, session_id: str) -> SessionView | None:
    """A session as every front door shows it: its state from wherever it still
    is, and its deliveries from the delivery log, the one record of them (the
    session writes every transition it makes there). None when neither Temporal
    nor the log knows the session."""
    view = await fetch_session(client, session_id)
    logged = await asyncio.to_thread(from_log, engine, session_id)
    if view is None:
        if not logged:
            return None
        view = SessionView(source="log", execution="gone from Temporal", deliveries=[])
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
) -> list[SessionSummary]:
    """Sessions newest first, by their search attributes."""
    query = visibility_query(project=project, status=status, template=template)
    return [_summary(execution) async for execution in client.list_workflows(query, limit=limit)]


def _summary(execution: WorkflowExecution) -> SessionSummary:
    attributes = execution.typed_search_attributes
    session_id = attributes.get(SA_SESSION) or execution.id.removeprefix("session-")
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
