"""``/api/v1/sessions`` and ``/api/v1/processes``: a platform's backend starts and
drives sessions here, with the JSON of the contract."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import Annotated, Any

from fastapi import APIRouter, Depends, Query

from activities.contracts import (
    CreateProcess,
    CreateSession,
    FieldChange,
    FieldValue,
    ProcessState,
    SessionState,
)
from activities.errors import WorkflowClosed
from worker.api.auth import Caller, Principal
from worker.api.dependencies import Deps, Services
from worker.api.documents import check_documents
from worker.api.errors import ERROR_RESPONSES
from worker.api.models import ProcessIn, SessionIn, SignalIn, SignalOut, Started, signal_body
from worker.services.sessions import (
    create_process,
    create_session,
    field_changed,
    process_state,
    resolve,
    session_state,
    signal_payload,
    signal_session,
)

RESPONSES: dict[int | str, dict[str, Any]] = {
    424: {"model": ERROR_RESPONSES[422]["model"], "description": "The endpoint failed"},
    503: {"model": ERROR_RESPONSES[422]["model"], "description": "Temporal unavailable"},
}
router = APIRouter(prefix="/api/v1", responses={**ERROR_RESPONSES, **RESPONSES})


ProjectQuery = Annotated[
    str | None,
    Query(description="The project, for an admin key (ids are per project); a project key's own."),
]


@dataclass(frozen=True)
class Signal:
    """A lifecycle signal of the path, with the payload of the body."""

    name: str
    payload: dict[str, Any]


def checked_signal(name: str, body: SignalIn | None = None) -> Signal:
    """The payload is checked by the signal's model first: 404 / 422 before
    anything is looked up or sent."""
    payload = signal_body(body)
    signal_payload(name, payload)
    return Signal(name, payload)


CheckedSignal = Annotated[Signal, Depends(checked_signal)]


async def _check_owner(
    services: Services, caller: Principal, session_id: str, project: str | None
) -> str:
    """The project the caller's session ``session_id`` is looked for in: the key's
    (or the one an admin key names), where the services answer 404 as for an
    unknown id; an admin key naming none: the one project that has it."""
    scope = caller.scope(project)
    if scope is not None:  # the services look in this project alone: no lookup here
        return scope
    client = await services.temporal.client()
    found = await resolve(client, "session", project=scope, object_id=session_id)
    caller.check(found.project, f"session {session_id}")
    return found.project


def _fields(caller: Principal, body: SessionIn | ProcessIn) -> dict[str, Any]:
    """A create request's fields, its id given and its project the caller's."""
    fields = body.model_dump(exclude_unset=True)
    fields.update(id=body.id, project=caller.project_for(body.project))
    return fields


async def _start(
    services: Services,
    req: CreateSession | CreateProcess,
    start: Callable[..., Awaitable[None]],
) -> Started:
    """Start ``req``'s workflow; the answer names it (and links to it in the UI)."""
    client = await services.temporal.client()
    await start(client=client, settings=services.settings, engine=services.engine, req=req)
    return Started(
        id=str(req.id),
        workflow_id=req.workflow_id,
        project=req.project,
        temporal_ui=services.workflow_url(req.workflow_id),
    )


@router.post("/sessions", status_code=201, tags=["sessions"])
async def create(caller: Caller, services: Deps, body: SessionIn) -> Started:
    """Start a ``Session`` from the create-session JSON (integrations included). An
    unknown or disabled integration is 422 and nothing starts."""
    req = CreateSession.model_validate(_fields(caller, body))
    return await _start(services, req, create_session)


@router.get("/sessions/{session_id}", tags=["sessions"])
async def get(
    caller: Caller, services: Deps, session_id: str, project: ProjectQuery = None
) -> SessionState:
    """The session's status, events, deliveries and problems."""
    client = await services.temporal.client()
    state = await session_state(
        client=client, engine=services.engine, project=caller.scope(project), session_id=session_id
    )
    caller.check(state.project, f"session {session_id}")
    return state


@router.post("/sessions/{session_id}/signals/{name}", status_code=202, tags=["sessions"])
async def signal(
    caller: Caller,
    services: Deps,
    session_id: str,
    signal: CheckedSignal,
    project: ProjectQuery = None,
) -> SignalOut:
    """A lifecycle signal (``form_loaded``, ``form_submitted``, ``expire``, ...); the
    payload is checked by the signal's model first."""
    owner = await _check_owner(services, caller, session_id, project)
    return await _signal(services, owner, session_id, signal)


async def _signal(services: Services, owner: str, session_id: str, signal: Signal) -> SignalOut:
    """Send a checked signal, once the documents it names are the owner project's."""
    await check_documents(services, owner, signal.payload)
    client = await services.temporal.client()
    await signal_session(
        client=client,
        project=owner,
        session_id=session_id,
        name=signal.name,
        payload=signal.payload,
    )
    return SignalOut(session=session_id, signal=signal.name)


@router.post("/sessions/{session_id}/field-changed", tags=["sessions"])
async def field_changed_(
    caller: Caller, services: Deps, session_id: str, body: FieldChange, project: ProjectQuery = None
) -> list[FieldValue]:
    """The remote-data update: posts the change to the project's ``remote_data``
    webhooks and answers their values (424 when the endpoint fails)."""
    owner = await _check_owner(services, caller, session_id, project)
    client = await services.temporal.client()
    return await field_changed(client=client, project=owner, session_id=session_id, change=body)


@router.post("/processes", status_code=201, tags=["processes"])
async def create_process_(caller: Caller, services: Deps, body: ProcessIn) -> Started:
    """Start a ``BusinessProcess`` from the create-process JSON."""
    req = CreateProcess.model_validate(_fields(caller, body))
    return await _start(services, req, create_process)


@router.get("/processes/{process_id}", tags=["processes"])
async def get_process(
    caller: Caller, services: Deps, process_id: str, project: ProjectQuery = None
) -> ProcessState:
    """The process's stations and archive deliveries."""
    client = await services.temporal.client()
    state = await process_state(
        client=client, project=caller.scope(project), process_id=process_id, engine=services.engine
    )
    caller.check(state.project, f"process {process_id}")
    return state


async def _current_station(
    services: Services, caller: Principal, process_id: str, project: str | None
) -> tuple[str, str]:
    """The process's project and its active station's session id."""
    state = await get_process(caller, services, process_id, project)
    current = next((s for s in state.stations if s.status == "active"), None)
    if current is None:
        raise WorkflowClosed(f"process {process_id} has no active session")
    return state.project, current.session_id


@router.post("/processes/{process_id}/signals/{name}", status_code=202, tags=["processes"])
async def signal_process(
    caller: Caller,
    services: Deps,
    process_id: str,
    signal: CheckedSignal,
    project: ProjectQuery = None,
) -> SignalOut:
    """A lifecycle signal to the process's current station (its active session)."""
    owner, session_id = await _current_station(services, caller, process_id, project)
    return await _signal(services, owner, session_id, signal)


@router.post("/processes/{process_id}/field-changed", tags=["processes"])
async def process_field_changed(
    caller: Caller, services: Deps, process_id: str, body: FieldChange, project: ProjectQuery = None
) -> list[FieldValue]:
    """The remote-data update, for the process's current station."""
    owner, session_id = await _current_station(services, caller, process_id, project)
    client = await services.temporal.client()
    return await field_changed(client=client, project=owner, session_id=session_id, change=body)
