"""The app factory: the REST API under ``/api/v1``, OpenAPI at ``/openapi.json``,
the pane at ``/``; and a uvicorn server to run it beside a worker or alone."""

from __future__ import annotations

import asyncio
import contextlib
import socket
from collections.abc import Iterator
from pathlib import Path

import uvicorn
from fastapi import FastAPI
from fastapi.staticfiles import StaticFiles
from sqlalchemy.engine import Engine
from starlette.middleware.sessions import SessionMiddleware
from temporalio.client import Client

from activities.delivery.guard import Resolver, system_resolver
from activities.errors import DevServerError
from activities.store.crypto import SecretBox
from worker.api import (
    errors,
    pane,
    pane_pages,
    routes_deliveries,
    routes_sessions,
    routes_store,
    routes_webhooks,
)
from worker.api.services import Services, TemporalLink
from worker.settings import Settings

HERE = Path(__file__).parent
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
    errors.install(app, html=pane.error_page)
    app.add_exception_handler(pane.SignIn, pane.to_sign_in)
    for module in (routes_webhooks, routes_store, routes_sessions, routes_deliveries):
        app.include_router(module.router)
    app.include_router(pane.router)
    app.include_router(pane_pages.router)
    app.mount("/static", StaticFiles(directory=HERE / "static"), name="static")
    app.add_middleware(
        SessionMiddleware,
        secret_key=services.cookie_secret(),
        session_cookie="hookflow_pane",
        max_age=12 * 3600,
        same_site="strict",
        https_only=False,  # served on loopback by default; put TLS in front elsewhere
    )
    return app


class ApiServer(uvicorn.Server):
    """uvicorn's server, leaving signals to its caller: ``hookflow up`` and
    ``hookflow api`` stop it themselves on Ctrl-C, with the worker."""

    @contextlib.contextmanager
    def capture_signals(self) -> Iterator[None]:
        yield

    async def run_until(self, stop: asyncio.Event) -> None:
        """Serve until ``stop`` is set, then finish the requests under way."""
        task = asyncio.create_task(self.serve())
        while not self.started and not task.done():
            await asyncio.sleep(0.05)
        if task.done():  # it could not start: say why
            await task
            raise DevServerError(f"the API server did not start on port {self.config.port}")
        stopped = asyncio.create_task(stop.wait())
        await asyncio.wait([task, stopped], return_when=asyncio.FIRST_COMPLETED)
        self.should_exit = True
        stopped.cancel()
        await task


def check_api_port(host: str, port: int) -> None:
    """One clear line when something listens on the port. Like uvicorn, allow
    reuse: a port closed a moment ago (TIME_WAIT) is free."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as probe:
        probe.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            probe.bind((host, port))
        except OSError:
            raise DevServerError(
                f"port {port} (API) is already in use: stop what holds it or pass another port"
            ) from None


def api_server(app: FastAPI, *, host: str, port: int) -> ApiServer:
    """A server for ``app`` on ``host:port``; a port in use is one clear line."""
    check_api_port(host, port)
    config = uvicorn.Config(app, host=host, port=port, log_level="warning", lifespan="off")
    return ApiServer(config)
