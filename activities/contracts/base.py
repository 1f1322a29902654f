"""The base of every contract: the model class, ids, datetimes and the shared enums."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime, timedelta
from enum import StrEnum
from typing import Annotated

from pydantic import AfterValidator, BaseModel, ConfigDict, PlainSerializer, StringConstraints

# A namespace of our own for ids derived from a session id.
HOOKFLOW_NAMESPACE = uuid.UUID("8f5b3c2e-6d0a-4f53-9a57-3f3b7c1d2e90")


DEFAULT_EXPIRES_IN = timedelta(days=7)

DEFAULT_RETENTION = timedelta(days=30)


SessionId = Annotated[
    str, StringConstraints(pattern=r"^[A-Za-z0-9][A-Za-z0-9_-]{0,63}$", strict=True)
]

Slug = Annotated[str, StringConstraints(pattern=r"^[A-Za-z0-9][A-Za-z0-9_.-]{0,63}$", strict=True)]


def _utc(value: datetime) -> datetime:
    if value.tzinfo is None:
        raise ValueError("datetime must carry a timezone (UTC)")
    return value.astimezone(UTC)


UtcDatetime = Annotated[
    datetime,
    AfterValidator(_utc),
    # The original product's timestamps: "2026-01-26T09:20:03.439650+00:00".
    PlainSerializer(lambda v: v.isoformat(timespec="microseconds"), return_type=str),
]


class Model(BaseModel):
    """Base of every contract: unknown fields are ignored so that an older
    worker accepts input from a newer client."""

    model_config = ConfigDict(extra="ignore", frozen=False)


def session_workflow_id(project: str, session_id: str) -> str:
    """The ``Session`` workflow's id: the one place it is built. Ids are per
    project; ``:`` is in neither a project nor a session id, so the form is
    unambiguous and never one of the old form's."""
    return f"session-{project}:{session_id}"


def process_workflow_id(project: str, process_id: object) -> str:
    """The ``BusinessProcess`` workflow's id: the one place it is built."""
    return f"process-{project}:{process_id}"


def legacy_session_workflow_id(session_id: str) -> str:
    """A session's id before ids were per project (``session-<id>``): such a
    session is still found, after its project is checked."""
    return f"session-{session_id}"


def legacy_process_workflow_id(process_id: object) -> str:
    """A process's id before ids were per project (``process-<id>``)."""
    return f"process-{process_id}"


class SessionStatus(StrEnum):
    ACTIVE = "active"
    SUBMITTED = "submitted"
    EXPIRED = "expired"
    DELETED = "deleted"


class DeliveryStatus(StrEnum):
    """Where one delivery (one event to one webhook) stands; the transitions
    between them are in ``activities.contracts.states``."""

    PENDING = "pending"  # queued, or its next attempt on the ladder is due
    WAITING = "waiting"  # put off without an attempt: rate limit, open circuit, bulkhead
    DELIVERED = "delivered"
    FAILED = "failed"  # its ladder is exhausted (or it can never be sent)
    HELD = "held"  # paused webhook, or behind a failed delivery of the same stream
    SKIPPED = "skipped"  # the webhook was deleted


class Outcome(StrEnum):
    """How one attempt ended: the attempt log's ``outcome``."""

    DELIVERED = "delivered"
    RETRYING = "retrying"  # failed; the ladder has another step
    FAILED = "failed"  # failed; the ladder is exhausted
    GONE = "gone"  # 410: the webhook is disabled
    REFUSED = "refused"  # the address guard said no

    @property
    def status(self) -> DeliveryStatus:
        """The delivery's status after an attempt with this outcome."""
        if self is Outcome.DELIVERED:
            return DeliveryStatus.DELIVERED
        if self is Outcome.RETRYING:
            return DeliveryStatus.PENDING
        return DeliveryStatus.FAILED


class FailureType(StrEnum):
    """Stable ``type=`` strings of the ``ApplicationError``s activities and
    workflows raise; the Web UI and clients see these."""

    UNDELIVERED = "WebhookUndelivered"  # this attempt failed; Temporal retries
    EXHAUSTED = "DeliveryExhausted"  # every step of the ladder failed
    GONE = "WebhookGone"  # 410: the webhook is now disabled
    REFUSED = "DestinationRefused"  # the address guard said no
    UNAVAILABLE = "WebhookUnavailable"  # deleted meanwhile: its stream is dropped
    PAUSED = "WebhookPaused"  # disabled: its stream is held until it is enabled
    DISABLED = "WebhookDisabled"  # this delivery's failure disabled it (failing for days)
    THROTTLED = "WebhookThrottled"  # (histories only: put-offs are results now, never errors)
    INVALID = "DeliveryInvalid"  # this delivery can never be sent (a document is missing)
    REMOTE_DATA_FAILED = "RemoteDataFailed"  # a field_changed call got no usable answer


class ActivityName(StrEnum):
    """Activity names: workflows schedule activities by name, so that workflow
    code never imports the modules that implement them."""

    DELIVER = "deliver"
    FAILOVER = "failover"
    RESOLVE_WEBHOOKS = "resolve_webhooks"
    STORE_FILES = "store_files"
    RECORD_DELIVERIES = "record_deliveries"
    APPLY_RETENTION = "apply_retention"


MAX_SIGNAL_BYTES = 256 * 1024
