"""The app factory: the REST API under ``/api/v1``, OpenAPI at ``/openapi.json``,
the pane at ``/`` (``server.py`` serves it)."""

from __future__ import annotations

from pathlib import Path

from fastapi import FastAPI
from fastapi.staticfiles import StaticFiles
from sqlalchemy.engine import Engine
from starlette.middleware.sessions import SessionMiddleware
from temporalio.client import Client

from activities.delivery.guard import Resolver, system_resolver
from activities.store.crypto import SecretBox
from worker.api import errors
from worker.api.dependencies import Services, TemporalLink
from worker.api.limits import BodyLimit
from worker.api.pane import pages, site
from worker.api.routes import deliveries, sessions, store, webhooks
from worker.runtime.settings import Settings

PANE = Path(__file__).parent / "pane"
DESCRIPTION = """hookflow's REST API: webhooks, secrets, sessions, processes, deliveries
and documents of a project. Every request carries `Authorization: Bearer <key>`
(`hookflow keys create --project P`); a project key reaches its own project only."""


def create_app(
    *,
    settings: Settings,
    engine: Engine,
    box: SecretBox,
    client: Client | None = None,
    resolver: Resolver = system_resolver,
    temporal_ui: str | None = None,
) -> FastAPI:
    """The API and the pane against ``engine`` and Temporal (``client``, or
    connected on first use from ``settings``)."""
    app = FastAPI(
        title="hookflow",
        version="1",
        description=DESCRIPTION,
        docs_url="/api/docs",
        redoc_url=None,
    )
    services = Services(
        settings=settings,
        engine=engine,
        box=box,
        temporal=TemporalLink(settings, client),
        resolver=resolver,
        temporal_ui=temporal_ui,
    )
    app.state.services = services
    errors.install(app, html=site.error_page)
    app.add_exception_handler(site.SignIn, site.to_sign_in)
    for module in (webhooks, store, sessions, deliveries):
        app.include_router(module.router)
    app.include_router(site.router)
    app.include_router(pages.router)
    app.mount("/static", StaticFiles(directory=PANE / "static"), name="static")
    app.add_middleware(
        SessionMiddleware,
        secret_key=services.cookie_secret(),
        session_cookie="hookflow_pane",
        max_age=12 * 3600,
        same_site="strict",
        https_only=False,  # served on loopback by default; put TLS in front elsewhere
    )
    # Outermost: a body over its limit is refused before anything reads it.
    app.add_middleware(
        BodyLimit, limit=settings.max_request_bytes, upload_limit=settings.max_upload_bytes
    )
    return app
