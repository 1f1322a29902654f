"""Timeouts and retry policies of every activity, in one place."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import timedelta

from temporalio import workflow
from temporalio.common import RetryPolicy

with workflow.unsafe.imports_passed_through():
    from activities.contracts import WebhookTarget


@dataclass(frozen=True)
class Policy:
    start_to_close: timedelta
    retry: RetryPolicy
    schedule_to_close: timedelta | None = None
    heartbeat: timedelta | None = None


# Reading configuration: retried until the database answers; no event is lost.
RESOLVE = Policy(
    start_to_close=timedelta(seconds=30),
    retry=RetryPolicy(initial_interval=timedelta(seconds=1), maximum_interval=timedelta(minutes=1)),
)

# Writing the delivery log's transitions the workflow decides: until the database answers.
RECORD = Policy(
    start_to_close=timedelta(seconds=30),
    retry=RetryPolicy(initial_interval=timedelta(seconds=1), maximum_interval=timedelta(minutes=1)),
)

# A first attempt run as a local activity: once; the ladder goes on as a regular activity.
ONE_ATTEMPT = RetryPolicy(maximum_attempts=1)

# Margin over the webhook's own timeout for the worker to load, send and record.
_ATTEMPT_MARGIN = timedelta(seconds=15)


# A batch heartbeats: a worker lost mid-batch costs its stream about this long.
HEARTBEAT = timedelta(seconds=30)


def delivery(target: WebhookTarget, events: int = 1, attempt_offset: int = 0) -> Policy:
    """One delivery of ``events`` of a stream: the activity computes the ladder
    (``next_retry_delay``) and says when it is exhausted (the one place that
    decides it), so Temporal's own backoff only covers an attempt lost with its
    worker. ``maximum_attempts`` is what is left of the ladder. A put-off ends
    the activity with a result (the session waits), so it is never an attempt."""
    return Policy(
        start_to_close=timedelta(seconds=target.timeout) * events + _ATTEMPT_MARGIN,
        heartbeat=HEARTBEAT,
        retry=RetryPolicy(
            initial_interval=timedelta(seconds=5),
            backoff_coefficient=2.0,
            maximum_interval=timedelta(minutes=30),
            maximum_attempts=max(1, len(target.retry_schedule) - attempt_offset),
        ),
    )


# Remote data answers a client who is typing: two quick attempts, each within
# the webhook's own timeout up to this cap.
REMOTE_DATA_SCHEDULE = [0.0, 0.25]
REMOTE_DATA_MAX_TIMEOUT = 15.0


def remote_timeout(target: WebhookTarget) -> float:
    """Seconds one remote-data attempt may take: the webhook's timeout, capped."""
    return min(target.timeout, REMOTE_DATA_MAX_TIMEOUT)


def remote_data(target: WebhookTarget) -> Policy:
    # The attempt's own timeout ends it first; the margin covers a busy worker.
    per_attempt = timedelta(seconds=remote_timeout(target) + 2)
    return Policy(
        start_to_close=per_attempt,
        schedule_to_close=per_attempt * 2 + timedelta(seconds=0.25),
        retry=RetryPolicy(initial_interval=timedelta(milliseconds=250), maximum_attempts=2),
    )


# The failover URL of an exhausted delivery: a few tries over about ten minutes.
FAILOVER = Policy(
    start_to_close=timedelta(minutes=2),
    retry=RetryPolicy(
        initial_interval=timedelta(seconds=5),
        backoff_coefficient=3.0,
        maximum_attempts=5,
    ),
)


# Writing an archive's files to storage: retried for a day; the session records a failure.
STORAGE = Policy(
    start_to_close=timedelta(minutes=5),
    schedule_to_close=timedelta(days=1),
    retry=RetryPolicy(initial_interval=timedelta(seconds=5), maximum_interval=timedelta(hours=1)),
)
