"""Sessions and processes on Temporal: start, signal, update, query.

The command line and the REST API both go through these functions, so they
never disagree. Each raises a ``HookflowError`` with one line for the user.
"""

from __future__ import annotations

import asyncio
import secrets
import string
from datetime import timedelta
from typing import Any

from pydantic import JsonValue
from sqlalchemy.engine import Engine
from sqlmodel import Session
from temporalio.client import (
    Client,
    WorkflowExecutionStatus,
    WorkflowHandle,
    WorkflowUpdateFailedError,
)
from temporalio.common import TypedSearchAttributes
from temporalio.exceptions import ApplicationError, WorkflowAlreadyStartedError
from temporalio.service import RPCError, RPCStatusCode

from activities.catalog import BY_SIGNAL
from activities.contracts import (
    CreateProcess,
    CreateSession,
    DeliveryRecord,
    FailureType,
    FieldChange,
    FieldValue,
    ProcessState,
    SessionState,
    session_workflow_id,
)
from activities.errors import (
    ConfigError,
    Conflict,
    HookflowError,
    NotFound,
    TemporalUnavailable,
    UpstreamFailed,
    WorkflowClosed,
)
from activities.store.webhooks import integration_problems
from worker.runtime.settings import Settings
from worker.services.ids import Found, Kind, find, find_legacy, may_run_legacy
from worker.services.session_views import from_log, read_session
from workflows.names import initial_attributes
from workflows.patches import START_MEMO
from workflows.process import BusinessProcessWorkflow
from workflows.session import SessionWorkflow

_TOKEN_ALPHABET = string.ascii_letters + string.digits
QUERY_TIMEOUT = timedelta(seconds=10)
EAGER_START = True
"""Ask for eager workflow start: where this client also runs the worker of the
task queue (``hookflow up --workers 0``, a test), the server hands the first
workflow task back in the start response instead of through its matching
service; elsewhere the SDK drops the request, so it costs nothing
(``benchmarks.api`` turns it off to measure it)."""


def new_session_id() -> str:
    """A 10-character token, like the original product's session ids."""
    return "".join(secrets.choice(_TOKEN_ALPHABET) for _ in range(10))


def rpc_failure(err: RPCError, what: str) -> HookflowError:
    """One line for a failed call about ``what`` ("session X", "process Y")."""
    if err.status == RPCStatusCode.NOT_FOUND:
        return NotFound(f"no {what}")
    if err.status in (RPCStatusCode.DEADLINE_EXCEEDED, RPCStatusCode.CANCELLED):
        return TemporalUnavailable(
            "no worker answered: is `hookflow up` or `hookflow worker` running?"
        )
    if err.status == RPCStatusCode.FAILED_PRECONDITION:
        return WorkflowClosed(f"{what} has ended")
    return TemporalUnavailable(f"Temporal refused: {' '.join(err.message.split())[:200]}")


def require_integrations(*, engine: Engine, project: str, integrations: list[Any]) -> None:
    """Refuse a request naming an unknown or disabled webhook, before anything starts."""
    with Session(engine) as session:
        problems = integration_problems(
            session=session, project=project, integrations=[i.uuid for i in integrations]
        )
    if problems:
        raise ConfigError(problems[0])


async def start_session(client: Client, settings: Settings, req: CreateSession) -> None:
    """Start the ``Session`` workflow with its search attributes and summary. The id
    is taken only when this project has it (running under the old form too)."""
    legacy = None
    if await may_run_legacy(client, "session", req.project):
        legacy = await find_legacy(client, "session", req.id, project=req.project)
    if legacy is not None and legacy.described.status == WorkflowExecutionStatus.RUNNING:
        raise Conflict(f"session {req.id} already exists")
    attributes = initial_attributes(
        project=req.project,
        process_id=str(req.process_id),
        session_id=req.id,
        template=req.template,
    )
    summary = f"{req.project} session {req.id}" + (f" ({req.template})" if req.template else "")
    await _start(
        client, SessionWorkflow.run, req, settings, attributes, summary, f"session {req.id}"
    )


async def _start(
    client: Client,
    run: Any,
    req: CreateSession | CreateProcess,
    settings: Settings,
    attributes: TypedSearchAttributes,
    summary: str,
    what: str,
) -> None:
    """Start a workflow once: a second start of the same id is a Conflict."""
    try:
        await client.start_workflow(
            run,
            req,
            id=req.workflow_id,
            task_queue=settings.task_queue,
            search_attributes=attributes,
            static_summary=summary,
            memo=START_MEMO,
            request_eager_start=EAGER_START,
        )
    except WorkflowAlreadyStartedError:
        raise Conflict(f"{what} already exists") from None


async def create_session(
    *, client: Client, settings: Settings, engine: Engine, req: CreateSession
) -> None:
    """Check the integrations, then start the session; nothing starts on a problem."""
    require_integrations(engine=engine, project=req.project, integrations=req.integrations)
    await start_session(client, settings, req)


async def create_process(
    *, client: Client, settings: Settings, engine: Engine, req: CreateProcess
) -> None:
    """Check the integrations, then start the process; nothing starts on a problem."""
    require_integrations(engine=engine, project=req.project, integrations=req.integrations)
    await start_process(client, settings, req)


async def start_process(client: Client, settings: Settings, req: CreateProcess) -> None:
    """Start the ``BusinessProcess`` workflow with its search attributes and summary."""
    attributes = initial_attributes(project=req.project, process_id=str(req.id))
    summary = f"{req.project} process {req.process_number}, {len(req.sessions)} sessions"
    await _start(
        client, BusinessProcessWorkflow.run, req, settings, attributes, summary, f"process {req.id}"
    )


async def resolve(client: Client, kind: Kind, *, project: str | None, object_id: str) -> Found:
    """The session or process ``object_id`` of ``project`` (None: of the one
    project that has it); NotFound, in the same words as for an unknown id,
    when the project has none."""
    try:
        found = await find(client, kind, project=project, object_id=object_id)
    except RPCError as err:
        raise rpc_failure(err, f"{kind} {object_id}") from None
    if found is None:
        raise NotFound(f"no {kind} {object_id}")
    return found


async def _session(
    client: Client, project: str | None, session_id: str
) -> WorkflowHandle[Any, Any]:
    return (await resolve(client, "session", project=project, object_id=session_id)).handle


def signal_payload(name: str, payload: dict[str, Any]) -> dict[str, JsonValue]:
    """The payload of signal ``name``, validated by its model (ValidationError if not)."""
    hook = BY_SIGNAL.get(name)
    if hook is None:
        raise NotFound(f"no signal {name!r} (valid: {', '.join(BY_SIGNAL)})")
    dumped: dict[str, JsonValue] = hook.payload.model_validate(payload).model_dump(
        mode="json", exclude_none=True
    )
    return dumped


async def signal_session(
    *, client: Client, project: str | None, session_id: str, name: str, payload: dict[str, Any]
) -> None:
    data = signal_payload(name, payload)
    if project is not None:  # the per-project id at once: no lookup on the hot path
        try:
            await client.get_workflow_handle(session_workflow_id(project, session_id)).signal(
                name, data
            )
            return
        except RPCError as err:
            if err.status != RPCStatusCode.NOT_FOUND:
                raise rpc_failure(err, f"session {session_id}") from None
    handle = await _session(client, project, session_id)  # the old form, or any project's
    try:
        await handle.signal(name, data)
    except RPCError as err:
        raise rpc_failure(err, f"session {session_id}") from None


async def session_state(
    *, client: Client, engine: Engine, project: str | None, session_id: str
) -> SessionState:
    """The session's state, running or ended, with its deliveries as the delivery
    log has them (``read_session``: what the CLI shows too)."""
    try:
        view = await read_session(client, engine, session_id, project=project)
    except RPCError as err:
        raise rpc_failure(err, f"session {session_id}") from None
    if view is None:
        raise NotFound(f"no session {session_id}")
    if view.state is None:
        raise WorkflowClosed(
            f"session {session_id} was {view.execution}: only its deliveries are left "
            "(GET /api/v1/deliveries?session=...)"
        )
    return view.state


async def process_state(
    *, client: Client, project: str | None, process_id: str, engine: Engine | None = None
) -> ProcessState:
    """A process's state; an ended one's from its closed history (no worker needed).
    With ``engine``, its deliveries as the delivery log has them: the workflow's
    own record of a delivery is only brought up to date when it settles."""
    found = await resolve(client, "process", project=project, object_id=process_id)
    handle = client.get_workflow_handle(found.handle.id, result_type=ProcessState)
    described = found.described
    try:
        if described.status == WorkflowExecutionStatus.COMPLETED:
            state: ProcessState = await handle.result(rpc_timeout=QUERY_TIMEOUT)
        else:
            state = await handle.query("state", result_type=ProcessState, rpc_timeout=QUERY_TIMEOUT)
    except RPCError as err:
        raise rpc_failure(err, f"process {process_id}") from None
    if engine is not None and state.deliveries:
        state.deliveries = await asyncio.to_thread(_logged, engine, state)
    return state


def _logged(engine: Engine, state: ProcessState) -> list[DeliveryRecord]:
    """The process's deliveries (the archive and its callbacks go out under the
    last station's session id) from the log; one it has no row for yet as is."""
    logged = {
        (record.event_id, record.webhook_id): record
        for station in state.stations
        for record in from_log(engine, station.session_id, project=state.project)
    }
    return [logged.get((d.event_id, d.webhook_id), d) for d in state.deliveries]


async def field_changed(
    *, client: Client, project: str | None, session_id: str, change: FieldChange
) -> list[FieldValue]:
    """The remote-data update: the values the project's endpoint answered."""
    handle = await _session(client, project, session_id)
    try:
        values: list[FieldValue] = await handle.execute_update(
            "field_changed", change, result_type=list[FieldValue], rpc_timeout=QUERY_TIMEOUT * 3
        )
    except RPCError as err:
        raise rpc_failure(err, f"session {session_id}") from None
    except WorkflowUpdateFailedError as err:
        cause = err.cause
        message = cause.message if isinstance(cause, ApplicationError) else str(cause or err)
        if isinstance(cause, ApplicationError) and cause.type == FailureType.REMOTE_DATA_FAILED:
            raise UpstreamFailed(message) from None
        raise Conflict(f"session {session_id}: {message}") from None
    return values
