"""API keys on every request: ``Authorization: Bearer <key>``, and project scope.

A project key reaches its own project only: another project's object is not
found (404), a body naming another project is forbidden (403). An admin key
reaches every project.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from typing import Annotated

from fastapi import Depends, Request
from fastapi.security import HTTPAuthorizationCredentials, HTTPBearer
from sqlmodel import Session

from activities.errors import ConfigError, NotFound
from activities.store.keys import authenticate
from activities.store.tables import ApiKey
from worker.api.dependencies import services_of
from worker.api.errors import Forbidden, Unauthorized

_bearer = HTTPBearer(
    auto_error=False,
    description="An API key from `hookflow keys create` (project or admin).",
)


@dataclass(frozen=True)
class Principal:
    """Who is asking: a key, and the one project it reaches (None: every project)."""

    key_id: uuid.UUID
    project: str | None
    name: str

    @classmethod
    def of(cls, key: ApiKey) -> Principal:
        return cls(key_id=key.id, project=key.project, name=key.name)

    @property
    def admin(self) -> bool:
        return self.project is None

    def sees(self, project: str | None) -> bool:
        return self.project is None or project == self.project

    def check(self, project: str | None, what: str) -> None:
        """Another project's ``what`` does not exist, as far as this key knows."""
        if not self.sees(project):
            raise NotFound(f"no {what}")

    def scope(self, requested: str | None) -> str | None:
        """The project a request acts on: the key's own (a request naming another
        is forbidden), or the one an admin key names (None: every project)."""
        if self.project is None:
            return requested
        if requested is not None and requested != self.project:
            raise Forbidden(f"this key reaches project {self.project!r} only")
        return self.project

    def project_for(self, requested: str | None) -> str:
        """The project something new is created in; an admin key must name it."""
        project = self.scope(requested)
        if project is None:
            raise ConfigError("project: required with an admin key")
        return project


async def principal(
    request: Request,
    credentials: Annotated[HTTPAuthorizationCredentials | None, Depends(_bearer)],
) -> Principal:
    """The caller's key, or 401 (no key, unknown, malformed or revoked).

    One indexed read, made in the event loop: a hop to a thread costs far more
    than the read while a worker shares the loop (benchmarks/api.py).
    """
    if credentials is None:
        raise Unauthorized("missing Authorization: Bearer <key>")
    with Session(services_of(request).engine) as session:
        key = authenticate(session=session, key=credentials.credentials)
        if key is None:
            raise Unauthorized("invalid or revoked API key")
        return Principal.of(key)


Caller = Annotated[Principal, Depends(principal)]
