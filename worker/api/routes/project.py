"""``/api/v1/project``: the settings of the calling key's project (its retention).

A project key reads and changes its own project only: naming another in
``?project=`` is forbidden (403). An admin key names the project.
"""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Query, Request
from sqlmodel import Session

from activities.contracts import Slug
from activities.delivery.health import describe_duration
from activities.errors import ConfigError
from activities.store.health import (
    disable_after,
    parse_retention,
    project_settings,
    retention,
    set_retention,
)
from worker.api.auth import Caller
from worker.api.dependencies import services_of
from worker.api.errors import ERROR_RESPONSES
from worker.api.models import ProjectOut, ProjectPatch

router = APIRouter(prefix="/api/v1", responses=ERROR_RESPONSES, tags=["project"])
ProjectParam = Annotated[
    Slug | None, Query(description="Admin keys: the project (a project key: its own).")
]


def _out(session: Session, project: str) -> ProjectOut:
    row = project_settings(session=session, project=project)
    keep = retention(session=session, project=project)
    return ProjectOut(
        project=project,
        retention=keep,
        retention_text=describe_duration(keep),
        retention_default=row.retention is None,
        disable_after=disable_after(session=session, project=project),
        disable_after_default=row.disable_after is None,
    )


@router.get("/project", response_model=ProjectOut)
def show(request: Request, caller: Caller, project: ProjectParam = None) -> ProjectOut:
    """The key's project settings (``hookflow projects show``)."""
    name = caller.project_for(project)
    with Session(services_of(request).engine) as session:
        return _out(session, name)


@router.patch("/project", response_model=ProjectOut)
def change(
    request: Request, caller: Caller, body: ProjectPatch, project: ProjectParam = None
) -> ProjectOut:
    """Change the key's project settings (``hookflow projects set``): a bad value
    is refused with one line and changes nothing."""
    name = caller.project_for(project)
    if body.retention is None:
        raise ConfigError("nothing to set: give retention")
    try:
        seconds = parse_retention(body.retention)
    except ValueError as err:
        raise ConfigError(f"retention: {err}") from None
    with Session(services_of(request).engine) as session:
        set_retention(session=session, project=name, seconds=seconds)
        return _out(session, name)
