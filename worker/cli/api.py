"""``hookflow api``: the REST API and the pane, alone."""

from __future__ import annotations

import asyncio

import click

from worker.api.server import DEFAULT_PORT, start_api
from worker.cli.context import AppContext, pass_app, stop_event
from worker.runtime.tracing import setup_tracing, shutdown_tracing


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
    # OTEL_TRACES_EXPORTER, as ``up`` and ``worker``: before the app and the
    # client (connected on first use, with the tracing interceptor) are made.
    setup_tracing()
    engine, box = app.store()
    stop = stop_event()
    try:
        running = await start_api(
            settings=app.settings,
            engine=engine,
            box=box,
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
        shutdown_tracing()
        engine.dispose()
