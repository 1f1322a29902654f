"""``hookflow worker``: a worker only, against a Temporal of its own choosing."""

from __future__ import annotations

import asyncio
import logging
from typing import Any

import click
from temporalio.service import RPCError

from worker.cli.context import AppContext, pass_app, stop_event
from worker.cli.ops import Ops, OpsOptions, ops_options
from worker.cli.output import CommandError
from worker.devstack.devserver import ensure_search_attributes
from worker.runtime.assembly import connect, running_worker
from worker.runtime.codec import check_worker_keys
from worker.runtime.schedules import ensure_retention_schedule
from worker.runtime.tracing import setup_tracing, shutdown_tracing
from workflows.names import SEARCH_ATTRIBUTES


@click.command()
@ops_options
@pass_app
def worker(app: AppContext, /, **ops: Any) -> None:
    """Run a worker only, against TEMPORAL_ADDRESS / TEMPORAL_NAMESPACE."""
    asyncio.run(_worker(app, OpsOptions(**ops)))


async def _worker(app: AppContext, options: OpsOptions) -> None:
    settings = app.settings
    if options.metrics_port:  # its own metrics: never a destination
        settings = settings.replace(stack=(*settings.stack, ("127.0.0.1", options.metrics_port)))
    setup_tracing()  # OTEL_TRACES_EXPORTER: before the client is made
    codec = settings.codec()
    engine, box = app.store()
    stop = stop_event()
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
    try:
        await ensure_retention_schedule(client, task_queue=settings.task_queue)
    except RPCError as err:
        logging.getLogger("hookflow").warning(
            "could not create the retention schedule (%s): %s", err.status.name, err.message
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
    shutdown_tracing()
    engine.dispose()
