"""``/api/v1/project``: the settings of the calling key's project (its
retention, its share of a worker).

A project key reads and changes its own project only: naming another in
``?project=`` is forbidden (403). An admin key names the project. The share
is the admin's to change: a project raising its own would take back from the
others what the share keeps for them, so a project key may read it only.
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
    parse_share,
    project_settings,
    retention,
    set_retention,
    set_share,
)
from worker.api.auth import Caller
from worker.api.dependencies import services_of
from worker.api.errors import ERROR_RESPONSES, Forbidden
from worker.api.models import ProjectOut, ProjectPatch

router = APIRouter(prefix="/api/v1", responses=ERROR_RESPONSES, tags=["project"])
ProjectParam = Annotated[
    Slug | None, Query(description="Admin keys: the project (a project key: its own).")
]


def _out(session: Session, project: str, default_share: float) -> ProjectOut:
    row = project_settings(session=session, project=project)
    keep = retention(session=session, project=project)
    return ProjectOut(
        project=project,
        retention=keep,
        retention_text=describe_duration(keep),
        retention_default=row.retention is None,
        disable_after=disable_after(session=session, project=project),
        disable_after_default=row.disable_after is None,
        share=default_share if row.share is None else row.share,
        share_default=row.share is None,
    )


@router.get("/project", response_model=ProjectOut)
def show(request: Request, caller: Caller, project: ProjectParam = None) -> ProjectOut:
    """The key's project settings (``hookflow projects show``)."""
    name = caller.project_for(project)
    services = services_of(request)
    with Session(services.engine) as session:
        return _out(session, name, services.settings.project_share)


@router.patch("/project", response_model=ProjectOut)
def change(
    request: Request, caller: Caller, body: ProjectPatch, project: ProjectParam = None
) -> ProjectOut:
    """Change the key's project settings (``hookflow projects set``): a bad value
    is refused with one line and changes nothing; ``share`` only with an admin key."""
    name = caller.project_for(project)
    if body.share is not None and not caller.admin:
        raise Forbidden("share: only an admin key changes a project's share of the workers")
    if body.retention is None and body.share is None:
        raise ConfigError("nothing to set: give retention or share")
    try:
        seconds = None if body.retention is None else parse_retention(body.retention)
    except ValueError as err:
        raise ConfigError(f"retention: {err}") from None
    try:
        share = None if body.share is None else parse_share(body.share)
    except ValueError as err:
        raise ConfigError(f"share: {err}") from None
    services = services_of(request)
    with Session(services.engine) as session:
        if body.retention is not None:
            set_retention(session=session, project=name, seconds=seconds)
        if body.share is not None:
            set_share(session=session, project=name, share=share)
        return _out(session, name, services.settings.project_share)
