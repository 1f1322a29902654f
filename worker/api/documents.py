"""Documents a request names belong to the project it acts on: a reference of
another project answers as one that does not exist (422), before anything is sent."""

from __future__ import annotations

from typing import Any

from fastapi.concurrency import run_in_threadpool

from activities.errors import ConfigError
from activities.files.documents import named_refs
from worker.api.auth import Principal
from worker.api.dependencies import Services
from worker.services.sessions import session_state, workflow_project


async def check_documents(
    services: Services, caller: Principal, session_id: str, payload: dict[str, Any]
) -> None:
    """422 unless every document ``payload`` names is one of the session's project."""
    refs = named_refs(payload)
    if not refs:
        return
    project = caller.project
    if project is None:  # an admin key: the session's own project
        client = await services.temporal.client()
        what = f"session {session_id}"
        project = await workflow_project(
            client=client, workflow_id=f"session-{session_id}", what=what
        )
        if project is None:
            state = await session_state(
                client=client, engine=services.engine, session_id=session_id
            )
            project = state.project
    for ref in refs:
        if not await run_in_threadpool(services.documents.exists, ref, project=project):
            raise ConfigError(f"no document {ref[:80]}: upload it first (POST /api/v1/documents)")
