"""Every attempt outcome, observed: hookflow's metrics and one log line.

The attempt log calls ``observe`` once an attempt is stored, so every outcome
of every delivery passes here exactly once per attempt. Metrics go to the
Temporal SDK's metric meter (``activity.metric_meter()``): the worker's
runtime exports them beside the SDK's own, and without a metrics exporter
they cost nothing. Neither carries a secret or personal data: ids, types,
outcomes, status codes and timings only, never a body, a label or a URL.
"""

from __future__ import annotations

import logging
import re
import sys
from collections.abc import Mapping
from typing import TYPE_CHECKING

from temporalio import activity
from temporalio.common import MetricMeter

from activities.contracts import Outcome

if TYPE_CHECKING:
    from activities.log.attempts import AttemptRecord

logger = logging.getLogger("hookflow.attempts")

ATTEMPTS = "hookflow_attempts"
DELIVERIES = "hookflow_deliveries"
RETRIES = "hookflow_retries"
ATTEMPT_LATENCY = "hookflow_attempt_latency"
REMOTE_DATA_LATENCY = "hookflow_remote_data_latency"
OPEN_DELIVERIES = "hookflow_deliveries_open"

# Histogram buckets (milliseconds) for the exporter: the SDK's defaults start at 50 ms.
LATENCY_BUCKETS_MS: Mapping[str, list[float]] = {
    ATTEMPT_LATENCY: [5, 10, 25, 50, 100, 250, 500, 1000, 2500, 5000, 10000, 30000],
    REMOTE_DATA_LATENCY: [10, 25, 50, 100, 250, 500, 1000, 2500, 5000, 10000],
}

# Outcomes that end a delivery; ``retrying`` leaves it pending.
_FINAL = frozenset({Outcome.DELIVERED, Outcome.FAILED, Outcome.GONE, Outcome.REFUSED})
_HTTP_STATUS = re.compile(r"^HTTP \d{3}")


def observe(record: AttemptRecord, *, webhook_type: str, attempt: int | None = None) -> None:
    """Count and time one stored attempt, and write its log line."""
    if activity.in_activity():
        emit_metrics(activity.metric_meter(), record, webhook_type=webhook_type)
    if logger.isEnabledFor(logging.INFO):
        fields = log_fields(record, webhook_type=webhook_type, attempt=attempt)
        logger.info("attempt", extra={"fields": fields})


def emit_metrics(meter: MetricMeter, record: AttemptRecord, *, webhook_type: str) -> None:
    outcome = record.outcome
    by_type = {"webhook_type": webhook_type, "project": record.project}
    meter.create_counter(ATTEMPTS, "Webhook attempts by outcome").add(
        1, {**by_type, "outcome": outcome}
    )
    if outcome in _FINAL:
        meter.create_counter(DELIVERIES, "Deliveries ended, by outcome").add(
            1, {**by_type, "outcome": outcome}
        )
    if outcome == Outcome.RETRYING:
        meter.create_counter(RETRIES, "Failed attempts that will be retried").add(1, by_type)
    latency = max(record.latency_ms, 0.0)
    if record.status_code is not None:  # an answer came back: its time is the endpoint's
        meter.create_histogram_float(
            ATTEMPT_LATENCY, "Time from request to response of one attempt", "ms"
        ).record(latency, {"webhook_type": webhook_type, "outcome": outcome})
        if webhook_type == "remote_data":
            meter.create_histogram_float(
                REMOTE_DATA_LATENCY, "Time a remote_data endpoint took to answer", "ms"
            ).record(latency, {"project": record.project, "outcome": outcome})


def log_fields(
    record: AttemptRecord, *, webhook_type: str, attempt: int | None = None
) -> dict[str, object]:
    from activities.log.attempts import delivery_id  # (attempts imports this module)

    event = record.envelope.event
    fields: dict[str, object] = {
        "outcome": record.outcome,
        "delivery": delivery_id(event_id=event.id, webhook_id=record.webhook_id),
        "trace_id": trace_id(),
        "project": record.project,
        "session": record.envelope.session.id,
        "event": event.id,
        "event_type": event.type,
        "sequence": event.sequence,
        "webhook": str(record.webhook_id),
        "webhook_type": webhook_type,
        "status_code": record.status_code,
        "latency_ms": round(record.latency_ms, 1),
    }
    if attempt is not None:
        fields["attempt"] = attempt
    if record.error:
        fields["error"] = error_kind(record.error)
    return fields


def trace_id() -> str | None:
    """The current trace's id (32 hex digits, as in ``traceparent``), None while
    tracing is off (``worker.runtime.tracing``): then a look-up, nothing more."""
    trace = sys.modules.get("opentelemetry.trace")
    if trace is None:
        return None
    context = trace.get_current_span().get_span_context()
    return f"{context.trace_id:032x}" if context.is_valid else None


def error_kind(error: str) -> str:
    """What went wrong, without what an error may quote (a redirect's target,
    a server's words): ``HTTP 500``, ``timed out after 5s``, ``ConnectError``."""
    status = _HTTP_STATUS.match(error)
    if status:
        return status.group(0)
    return error.split(":", 1)[0].strip()[:120]
