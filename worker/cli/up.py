"""``hookflow up``: the whole stack on this machine; its ports, the networks its
worker may reach, the state file other commands read, and its banner."""

from __future__ import annotations

import asyncio
import os
from contextlib import AsyncExitStack
from dataclasses import dataclass, replace
from datetime import UTC, datetime
from typing import Any

import click

from activities.delivery.guard import parse_networks
from activities.errors import SettingsError
from activities.files.private import private_dir
from worker.api.server import start_api
from worker.cli.context import AppContext, pass_app, stop_event
from worker.cli.ops import Ops, OpsOptions, ops_options
from worker.cli.output import CommandError
from worker.devstack.codec_server import start_codec_server
from worker.devstack.devserver import (
    HTTP_PORT_OFFSET,
    METRICS_PORT_OFFSET,
    DevServer,
    ensure_port_free,
)
from worker.devstack.stack import claim, refuse_if_in_use, write_state
from worker.devstack.workers import WorkerPool, worker_args, worker_env
from worker.runtime.assembly import connect, running_worker
from worker.runtime.codec import check_worker_keys
from worker.runtime.data_dir import StackState
from worker.runtime.schedules import ensure_retention_schedule
from worker.runtime.settings import Settings
from worker.runtime.tracing import setup_tracing, shutdown_tracing


@click.command()
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
@click.option(
    "--codec-allow-encode",
    is_flag=True,
    help="The codec server serves /encode too, for the temporal CLI's starts and signals "
    "(it encrypts anything under the real key).",
)
@click.option(
    "--workers",
    type=click.IntRange(0, 256),
    envvar="HOOKFLOW_WORKERS",
    help="Worker processes beside the API's; 0 runs one worker inside it "
    "[default: the machine's cores; env HOOKFLOW_WORKERS].",
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
    codec_allow_encode: bool,
    workers: int | None,
    **ops: Any,
) -> None:
    """Run everything on this machine: Temporal dev server with its UI, the
    configuration database, the codec server, the REST API and the pane in this
    process, and the workers in processes of their own. Ctrl-C stops it all."""
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
        workers=os.cpu_count() or 1 if workers is None else workers,
    )
    asyncio.run(
        _up(
            app,
            chosen,
            allow_networks=allow_networks,
            options=OpsOptions(**ops),
            allow_encode=codec_allow_encode,
        )
    )


async def _up(
    app: AppContext,
    ports: UpPorts,
    *,
    allow_networks: str | None,
    options: OpsOptions,
    allow_encode: bool = False,
) -> None:
    settings, allowed = with_allowed_networks(app.settings, allow_networks)
    settings = with_public_url(settings, ports)
    # Nothing is written (data dir, keys, database, lock) before these checks pass.
    refuse_if_in_use(settings.data_dir)  # one data dir, one stack: names the other
    ports.check_free()
    setup_tracing()  # OTEL_TRACES_EXPORTER: before the API app and the client are made
    # temporal.db, the keys and the documents: nobody else reads the data dir.
    private_dir(settings.data_dir)
    held = claim(settings.data_dir)  # one data dir, one stack
    codec = settings.codec(create=True)
    engine, box = app.store()
    stop = stop_event()
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
    # With worker processes, each serves its own metrics: this one serves none.
    own = replace(options, metrics_port=None) if ports.workers else options
    ops = Ops.start(own, engine=engine)
    try:
        await server.start()
        codec_server = await start_codec_server(
            codec,
            port=ports.codec_port,
            ui_port=ports.ui_port,
            token=settings.codec_token,
            allow_encode=allow_encode,
        )
        settings = settings.replace(
            temporal_address=server.address,
            namespace="default",
            stack=(*ports.endpoints(), *ops.endpoints),
        )
        client = await connect(settings, codec=codec, runtime=ops.runtime)
        await check_worker_keys(client, codec, task_queue=settings.task_queue)
        await ensure_retention_schedule(client, task_queue=settings.task_queue)
        record_stack(settings, server, ports, allowed=allowed)
        async with AsyncExitStack() as workers:
            if ports.workers:
                pool = WorkerPool(
                    ports.workers,
                    args=lambda index: worker_args(
                        log_format=options.log_format,
                        metrics_host=options.metrics_host,
                        metrics_port=ports.hookflow_metrics_port,
                        index=index,
                        count=ports.workers,
                    ),
                    env=worker_env(settings, allowed=allowed),
                )
                workers.push_async_callback(pool.stop)
                await pool.start()
                plural = "es" if pool.count > 1 else ""
                where = f"{pool.count} process{plural} (pids {', '.join(map(str, pool.pids))})"
            else:
                running = await workers.enter_async_context(
                    running_worker(client, settings, engine=engine, box=box)
                )
                ops.watch(client, running)
                where = "in this process (--workers 0)"
            api = await start_api(
                settings=settings,
                engine=engine,
                box=box,
                client=client,
                host="127.0.0.1",
                port=ports.api_port,
                temporal_ui=server.ui_url,
            )
            for line in banner(settings, server, ports, allowed=allowed):
                click.echo(line)
            click.echo(f"  Workers:           {where}")
            click.echo(f"  REST API, pane:    {api.url}  (keys: hookflow keys create)")
            click.echo(f"  Configuration:     {_redact_url(settings.database_url)}")
            if metrics := ports.describe_metrics(options.metrics_host) or ops.describe():
                click.echo(f"  Metrics:           {metrics}")
            click.echo("Press Ctrl-C to stop.")
            await stop.wait()
            click.echo("stopping...")
            await api.stop()
    finally:
        ops.stop()
        shutdown_tracing()
        await server.stop()
        if codec_server is not None:
            await codec_server.stop()
        engine.dispose()
        held.release()


LOCAL_RECEIVER = "127.0.0.0/8"


@dataclass(frozen=True)
class UpPorts:
    port: int
    ui_port: int
    codec_port: int
    api_port: int
    http_port: int
    metrics_port: int
    hookflow_metrics_port: int | None = None
    workers: int = 0
    """Worker processes; each serves metrics on a port of its own from ``--metrics-port`` on."""

    @classmethod
    def of(
        cls,
        *,
        port: int,
        ui_port: int,
        codec_port: int,
        api_port: int,
        http_port: int | None,
        metrics_port: int | None,
        hookflow_metrics_port: int | None = None,
        workers: int = 0,
    ) -> UpPorts:
        """The ports of one stack, all fixed (the dev server would pick its HTTP
        and metrics ports at random); CommandError when two are the same."""
        chosen = cls(
            port=port,
            ui_port=ui_port,
            codec_port=codec_port,
            api_port=api_port,
            http_port=http_port or port + HTTP_PORT_OFFSET,
            metrics_port=metrics_port or port + METRICS_PORT_OFFSET,
            hookflow_metrics_port=hookflow_metrics_port,
            workers=workers,
        )
        values = [port, ui_port, codec_port, api_port, chosen.http_port, chosen.metrics_port]
        values += chosen.hookflow_metrics_ports
        if len(set(values)) < len(values) or max(values) > 65535:
            raise CommandError(
                f"the ports must differ and stay below 65536: --port {port}, --ui-port {ui_port}, "
                f"--codec-port {codec_port}, --api-port {api_port}, "
                f"--http-port {chosen.http_port}, "
                f"--temporal-metrics-port {chosen.metrics_port}, "
                f"--metrics-port {hookflow_metrics_port}"
                + (f" to {chosen.hookflow_metrics_ports[-1]}" if workers > 1 else "")
            )
        return chosen

    @property
    def hookflow_metrics_ports(self) -> list[int]:
        """``--metrics-port``: this process's, or worker i's at ``--metrics-port`` + i - 1
        (and its SDK exporter's, on loopback, ``workers`` ports further on)."""
        if not self.hookflow_metrics_port:
            return []
        return [self.hookflow_metrics_port + i for i in range(2 * self.workers or 1)]

    def describe_metrics(self, host: str) -> str | None:
        """The banner's line for the workers' metrics ports (None: no worker processes)."""
        if not self.workers or not self.hookflow_metrics_port:
            return None
        first = f"http://{host}:{self.hookflow_metrics_port}/metrics and /healthz"
        if self.workers == 1:
            return first
        return f"{first}  (worker 1; worker i at port {self.hookflow_metrics_port} + i - 1)"

    def endpoints(self) -> tuple[tuple[str, int], ...]:
        """Every socket of the stack: no delivery, no Test button reaches them."""
        ports = [self.port, self.ui_port, self.codec_port, self.api_port, self.http_port]
        ports += [self.metrics_port, *self.hookflow_metrics_ports]
        return tuple(("127.0.0.1", port) for port in ports if port)

    @property
    def codec_url(self) -> str:
        return f"http://127.0.0.1:{self.codec_port}"

    def check_free(self) -> None:
        """Every port free before anything starts: one line names the busy one."""
        for port, what in (
            (self.port, "Temporal frontend"),
            (self.ui_port, "Temporal Web UI"),
            (self.http_port, "Temporal HTTP API"),
            (self.metrics_port, "Temporal metrics"),
            (self.codec_port, "codec server"),
            (self.api_port, "API"),
        ):
            ensure_port_free("127.0.0.1", port, what)
        if self.workers:  # a worker that cannot serve its metrics would never start
            ports = self.hookflow_metrics_ports
            for index, port in enumerate(ports[: self.workers], start=1):
                ensure_port_free("127.0.0.1", port, f"metrics of worker {index}")
            for index, port in enumerate(ports[self.workers :], start=1):
                ensure_port_free("127.0.0.1", port, f"metrics exporter of worker {index}")


def with_allowed_networks(settings: Settings, option: str | None) -> tuple[Settings, str]:
    """The networks the worker of ``up`` may deliver to: ``--allow-networks``,
    else ``HOOKFLOW_ALLOW_NETWORKS``, else what the data dir's last stack was
    given; and their text, which the state file remembers."""
    if option is None:
        return settings, ",".join(str(network) for network in settings.allow_networks)
    try:
        networks = parse_networks(option)
    except ValueError as err:
        raise SettingsError(
            str(err).replace("HOOKFLOW_ALLOW_NETWORKS", "--allow-networks")
        ) from None
    return settings.replace(allow_networks=networks), ",".join(str(n) for n in networks)


def with_public_url(settings: Settings, ports: UpPorts) -> Settings:
    """``HOOKFLOW_PUBLIC_URL``, else the stack's API on loopback: the base of the
    document links its workers send (``--documents link``)."""
    if settings.public_url:
        return settings
    return settings.replace(public_url=f"http://127.0.0.1:{ports.api_port}")


def record_stack(settings: Settings, server: DevServer, ports: UpPorts, *, allowed: str) -> None:
    """``stack.json``: how every other command finds this stack."""
    write_state(
        settings.data_dir,
        StackState(
            pid=os.getpid(),
            temporal_address=server.address,
            namespace=settings.namespace,
            task_queue=settings.task_queue,
            ui_url=server.ui_url,
            codec_url=ports.codec_url,
            http_port=ports.http_port,
            metrics_port=ports.metrics_port,
            allow_networks=allowed,
            started_at=datetime.now(UTC),
            api_port=ports.api_port,
            hookflow_metrics_port=ports.hookflow_metrics_port,
            workers=ports.workers,
        ),
    )


def banner(settings: Settings, server: DevServer, ports: UpPorts, *, allowed: str) -> list[str]:
    reach = (
        f"{allowed}  (--allow-networks)"
        if allowed
        else f"public addresses only  (--allow-networks {LOCAL_RECEIVER} for a local receiver)"
    )
    return [
        f"hookflow is up (data in {settings.data_dir})",
        f"  Temporal Web UI:   {server.ui_url}",
        f"  Codec server:      {ports.codec_url}  (--codec-endpoint)",
        f"                     {codec_access(settings)}",
        f"  Temporal frontend: {server.address}  (TEMPORAL_ADDRESS)",
        f"  Temporal HTTP API: http://{server.ip}:{server.http_port}",
        f"  Temporal metrics:  {server.metrics_url}",
        f"  Task queue:        {settings.task_queue}",
        f"  Deliveries reach:  {reach}",
    ]


def codec_access(settings: Settings) -> str:
    """Who can decode: the dev server's Web UI cannot send a token."""
    if settings.codec_token:
        return (
            "token required (HOOKFLOW_CODEC_TOKEN): the Web UI shows payloads encoded; "
            'temporal CLI: --codec-auth "Bearer $HOOKFLOW_CODEC_TOKEN"'
        )
    return "loopback only, no token: every user of this machine can decode (README: Security)"


def _redact_url(url: str) -> str:
    head, sep, tail = url.rpartition("@")
    if not sep:
        return url
    scheme, _, _credentials = head.partition("://")
    return f"{scheme}://***@{tail}"
