"""Which workflow a session or process id names, for a project.

Ids are per project: ``session-<project>:<id>`` and ``process-<project>:<id>``.
Sessions and processes started before ids were per project run under the old
form (``session-<id>``); a reader finds them too, but only after checking that
the one found is of the project asked about, so a fallback never shows (nor
tells the existence of) another project's session. Every front door resolves
ids here.
"""

from __future__ import annotations

import asyncio
import re
import time
from dataclasses import dataclass
from datetime import timedelta
from typing import Any, Literal

from temporalio.client import (
    Client,
    WorkflowExecutionDescription,
    WorkflowExecutionStatus,
    WorkflowHandle,
)
from temporalio.service import RPCError, RPCStatusCode

from activities.contracts import (
    legacy_process_workflow_id,
    legacy_session_workflow_id,
    process_workflow_id,
    session_workflow_id,
)
from activities.errors import Conflict
from workflows.names import SA_PROCESS, SA_PROJECT, SA_SESSION

Kind = Literal["session", "process"]
QUERY_TIMEOUT = timedelta(seconds=10)
# Only ids as hookflow accepts them go into a visibility query: no quoting tricks.
_QUERY_VALUE = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_.-]{0,63}$")
VISIBILITY_RETRIES = (0.25, 0.5, 1.0, None)
"""Pauses between looks at the visibility store when it has nothing yet."""
_TYPES = {"session": ("Session", SA_SESSION), "process": ("BusinessProcess", SA_PROCESS)}
LEGACY_TTL = 30.0
"""How long (seconds) "this project runs nothing under the old form" is believed."""
_no_legacy: dict[tuple[str, str, Kind, str], float] = {}


@dataclass(frozen=True)
class Found:
    """The workflow an id names: its handle, its description and its project."""

    handle: WorkflowHandle[Any, Any]
    described: WorkflowExecutionDescription
    project: str


def workflow_id(kind: Kind, project: str, object_id: str) -> str:
    """The per-project workflow id of a session or process."""
    build = session_workflow_id if kind == "session" else process_workflow_id
    return build(project, object_id)


def legacy_workflow_id(kind: Kind, object_id: str) -> str:
    """The workflow id of a session or process started before ids were per project."""
    build = legacy_session_workflow_id if kind == "session" else legacy_process_workflow_id
    return build(object_id)


async def _describe(client: Client, wid: str) -> WorkflowExecutionDescription | None:
    try:
        return await client.get_workflow_handle(wid).describe(rpc_timeout=QUERY_TIMEOUT)
    except RPCError as err:
        if err.status == RPCStatusCode.NOT_FOUND:
            return None
        raise


async def _project_of(client: Client, described: WorkflowExecutionDescription) -> str | None:
    """A workflow's project: its ``HookflowProject``, else (started without
    attributes) its input's, which its state carries."""
    project = described.typed_search_attributes.get(SA_PROJECT)
    if project is not None:
        return project
    handle = client.get_workflow_handle(described.id)
    try:
        if described.status == WorkflowExecutionStatus.RUNNING:
            state = await handle.query("state", rpc_timeout=QUERY_TIMEOUT)
        elif described.status == WorkflowExecutionStatus.COMPLETED:
            state = await handle.result(rpc_timeout=QUERY_TIMEOUT)
        else:
            return None
    except Exception:  # no worker to answer, or no result: its project is unknown
        return None
    found = state.get("project") if isinstance(state, dict) else getattr(state, "project", None)
    return found if isinstance(found, str) else None


async def find(client: Client, kind: Kind, *, project: str | None, object_id: str) -> Found | None:
    """The session or process ``object_id`` of ``project`` (the per-project id
    first, then the old form if it is of that project); None when the project
    has none. Without a project (an admin key, the command line), the one
    project that has it; ``Conflict`` when several do."""
    if not _QUERY_VALUE.match(object_id):  # never an id of another form (``B:X``)
        return None
    if project is None:
        return await _find_any(client, kind, object_id)
    wid = workflow_id(kind, project, object_id)
    described = await _describe(client, wid)
    if described is not None:
        return Found(client.get_workflow_handle(wid), described, project)
    return await find_legacy(client, kind, object_id, project=project)


async def find_legacy(
    client: Client, kind: Kind, object_id: str, *, project: str | None
) -> Found | None:
    """The old-form workflow, when it is of ``project`` (None: of any)."""
    wid = legacy_workflow_id(kind, object_id)
    described = await _describe(client, wid)
    if described is None:
        return None
    owner = await _project_of(client, described)
    if owner is None or (project is not None and owner != project):
        return None
    return Found(client.get_workflow_handle(wid), described, owner)


async def may_run_legacy(client: Client, kind: Kind, project: str) -> bool:
    """Whether ``project`` may still run a session (process) under the old id
    form. Counted in visibility (old-form ids are the project's running ones not
    under its prefix); "none" is kept for ``LEGACY_TTL``, so a burst of creates
    asks once instead of describing each new id. No visibility: it may."""
    key = (client.service_client.config.target_host, client.namespace, kind, project)
    if time.monotonic() < _no_legacy.get(key, 0.0):
        return False
    if not _QUERY_VALUE.match(project):
        return True
    workflow_type, _ = _TYPES[kind]
    query = (
        f'WorkflowType = "{workflow_type}" AND ExecutionStatus = "Running" '
        f'AND {SA_PROJECT.name} = "{project}" '
        f'AND WorkflowId NOT STARTS_WITH "{workflow_id(kind, project, "")}"'
    )
    try:
        running = (await client.count_workflows(query, rpc_timeout=QUERY_TIMEOUT)).count
    except RPCError:
        return True
    if running:
        return True
    _no_legacy[key] = time.monotonic() + LEGACY_TTL
    return False


def forget_legacy() -> None:
    """Believe nothing about old-form workflows (a new one was started by hand)."""
    _no_legacy.clear()


async def _find_any(client: Client, kind: Kind, object_id: str) -> Found | None:
    """Every project's ``object_id`` (by its search attribute), and the old form;
    ``find`` has checked the id's form, so it is safe in the query."""
    workflow_type, key = _TYPES[kind]
    query = (
        f'WorkflowType = "{workflow_type}" AND {key.name} = "{object_id}" '
        'AND ExecutionStatus != "ContinuedAsNew"'
    )
    projects: set[str] = set()
    legacy = await find_legacy(client, kind, object_id, project=None)
    # Visibility lags a start by a moment: a session created just now is looked
    # for again for a little while before it is "none".
    for delay in VISIBILITY_RETRIES:
        async for execution in client.list_workflows(query, limit=100):
            owner = execution.typed_search_attributes.get(SA_PROJECT)
            if owner is not None and execution.id == workflow_id(kind, owner, object_id):
                projects.add(owner)
        if projects or legacy is not None or delay is None:
            break
        await asyncio.sleep(delay)
    named = projects | ({legacy.project} if legacy else set())
    if len(named) > 1:
        raise Conflict(
            f"{kind} {object_id} is in projects {', '.join(sorted(named))}: "
            "name one (--project, ?project=)"
        )
    if projects:
        return await find(client, kind, project=projects.pop(), object_id=object_id)
    return legacy
