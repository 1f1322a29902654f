"""What observing one attempt costs: hookflow's metrics and its log line, per attempt.

The attempt log calls ``observe`` once per attempt. This times it with the
meter a worker has without ``--metrics-port`` (the SDK's no-op meter) beside
the Prometheus exporter's, with the log line off, in text and in JSON, in one
run, so the price of ``--metrics-port`` and ``--log-format json`` can be set
against the few milliseconds of CPU an attempt costs.

    .venv/bin/python -m benchmarks.observe [--attempts 20000]
"""

from __future__ import annotations

import argparse
import io
import logging
import time
import uuid
from datetime import UTC, datetime

from temporalio.common import MetricMeter

from activities.contracts import Envelope
from activities.log.attempts import AttemptRecord
from activities.log.observe import emit_metrics, log_fields, logger
from worker.runtime.logs import JsonFormatter, TextFormatter
from worker.runtime.metrics import free_loopback_port, telemetry_runtime


def record(n: int) -> AttemptRecord:
    envelope = Envelope.model_validate(
        {
            "event": {
                "id": f"evt_{n}",
                "type": "WHEF_CLIENT_FORM_LOADED",
                "sequence": n,
                "timestamp": datetime.now(UTC),
            },
            "session": {
                "id": "xM72By4JkM",
                "reference": "r",
                "process_id": "p",
                "process_number": 1,
                "transaction_number": 1,
                "recipient": {"id": 1, "name": "client"},
                "labels": {},
            },
        }
    )
    return AttemptRecord(
        webhook_id=uuid.uuid4(),
        project=f"project-{n % 20}",
        envelope=envelope,
        started_at=datetime.now(UTC),
        status_code=200,
        latency_ms=12.5,
        outcome="delivered",
        error=None,
        response=None,
    )


def per_attempt(meter: MetricMeter, formatter: logging.Formatter | None, n: int) -> float:
    """Microseconds per attempt: what ``observe`` does, outside an activity."""
    handler = logging.StreamHandler(io.StringIO())
    if formatter:
        handler.setFormatter(formatter)
        logger.addHandler(handler)
        logger.setLevel(logging.INFO)
    records = [record(i) for i in range(n)]
    started = time.perf_counter()
    for item in records:
        emit_metrics(meter, item, webhook_type="form_loaded")
        if logger.isEnabledFor(logging.INFO):
            logger.info("attempt", extra={"fields": log_fields(item, webhook_type="form_loaded")})
    elapsed = time.perf_counter() - started
    logger.removeHandler(handler)
    logger.setLevel(logging.WARNING)
    return elapsed / n * 1e6


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--attempts", type=int, default=20000)
    n = parser.parse_args().attempts
    logger.propagate = False
    prometheus = telemetry_runtime(exporter=f"127.0.0.1:{free_loopback_port()}").metric_meter
    rows = [
        ("no-op meter, no log line (the default)", MetricMeter.noop, None),
        ("Prometheus meter (--metrics-port)", prometheus, None),
        ("Prometheus meter + text log line", prometheus, TextFormatter()),
        ("Prometheus meter + JSON log line (--log-format json)", prometheus, JsonFormatter()),
    ]
    print(f"{n} attempts each, microseconds per attempt")
    for name, meter, formatter in rows:
        print(f"  {name:<54} {per_attempt(meter, formatter, n):7.1f} us")


if __name__ == "__main__":
    main()
