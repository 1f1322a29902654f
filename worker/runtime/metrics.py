"""Prometheus metrics and readiness on one port: ``/metrics`` and ``/healthz``.

The Temporal SDK's runtime exports its own metrics and hookflow's (recorded on
its metric meter, ``activities/log/observe.py``) as Prometheus text on a
loopback port of its own. This server hands that text out at ``/metrics``,
after refreshing the gauges read from the delivery log, and answers
``/healthz`` with the worker's readiness, so an orchestrator can restart a
worker that stopped polling or lost Temporal or its database.
"""

from __future__ import annotations

import asyncio
import json
import logging
import socket
import threading
import time
import urllib.request
from collections.abc import Callable
from datetime import timedelta
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

from sqlalchemy import text
from sqlalchemy.engine import Engine
from sqlmodel import Session
from temporalio.api.workflowservice.v1 import GetSystemInfoRequest
from temporalio.client import Client
from temporalio.common import MetricMeter
from temporalio.runtime import (
    LogForwardingConfig,
    LoggingConfig,
    PrometheusConfig,
    Runtime,
    TelemetryConfig,
    TelemetryFilter,
)
from temporalio.worker import Worker

from activities.log.attempts import count_open
from activities.log.observe import LATENCY_BUCKETS_MS, OPEN_DELIVERIES

log = logging.getLogger("hookflow.metrics")
PROMETHEUS_TEXT = "text/plain; version=0.0.4; charset=utf-8"
CHECK_TIMEOUT = 5.0


def free_loopback_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


def telemetry_runtime(*, exporter: str | None) -> Runtime:
    """A runtime whose Core logs go through Python logging (so they take the
    chosen format) and, with ``exporter`` (``host:port``), Prometheus metrics."""
    metrics = None
    if exporter:
        metrics = PrometheusConfig(
            bind_address=exporter, histogram_bucket_overrides=LATENCY_BUCKETS_MS
        )
    return Runtime(
        telemetry=TelemetryConfig(
            logging=LoggingConfig(
                filter=TelemetryFilter(core_level="WARN", other_level="ERROR"),
                forwarding=LogForwardingConfig(logger=logging.getLogger("temporalio.core")),
            ),
            metrics=metrics,
        )
    )


class Readiness:
    """Ready: the worker polls, Temporal answers and the database answers."""

    def __init__(self, *, engine: Engine) -> None:
        self._engine = engine
        self.client: Client | None = None
        self.worker: Worker | None = None

    async def check(self) -> dict[str, bool]:
        worker = self.worker
        return {
            "worker": worker is not None and worker.is_running and not worker.is_shutdown,
            "temporal": await self._temporal(),
            "database": await asyncio.to_thread(self._database),
        }

    async def _temporal(self) -> bool:
        if self.client is None:
            return False
        try:
            await self.client.workflow_service.get_system_info(
                GetSystemInfoRequest(), timeout=timedelta(seconds=CHECK_TIMEOUT - 1)
            )
        except Exception:  # any failure means not ready; the body names the check
            return False
        return True

    def _database(self) -> bool:
        try:
            with self._engine.connect() as connection:
                connection.execute(text("SELECT 1"))
        except Exception:
            return False
        return True


class OpenDeliveries:
    """The ``hookflow_deliveries_open`` gauge (pending, held and failed deliveries
    per project, as the delivery log has them), read at most every few seconds."""

    def __init__(self, *, engine: Engine, meter: MetricMeter, min_interval: float = 5.0) -> None:
        self._engine = engine
        self._gauge = meter.create_gauge(
            OPEN_DELIVERIES, "Deliveries not delivered: pending, held, failed"
        )
        self._min_interval = min_interval
        self._read_at = float("-inf")
        self._seen: set[tuple[str, str]] = set()
        self._lock = threading.Lock()

    def refresh(self) -> None:
        with self._lock:
            if time.monotonic() - self._read_at < self._min_interval:
                return
            self._read_at = time.monotonic()
            with Session(self._engine) as session:
                counts = count_open(session=session)
            # A project whose deliveries all went through drops to zero, not out of sight.
            for key in self._seen - counts.keys():
                counts[key] = 0
            for (project, status), count in counts.items():
                self._gauge.set(count, {"project": project, "status": status})
            self._seen |= counts.keys()


class MetricsServer:
    """``/metrics`` and ``/healthz`` on ``host:port``, served from a thread of its own."""

    def __init__(
        self,
        *,
        host: str,
        port: int,
        exporter: str,
        readiness: Readiness,
        gauges: OpenDeliveries,
    ) -> None:
        self._exporter_url = f"http://{exporter}/metrics"
        self._readiness = readiness
        self._gauges = gauges
        self._loop: asyncio.AbstractEventLoop | None = None
        self._server = ThreadingHTTPServer((host, port), _handler(self))
        self._server.daemon_threads = True
        self._thread = threading.Thread(target=self._server.serve_forever, daemon=True)

    @property
    def url(self) -> str:
        host, port = self._server.server_address[:2]
        return f"http://{host!s}:{port}"

    def start(self) -> None:
        self._loop = asyncio.get_running_loop()
        self._thread.start()

    def stop(self) -> None:
        self._server.shutdown()
        self._server.server_close()

    def metrics(self) -> tuple[int, bytes]:
        try:
            self._gauges.refresh()
        except Exception as err:  # the SDK's metrics are still worth serving
            log.warning("could not read the delivery log for %s: %s", OPEN_DELIVERIES, err)
        with urllib.request.urlopen(self._exporter_url, timeout=CHECK_TIMEOUT) as reply:
            return 200, reply.read()

    def health(self) -> tuple[int, bytes]:
        checks: dict[str, Any]
        try:
            assert self._loop is not None
            future = asyncio.run_coroutine_threadsafe(self._readiness.check(), self._loop)
            checks = future.result(timeout=CHECK_TIMEOUT)
        except Exception:  # a loop too busy to answer in time is not ready either
            checks = {"worker": False, "error": "no answer in time"}
        ready = all(value is True for value in checks.values())
        body = {"status": "ready" if ready else "unavailable", **checks}
        return (200 if ready else 503), json.dumps(body).encode()


def _handler(server: MetricsServer) -> type[BaseHTTPRequestHandler]:
    routes: dict[str, tuple[Callable[[], tuple[int, bytes]], str]] = {
        "/metrics": (server.metrics, PROMETHEUS_TEXT),
        "/healthz": (server.health, "application/json"),
    }

    class Handler(BaseHTTPRequestHandler):
        def do_GET(self) -> None:  # noqa: N802  (http.server's naming)
            route = routes.get(self.path.split("?", 1)[0])
            if route is None:
                status, body, kind = 404, b"not found: /metrics or /healthz\n", "text/plain"
            else:
                try:
                    status, body = route[0]()
                except Exception as err:
                    status, body = 503, f"unavailable: {type(err).__name__}\n".encode()
                kind = route[1]
            self.send_response(status)
            self.send_header("content-type", kind)
            self.send_header("content-length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

        def log_message(self, format: str, *args: Any) -> None:  # noqa: A002
            pass  # scrapes every few seconds would drown the worker's own lines

    return Handler
