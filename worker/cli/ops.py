"""What a long-running worker process adds for its operators: the log format,
the SDK runtime with its Prometheus exporter, and the metrics port.

``hookflow worker`` and ``hookflow up`` take the same options
(``ops_options``) and do the same three things: ``Ops.start`` before
connecting, ``ops.runtime`` to connect with, ``ops.watch`` once the worker runs.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, TypeVar

import click
from sqlalchemy.engine import Engine
from temporalio.client import Client
from temporalio.runtime import Runtime
from temporalio.worker import Worker

from worker.cli.output import CommandError
from worker.runtime.logs import LOG_FORMATS, LogFormat, configure_logging
from worker.runtime.metrics import (
    MetricsServer,
    OpenDeliveries,
    Readiness,
    free_loopback_port,
    telemetry_runtime,
)

F = TypeVar("F", bound=Callable[..., Any])


@dataclass(frozen=True)
class OpsOptions:
    metrics_port: int | None = None
    """Serve ``/metrics`` and ``/healthz`` on this port (``--metrics-port``)."""
    metrics_host: str = "127.0.0.1"
    """Address the metrics port listens on (``--metrics-host``)."""
    log_format: LogFormat = "text"
    """``text`` or ``json``: one JSON object a line (``--log-format``)."""
    exporter_port: int | None = None
    """The loopback port of the SDK's exporter behind the metrics port (hidden
    ``--exporter-port``: ``up`` gives each worker one it lists in the stack);
    None: a free one."""


def ops_options(command: F) -> F:
    """The options ``worker`` and ``up`` share: ``metrics_port``, ``metrics_host``
    and ``log_format``, the fields of ``OpsOptions``."""
    command = click.option(
        "--log-format",
        type=click.Choice(LOG_FORMATS),
        default="text",
        show_default=True,
        help="Log lines as text, or one JSON object a line (one per delivery attempt).",
    )(command)
    command = click.option(
        "--metrics-host",
        default="127.0.0.1",
        show_default=True,
        help="Address of the metrics port; 0.0.0.0 lets a scraper on another machine in.",
    )(command)
    command = click.option(
        "--exporter-port", type=click.IntRange(1, 65535), default=None, hidden=True
    )(command)
    return click.option(
        "--metrics-port",
        type=click.IntRange(1, 65535),
        default=None,
        help="Serve Prometheus metrics at /metrics and readiness at /healthz on this port.",
    )(command)


class Ops:
    """Logging, the Temporal runtime and the metrics port of one worker process."""

    def __init__(self, options: OpsOptions, *, engine: Engine) -> None:
        self.options = options
        self.readiness = Readiness(engine=engine)
        self.runtime: Runtime | None = None
        self.server: MetricsServer | None = None
        configure_logging(options.log_format)
        exporter = None
        if options.metrics_port:
            exporter = f"127.0.0.1:{options.exporter_port or free_loopback_port()}"
        self.endpoints: tuple[tuple[str, int], ...] = ()
        """The sockets this process serves (its metrics port, the SDK's exporter
        behind it): never a delivery's destination."""
        if exporter and options.metrics_port:
            self.endpoints = (
                ("127.0.0.1", options.metrics_port),
                ("127.0.0.1", int(exporter.rsplit(":", 1)[1])),
            )
        if exporter or options.log_format == "json":
            self.runtime = telemetry_runtime(exporter=exporter)
        if exporter and options.metrics_port and self.runtime is not None:
            gauges = OpenDeliveries(engine=engine, meter=self.runtime.metric_meter)
            try:
                self.server = MetricsServer(
                    host=options.metrics_host,
                    port=options.metrics_port,
                    exporter=exporter,
                    readiness=self.readiness,
                    gauges=gauges,
                )
            except OSError as err:
                raise CommandError(
                    f"cannot serve metrics on {options.metrics_host}:{options.metrics_port}: "
                    f"{err.strerror or err}"
                ) from None

    @classmethod
    def start(cls, options: OpsOptions, *, engine: Engine) -> Ops:
        """Configure logging and open the metrics port (not ready until ``watch``)."""
        ops = cls(options, engine=engine)
        if ops.server is not None:
            ops.server.start()
        return ops

    def watch(self, client: Client, worker: Worker) -> None:
        self.readiness.client = client
        self.readiness.worker = worker

    def announce(self, message: str) -> None:
        """A line for the operator: on stdout, or as a JSON log line with ``--log-format json``
        (so that a log collector reads nothing but JSON)."""
        if self.options.log_format == "json":
            logging.getLogger("hookflow.worker").info(message)
        else:
            click.echo(message)

    def describe(self) -> str | None:
        if self.server is None:
            return None
        return f"{self.server.url}/metrics and /healthz"

    def stop(self) -> None:
        if self.server is not None:
            self.server.stop()
