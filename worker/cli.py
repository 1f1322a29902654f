"""The ``hookflow`` command."""

from __future__ import annotations

import asyncio
import logging
import os
import signal
import sys
from collections.abc import Sequence
from dataclasses import replace
from typing import Any

import click
from pydantic import ValidationError
from sqlalchemy.exc import SQLAlchemyError
from temporalio.service import RPCError

from activities.errors import (
    ConfigError,
    DevServerError,
    HookflowError,
    PayloadUndecodable,
    SecretBoxError,
    SettingsError,
)
from activities.files.private import private_dir
from worker.assembly import connect, running_worker
from worker.cli_api import start_api
from worker.cli_codec import check_worker_keys, start_codec_server
from worker.cli_up import UpPorts, banner, record_stack, with_allowed_networks
from worker.context import AppContext, pass_app
from worker.devserver import DevServer, ensure_search_attributes
from worker.ops import Ops, OpsOptions, ops_options
from worker.output import CommandError, describe_validation
from worker.stack import claim
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
@click.option("--codec-port", type=click.IntRange(1, 65535), default=8081, show_default=True)
@click.option("--api-port", type=click.IntRange(1, 65535), default=8080, show_default=True)
@click.option(
    "--http-port", type=click.IntRange(1, 65535), help="Temporal's HTTP API [default: --port + 10]."
)
@click.option(
    "--temporal-metrics-port",
    type=click.IntRange(1, 65535),
    help="Temporal's own metrics [default: --port + 11].",
)
@click.option(
    "--allow-networks",
    metavar="CIDR,...",
    help="Networks the worker may deliver to, e.g. 127.0.0.0/8 for a local receiver; "
    "remembered in the data dir ('' clears).",
)
@ops_options
@pass_app
def up(
    app: AppContext,
    /,
    data_dir: str | None,
    port: int,
    ui_port: int,
    codec_port: int,
    api_port: int,
    http_port: int | None,
    temporal_metrics_port: int | None,
    allow_networks: str | None,
    **ops: Any,
) -> None:
    """Run everything on this machine: Temporal dev server with its UI, the
    configuration database, the codec server, one worker, the REST API and the
    pane. Ctrl-C stops it all."""
    if data_dir:
        app.data_dir = data_dir
    chosen = UpPorts.of(
        port=port,
        ui_port=ui_port,
        codec_port=codec_port,
        api_port=api_port,
        http_port=http_port,
        metrics_port=temporal_metrics_port,
        hookflow_metrics_port=ops["metrics_port"],
    )
    asyncio.run(_up(app, chosen, allow_networks=allow_networks, options=OpsOptions(**ops)))


async def _up(
    app: AppContext, ports: UpPorts, *, allow_networks: str | None, options: OpsOptions
) -> None:
    settings, allowed = with_allowed_networks(app.settings, allow_networks)
    # temporal.db, the keys and the documents: nobody else reads the data dir.
    private_dir(settings.data_dir)
    held = claim(settings.data_dir)  # one data dir, one stack
    codec = settings.codec(create=True)
    engine, box = app.store()
    stop = _stop_event()
    codec_url = ports.codec_url
    server = DevServer(
        data_dir=settings.data_dir,
        port=ports.port,
        ui_port=ports.ui_port,
        http_port=ports.http_port,
        metrics_port=ports.metrics_port,
        ui_codec_endpoint=codec_url,
    )
    codec_server = None
    ops = Ops.start(options, engine=engine)
    try:
        ports.check_free()
        await server.start()
        codec_server = await start_codec_server(codec, port=ports.codec_port, ui_port=ports.ui_port)
        settings = replace(settings, temporal_address=server.address, namespace="default")
        client = await connect(settings, codec=codec, runtime=ops.runtime)
        await check_worker_keys(client, codec, task_queue=settings.task_queue)
        async with running_worker(client, settings, engine=engine, box=box) as running:
            ops.watch(client, running)
            api = await start_api(
                settings=settings,
                engine=engine,
                box=box,
                client=client,
                host="127.0.0.1",
                port=ports.api_port,
                temporal_ui=server.ui_url,
            )
            record_stack(settings, server, ports, allowed=allowed)
            for line in banner(settings, server, ports, allowed=allowed):
                click.echo(line)
            click.echo(f"  REST API, pane:    {api.url}  (keys: hookflow keys create)")
            click.echo(f"  Configuration:     {_redact_url(settings.database_url)}")
            if ops.describe():
                click.echo(f"  Metrics:           {ops.describe()}")
            click.echo("Press Ctrl-C to stop.")
            await stop.wait()
            click.echo("stopping...")
            await api.stop()
    finally:
        ops.stop()
        await server.stop()
        if codec_server is not None:
            await codec_server.stop()
        engine.dispose()
        held.release()


@cli.command()
@ops_options
@pass_app
def worker(app: AppContext, /, **ops: Any) -> None:
    """Run a worker only, against TEMPORAL_ADDRESS / TEMPORAL_NAMESPACE."""
    asyncio.run(_worker(app, OpsOptions(**ops)))


async def _worker(app: AppContext, options: OpsOptions) -> None:
    settings = app.settings
    codec = settings.codec()
    engine, box = app.store()
    stop = _stop_event()
    ops = Ops.start(options, engine=engine)
    try:
        client = await connect(settings, codec=codec, runtime=ops.runtime)
    except RuntimeError as err:
        raise CommandError(f"cannot reach Temporal at {settings.temporal_address}: {err}") from None
    await check_worker_keys(client, codec, task_queue=settings.task_queue)
    try:
        await ensure_search_attributes(client)
    except RPCError as err:  # Temporal Cloud registers them in its own console
        logging.getLogger("hookflow").warning(
            "could not register search attributes (%s): register %s in the namespace",
            err.status.name,
            ", ".join(key.name for key in SEARCH_ATTRIBUTES),
        )
    async with running_worker(client, settings, engine=engine, box=box) as running:
        ops.watch(client, running)
        ops.announce(
            f"worker on {settings.temporal_address}, namespace {settings.namespace}, "
            f"task queue {settings.task_queue}"
            + (f"; metrics at {ops.describe()}" if ops.describe() else "")
        )
        await stop.wait()
    ops.stop()
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
    from worker import (
        cli_pane,  # noqa: F401  (adds `webhooks test` and `webhooks example`)
        cli_session_tools,  # noqa: F401  (adds `sessions list`, `field-changed`)
    )
    from worker.cli_api import api
    from worker.cli_codec import codec, codec_server
    from worker.cli_deliveries import deliveries
    from worker.cli_demo import demo
    from worker.cli_documents import documents
    from worker.cli_keys import keys
    from worker.cli_processes import processes
    from worker.cli_projects import projects
    from worker.cli_receive import receive
    from worker.cli_secrets import secrets
    from worker.cli_sessions import sessions
    from worker.cli_sms import sms
    from worker.cli_storage import storage
    from worker.cli_webhooks import webhooks

    groups = (webhooks, secrets, sessions, processes, deliveries, documents, storage, sms, demo)
    cli.add_command(projects)
    for group in (*groups, keys, api):
        cli.add_command(group)
    cli.add_command(codec)
    cli.add_command(codec_server)
    cli.add_command(receive)


_register_groups()

_ONE_LINE_ERRORS = (
    HookflowError,
    ConfigError,
    SettingsError,
    DevServerError,
    SecretBoxError,
    PayloadUndecodable,
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
