"""``hookflow api``: the REST API and the pane; and the same beside ``hookflow up``'s worker."""

from __future__ import annotations

import asyncio
from dataclasses import dataclass

import click
from sqlalchemy.engine import Engine
from temporalio.client import Client

from activities.delivery.guard import Resolver, system_resolver
from activities.store.crypto import SecretBox
from worker.api.app import api_server, create_app
from worker.context import AppContext, pass_app
from worker.settings import Settings

DEFAULT_PORT = 8080


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
    client: Client | None,
    host: str,
    port: int,
    temporal_ui: str | None,
    resolver: Resolver = system_resolver,
) -> RunningApi:
    """Serve the API and the pane in this event loop; returns once it listens."""
    app = create_app(
        settings=settings,
        engine=engine,
        box=box,
        client=client,
        temporal_ui=temporal_ui,
        resolver=resolver,
    )
    server = api_server(app, host=host, port=port)
    stop = asyncio.Event()
    task = asyncio.create_task(server.run_until(stop))
    while not server.started and not task.done():
        await asyncio.sleep(0.05)
    if task.done():
        await task  # raises why it could not start
    return RunningApi(url=f"http://{host}:{port}", stop_event=stop, task=task)


@click.command()
@click.option("--port", type=click.IntRange(1, 65535), default=DEFAULT_PORT, show_default=True)
@click.option("--host", default="127.0.0.1", show_default=True, help="Address to listen on.")
@click.option(
    "--temporal-ui",
    default="http://127.0.0.1:8233",
    show_default=True,
    help="The Temporal Web UI, for the pane's links ('' for none).",
)
@pass_app
def api(app: AppContext, port: int, host: str, temporal_ui: str) -> None:
    """Serve the REST API (/api/v1, /openapi.json) and the webhook pane (/) against
    the configuration database and TEMPORAL_ADDRESS. Ctrl-C stops it."""
    asyncio.run(_api(app, host=host, port=port, temporal_ui=temporal_ui or None))


async def _api(app: AppContext, *, host: str, port: int, temporal_ui: str | None) -> None:
    from worker.cli import _stop_event

    engine, box = app.store()
    stop = _stop_event()
    try:
        running = await start_api(
            settings=app.settings,
            engine=engine,
            box=box,
            client=None,
            host=host,
            port=port,
            temporal_ui=temporal_ui,
        )
        click.echo(f"hookflow API and pane: {running.url}  (OpenAPI: {running.url}/openapi.json)")
        click.echo(f"  Temporal:      {app.settings.temporal_address} ({app.settings.namespace})")
        click.echo("  Sign in with a key from `hookflow keys create --project P`.")
        click.echo("Press Ctrl-C to stop.")
        await stop.wait()
        click.echo("stopping...")
        await running.stop()
    finally:
        engine.dispose()
