"""``/api/v1/sessions`` and ``/api/v1/processes``: a platform's backend starts and
drives sessions here, with the JSON of the contract."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Query, Request

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
from worker.api.dependencies import Services, services_of
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


@router.post("/sessions", response_model=Started, status_code=201, tags=["sessions"])
async def create(request: Request, caller: Caller, body: SessionIn) -> Started:
    """Start a ``Session`` from the create-session JSON (integrations included). An
    unknown or disabled integration is 422 and nothing starts."""
    services = services_of(request)
    fields = body.model_dump(exclude_unset=True)
    fields.update(id=body.id, project=caller.project_for(body.project))
    req = CreateSession.model_validate(fields)
    client = await services.temporal.client()
    await create_session(client=client, settings=services.settings, engine=services.engine, req=req)
    return Started(
        id=req.id,
        workflow_id=req.workflow_id,
        project=req.project,
        temporal_ui=services.workflow_url(req.workflow_id),
    )


@router.get("/sessions/{session_id}", response_model=SessionState, tags=["sessions"])
async def get(
    request: Request, caller: Caller, session_id: str, project: ProjectQuery = None
) -> SessionState:
    """The session's status, events, deliveries and problems."""
    services = services_of(request)
    client = await services.temporal.client()
    state = await session_state(
        client=client, engine=services.engine, project=caller.scope(project), session_id=session_id
    )
    caller.check(state.project, f"session {session_id}")
    return state


@router.post(
    "/sessions/{session_id}/signals/{name}",
    response_model=SignalOut,
    status_code=202,
    tags=["sessions"],
)
async def signal(
    request: Request,
    caller: Caller,
    session_id: str,
    name: str,
    body: SignalIn | None = None,
    project: ProjectQuery = None,
) -> SignalOut:
    """A lifecycle signal (``form_loaded``, ``form_submitted``, ``expire``, ...); the
    payload is checked by the signal's model first."""
    services = services_of(request)
    payload = signal_body(body)
    signal_payload(name, payload)  # 404 / 422 before anything is sent
    owner = await _check_owner(services, caller, session_id, project)
    return await _signal(services, owner, session_id, name, payload)


async def _signal(
    services: Services, owner: str, session_id: str, name: str, payload: dict[str, Any]
) -> SignalOut:
    """Send a checked signal, once the documents it names are the owner project's."""
    await check_documents(services, owner, payload)
    client = await services.temporal.client()
    await signal_session(
        client=client, project=owner, session_id=session_id, name=name, payload=payload
    )
    return SignalOut(session=session_id, signal=name)


@router.post(
    "/sessions/{session_id}/field-changed",
    response_model=list[FieldValue],
    tags=["sessions"],
)
async def field_changed_(
    request: Request,
    caller: Caller,
    session_id: str,
    body: FieldChange,
    project: ProjectQuery = None,
) -> list[FieldValue]:
    """The remote-data update: posts the change to the project's ``remote_data``
    webhooks and answers their values (424 when the endpoint fails)."""
    services = services_of(request)
    owner = await _check_owner(services, caller, session_id, project)
    client = await services.temporal.client()
    return await field_changed(client=client, project=owner, session_id=session_id, change=body)


@router.post("/processes", response_model=Started, status_code=201, tags=["processes"])
async def create_process_(request: Request, caller: Caller, body: ProcessIn) -> Started:
    """Start a ``BusinessProcess`` from the create-process JSON."""
    services = services_of(request)
    fields = body.model_dump(exclude_unset=True)
    fields.update(id=body.id, project=caller.project_for(body.project))
    req = CreateProcess.model_validate(fields)
    client = await services.temporal.client()
    await create_process(client=client, settings=services.settings, engine=services.engine, req=req)
    return Started(
        id=str(req.id),
        workflow_id=req.workflow_id,
        project=req.project,
        temporal_ui=services.workflow_url(req.workflow_id),
    )


@router.get(
    "/processes/{process_id}",
    response_model=ProcessState,
    tags=["processes"],
)
async def get_process(
    request: Request, caller: Caller, process_id: str, project: ProjectQuery = None
) -> ProcessState:
    """The process's stations and archive deliveries."""
    services = services_of(request)
    client = await services.temporal.client()
    state = await process_state(
        client=client, project=caller.scope(project), process_id=process_id, engine=services.engine
    )
    caller.check(state.project, f"process {process_id}")
    return state


async def _current_station(
    request: Request, caller: Caller, process_id: str, project: str | None
) -> tuple[str, str]:
    """The process's project and its active station's session id."""
    state = await get_process(request, caller, process_id, project)
    current = next((s for s in state.stations if s.status == "active"), None)
    if current is None:
        raise WorkflowClosed(f"process {process_id} has no active session")
    return state.project, current.session_id


@router.post(
    "/processes/{process_id}/signals/{name}",
    response_model=SignalOut,
    status_code=202,
    tags=["processes"],
)
async def signal_process(
    request: Request,
    caller: Caller,
    process_id: str,
    name: str,
    body: SignalIn | None = None,
    project: ProjectQuery = None,
) -> SignalOut:
    """A lifecycle signal to the process's current station (its active session)."""
    payload = signal_body(body)
    signal_payload(name, payload)
    owner, session_id = await _current_station(request, caller, process_id, project)
    return await _signal(services_of(request), owner, session_id, name, payload)


@router.post(
    "/processes/{process_id}/field-changed",
    response_model=list[FieldValue],
    tags=["processes"],
)
async def process_field_changed(
    request: Request,
    caller: Caller,
    process_id: str,
    body: FieldChange,
    project: ProjectQuery = None,
) -> list[FieldValue]:
    """The remote-data update, for the process's current station."""
    owner, session_id = await _current_station(request, caller, process_id, project)
    client = await services_of(request).temporal.client()
    return await field_changed(client=client, project=owner, session_id=session_id, change=body)
