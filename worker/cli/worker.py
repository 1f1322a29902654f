"""``hookflow worker``: a worker only, against a Temporal of its own choosing."""

from __future__ import annotations

import asyncio
import logging
import os
from typing import Any

import click
from temporalio.client import Client
from temporalio.service import RPCError

from worker.cli.context import AppContext, pass_app, stop_event
from worker.cli.ops import Ops, OpsOptions, ops_options
from worker.cli.output import CommandError
from worker.devstack.devserver import ensure_search_attributes
from worker.devstack.workers import READY
from worker.runtime.assembly import connect, running_worker
from worker.runtime.codec import check_worker_keys
from worker.runtime.schedules import ensure_retention_schedule
from worker.runtime.tracing import setup_tracing, shutdown_tracing
from workflows.names import SEARCH_ATTRIBUTES


@click.command()
@ops_options
@click.option("--ready-fd", type=int, hidden=True, help="Started by `hookflow up --workers`.")
@pass_app
def worker(app: AppContext, /, ready_fd: int | None, **ops: Any) -> None:
    """Run a worker only, against TEMPORAL_ADDRESS / TEMPORAL_NAMESPACE."""
    asyncio.run(_worker(app, OpsOptions(**ops), ready_fd=ready_fd))


async def _worker(app: AppContext, options: OpsOptions, *, ready_fd: int | None = None) -> None:
    """``ready_fd``: a worker of ``hookflow up``, which prepared the server (search
    attributes, retention schedule) and waits for "ready" on that descriptor."""
    settings = app.settings
    setup_tracing()  # OTEL_TRACES_EXPORTER: before the client is made
    codec = settings.codec()
    engine, box = app.store()
    stop = stop_event()
    ops = Ops.start(options, engine=engine)
    settings = settings.replace(stack=(*settings.stack, *ops.endpoints))  # never a destination
    try:
        client = await connect(settings, codec=codec, runtime=ops.runtime)
    except RuntimeError as err:
        raise CommandError(f"cannot reach Temporal at {settings.temporal_address}: {err}") from None
    await check_worker_keys(client, codec, task_queue=settings.task_queue)
    if ready_fd is None:
        await prepare_server(client, task_queue=settings.task_queue)
    async with running_worker(client, settings, engine=engine, box=box) as running:
        ops.watch(client, running)
        if ready_fd is not None:
            with os.fdopen(ready_fd, "wb") as up:
                up.write(READY)
        else:
            ops.announce(
                f"worker on {settings.temporal_address}, namespace {settings.namespace}, "
                f"task queue {settings.task_queue}"
                + (f"; metrics at {ops.describe()}" if ops.describe() else "")
            )
        await stop.wait()
    ops.stop()
    shutdown_tracing()
    engine.dispose()


async def prepare_server(client: Client, *, task_queue: str) -> None:
    """Search attributes and the retention schedule, where the server lets us."""
    try:
        await ensure_search_attributes(client)
    except RPCError as err:  # Temporal Cloud registers them in its own console
        logging.getLogger("hookflow").warning(
            "could not register search attributes (%s): register %s in the namespace",
            err.status.name,
            ", ".join(key.name for key in SEARCH_ATTRIBUTES),
        )
    try:
        await ensure_retention_schedule(client, task_queue=task_queue)
    except RPCError as err:
        logging.getLogger("hookflow").warning(
            "could not create the retention schedule (%s): %s", err.status.name, err.message
        )
