"""The ``hookflow`` command."""

from __future__ import annotations

import asyncio
import logging
import os
import signal
import sys
from collections.abc import Sequence
from dataclasses import replace

import click
from pydantic import ValidationError
from sqlalchemy.exc import SQLAlchemyError
from temporalio.service import RPCError

from activities.errors import ConfigError, DevServerError, SecretBoxError, SettingsError
from worker.assembly import connect, running_worker
from worker.context import AppContext, pass_app
from worker.devserver import DevServer, ensure_search_attributes
from worker.output import CommandError, describe_validation
from workflows.names import SEARCH_ATTRIBUTES


@click.group(context_settings={"help_option_names": ["-h", "--help"]})
@click.option(
    "--data-dir",
    type=click.Path(file_okay=False),
    help="State directory (default .hookflow, or HOOKFLOW_DATA_DIR).",
)
@click.pass_context
def cli(ctx: click.Context, data_dir: str | None) -> None:
    """hookflow: durable outbound webhooks on Temporal."""
    ctx.obj = AppContext(data_dir=data_dir)


@cli.command()
@click.option("--data-dir", type=click.Path(file_okay=False), help="State directory.")
@click.option("--port", type=click.IntRange(1, 65535), default=7233, show_default=True)
@click.option("--ui-port", type=click.IntRange(1, 65535), default=8233, show_default=True)
@pass_app
def up(app: AppContext, data_dir: str | None, port: int, ui_port: int) -> None:
    """Run everything on this machine: Temporal dev server with its UI, the
    configuration database and one worker. Ctrl-C stops it all."""
    if data_dir:
        app.data_dir = data_dir
    if port == ui_port:
        raise CommandError("--port and --ui-port must differ")
    asyncio.run(_up(app, port=port, ui_port=ui_port))


async def _up(app: AppContext, *, port: int, ui_port: int) -> None:
    settings = app.settings
    server = DevServer(data_dir=settings.data_dir, port=port, ui_port=ui_port)
    engine, box = app.store()
    stop = _stop_event()
    try:
        await server.start()
        settings = replace(settings, temporal_address=server.address, namespace="default")
        client = await connect(settings)
        async with running_worker(client, settings, engine=engine, box=box):
            click.echo(f"hookflow is up (data in {settings.data_dir})")
            click.echo(f"  Temporal Web UI:   {server.ui_url}")
            click.echo(f"  Temporal frontend: {server.address}  (TEMPORAL_ADDRESS)")
            click.echo(f"  Task queue:        {settings.task_queue}")
            click.echo(f"  Configuration:     {_redact_url(settings.database_url)}")
            click.echo("Press Ctrl-C to stop.")
            await stop.wait()
            click.echo("stopping...")
    finally:
        await server.stop()
        engine.dispose()


@cli.command()
@pass_app
def worker(app: AppContext) -> None:
    """Run a worker only, against TEMPORAL_ADDRESS / TEMPORAL_NAMESPACE."""
    asyncio.run(_worker(app))


async def _worker(app: AppContext) -> None:
    settings = app.settings
    engine, box = app.store()
    stop = _stop_event()
    try:
        client = await connect(settings)
    except RuntimeError as err:
        raise CommandError(f"cannot reach Temporal at {settings.temporal_address}: {err}") from None
    try:
        await ensure_search_attributes(client)
    except RPCError as err:  # Temporal Cloud registers them in its own console
        logging.getLogger("hookflow").warning(
            "could not register search attributes (%s): register %s in the namespace",
            err.status.name,
            ", ".join(key.name for key in SEARCH_ATTRIBUTES),
        )
    async with running_worker(client, settings, engine=engine, box=box):
        click.echo(
            f"worker on {settings.temporal_address}, namespace {settings.namespace}, "
            f"task queue {settings.task_queue}"
        )
        await stop.wait()
    engine.dispose()


def _stop_event() -> asyncio.Event:
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for signum in (signal.SIGINT, signal.SIGTERM):
        loop.add_signal_handler(signum, stop.set)
    return stop


def _redact_url(url: str) -> str:
    head, sep, tail = url.rpartition("@")
    if not sep:
        return url
    scheme, _, _credentials = head.partition("://")
    return f"{scheme}://***@{tail}"


def _register_groups() -> None:
    from worker import cli_pane  # noqa: F401  (adds `webhooks test` and `webhooks example`)
    from worker.cli_deliveries import deliveries
    from worker.cli_demo import demo
    from worker.cli_documents import documents
    from worker.cli_processes import processes
    from worker.cli_projects import projects
    from worker.cli_secrets import secrets
    from worker.cli_sessions import sessions
    from worker.cli_sms import sms
    from worker.cli_storage import storage
    from worker.cli_webhooks import webhooks

    groups = (webhooks, secrets, sessions, processes, deliveries, documents, storage, sms, demo)
    cli.add_command(projects)
    for group in groups:
        cli.add_command(group)


_register_groups()

_ONE_LINE_ERRORS = (
    ConfigError,
    SettingsError,
    DevServerError,
    SecretBoxError,
)


def main(argv: Sequence[str] | None = None) -> None:
    """Entry point: every failure is one line on stderr and a non-zero exit."""
    logging.basicConfig(level=logging.WARNING, format="%(levelname)s %(name)s: %(message)s")
    try:
        cli.main(args=argv, prog_name="hookflow", standalone_mode=False)
    except click.exceptions.Abort:
        sys.exit(130)
    except click.ClickException as err:
        _fail(err.format_message(), err.exit_code)
    except ValidationError as err:
        _fail(describe_validation(err))
    except _ONE_LINE_ERRORS as err:
        _fail(str(err))
    except SQLAlchemyError as err:
        _fail(f"database error: {' '.join(str(err.__cause__ or err).split())[:200]}")
    except KeyboardInterrupt:
        sys.exit(130)


def entry_point() -> None:
    """The ``hookflow`` console script.

    Exits without interpreter teardown: the Temporal client's native threads
    can abort a finalizing interpreter (sdk-python issue 300), which would
    turn a finished command into a crash.
    """
    code = 0
    try:
        main()
    except SystemExit as exit_:
        code = exit_.code if isinstance(exit_.code, int) else 1
    logging.shutdown()
    sys.stdout.flush()
    sys.stderr.flush()
    os._exit(code)


def _fail(message: str, code: int = 1) -> None:
    click.echo(f"hookflow: error: {message}", err=True)
    sys.exit(code)


if __name__ == "__main__":
    entry_point()
