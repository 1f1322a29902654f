"""Serving the app: a uvicorn server that leaves signals to its caller, beside
``hookflow up``'s worker or alone (``hookflow api``)."""

from __future__ import annotations

import asyncio
from dataclasses import dataclass

import uvicorn
from fastapi import FastAPI
from sqlalchemy.engine import Engine
from temporalio.client import Client

from activities.delivery.guard import Resolver, system_resolver
from activities.errors import DevServerError
from activities.store.crypto import SecretBox
from worker.api.app import create_app
from worker.api.dependencies import Services, TemporalLink
from worker.devstack.codec_server import EmbeddedServer
from worker.devstack.devserver import ensure_port_free
from worker.runtime.settings import Settings

DEFAULT_PORT = 8080


class ApiServer(EmbeddedServer):
    """The API's server; ``hookflow up`` and ``hookflow api`` stop it with the worker."""

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


def api_server(app: FastAPI, *, host: str, port: int) -> ApiServer:
    """A server for ``app`` on ``host:port``; a port in use is one clear line."""
    ensure_port_free(host, port, "API")
    config = uvicorn.Config(app, host=host, port=port, log_level="warning", lifespan="off")
    return ApiServer(config)


@dataclass
class RunningApi:
    url: str
    stop_event: asyncio.Event
    task: asyncio.Task[None]

    async def stop(self) -> None:
        """Finish the requests under way and close the port."""
        self.stop_event.set()
        await self.task


async def start_api(
    *,
    settings: Settings,
    engine: Engine,
    box: SecretBox,
    client: Client | None = None,
    host: str,
    port: int,
    temporal_ui: str | None,
    resolver: Resolver = system_resolver,
) -> RunningApi:
    """Serve the API and the pane in this event loop; returns once it listens
    (with no ``client``, Temporal is connected on first use)."""
    # The API's own address joins the stack: no delivery, no Test button reaches it.
    settings = settings.replace(stack=(*settings.stack, (host, port)))
    app = create_app(
        Services(
            settings=settings,
            engine=engine,
            box=box,
            temporal=TemporalLink(settings, client),
            resolver=resolver,
            temporal_ui=temporal_ui,
        )
    )
    server = api_server(app, host=host, port=port)
    stop = asyncio.Event()
    task = asyncio.create_task(server.run_until(stop))
    while not server.started and not task.done():
        await asyncio.sleep(0.05)
    if task.done():
        await task  # raises why it could not start
    return RunningApi(url=f"http://{host}:{port}", stop_event=stop, task=task)
