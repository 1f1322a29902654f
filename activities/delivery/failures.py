"""How a failed first attempt ends its activity: the error Temporal sees, with its
type, whether it may be retried, and when the ladder's next step is due."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import timedelta
from urllib.parse import urlsplit

from temporalio.exceptions import ApplicationError

from activities.contracts import DeliverInput, FailureType
from activities.delivery.endpoint import Endpoint
from activities.delivery.retry import format_schedule
from activities.delivery.sender import Verdict


@dataclass(frozen=True)
class Sent:
    """One attempt, logged: its verdict, and what it did to the delivery."""

    verdict: Verdict
    delay: float | None = None
    disabled: str | None = None
    """Why this attempt disabled the webhook (it failed every attempt for days)."""


def where(endpoint: Endpoint) -> str:
    """The webhook as an error names it: its alias and host, never its path or query."""
    return f"{endpoint.alias} ({urlsplit(endpoint.url).hostname})"


def failure(*, endpoint: Endpoint, req: DeliverInput, sent: Sent, attempt: int) -> ApplicationError:
    verdict, delay = sent.verdict, sent.delay
    message = f"{verdict.error} from {where(endpoint)}, attempt {attempt}/{len(req.retry_schedule)}"
    if sent.disabled:
        return ApplicationError(
            f"{message}; webhook disabled: {sent.disabled}",
            type=FailureType.DISABLED,
            non_retryable=True,
        )
    if verdict.outcome == "gone":
        return ApplicationError(
            f"{message}; webhook disabled", type=FailureType.GONE, non_retryable=True
        )
    if verdict.outcome == "refused":
        return ApplicationError(message, type=FailureType.REFUSED, non_retryable=True)
    if delay is None:
        schedule = format_schedule(req.retry_schedule)
        return ApplicationError(
            f"{message}; retries exhausted ({schedule})",
            type=FailureType.EXHAUSTED,
            non_retryable=True,
        )
    return ApplicationError(
        f"{message}; next attempt in {delay:.0f}s",
        type=FailureType.UNDELIVERED,
        next_retry_delay=timedelta(seconds=delay),
    )
