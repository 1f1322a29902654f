"""What the API and the pane share: settings, the store, Temporal, the document store."""

from __future__ import annotations

import asyncio
from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import Annotated

from fastapi import Depends, Query, Request
from sqlalchemy.engine import Engine
from sqlmodel import Session
from temporalio.client import Client

from activities.delivery.guard import Resolver, system_resolver
from activities.errors import TemporalUnavailable
from activities.files.documents import LocalDocumentStore
from activities.store.crypto import SecretBox
from worker.api.pane.security import SessionStore, SignInLimit
from worker.runtime.assembly import connect
from worker.runtime.settings import Settings
from worker.services.redelivery import Backend


class TemporalLink:
    """The Temporal client, connected on first use (the API serves configuration
    while Temporal is still starting) and then kept."""

    def __init__(self, settings: Settings, client: Client | None = None) -> None:
        self._settings = settings
        self._client = client
        self._lock = asyncio.Lock()

    async def client(self) -> Client:
        if self._client is None:
            async with self._lock:
                if self._client is None:
                    try:
                        self._client = await connect(self._settings)
                    except RuntimeError as err:
                        raise TemporalUnavailable(
                            f"cannot reach Temporal at {self._settings.temporal_address}: "
                            f"{' '.join(str(err).split())[:200]}"
                        ) from None
        return self._client


@dataclass
class Services:
    settings: Settings
    engine: Engine
    box: SecretBox
    temporal: TemporalLink
    resolver: Resolver = system_resolver
    """How the Test button resolves host names (tests pin it to loopback)."""
    temporal_ui: str | None = None
    """The Temporal Web UI's address, for links from the pane."""
    documents: LocalDocumentStore = field(init=False)
    pane_sessions: SessionStore = field(default_factory=SessionStore)
    """The pane's sign-ins, on the server."""
    sign_ins: SignInLimit = field(default_factory=SignInLimit)
    """Sign-in attempts per client address."""

    def __post_init__(self) -> None:
        self.documents = LocalDocumentStore(self.settings.documents)

    @property
    def backend(self) -> Backend:
        """What the services need of the door: Temporal, the settings, the store."""
        return Backend(temporal=self.temporal.client, settings=self.settings, engine=self.engine)

    def workflow_url(self, workflow_id: str) -> str | None:
        if not self.temporal_ui:
            return None
        namespace = self.settings.namespace
        return f"{self.temporal_ui.rstrip('/')}/namespaces/{namespace}/workflows/{workflow_id}"


def services_of(request: Request) -> Services:
    found: Services = request.app.state.services
    return found


def db_session(request: Request) -> Iterator[Session]:
    """One database session per request (FastAPI closes it after the answer)."""
    with Session(services_of(request).engine) as session:
        yield session


Db = Annotated[Session, Depends(db_session)]
"""A route's database session, as a parameter: ``db: Db``."""
Deps = Annotated[Services, Depends(services_of)]
"""The shared services, as a parameter: ``services: Deps``."""
ProjectFilter = Annotated[str | None, Query(description="Admin keys: one project only.")]
"""A list's or lookup's ``project`` query: ``project: ProjectFilter = None``."""
