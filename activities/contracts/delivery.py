"""Webhook resolution, one delivery in and out, and a delivery's record."""

from __future__ import annotations

import uuid
from typing import Literal

from pydantic import Field, JsonValue

from activities.contracts.base import DeliveryStatus, Model, UtcDatetime
from activities.contracts.envelope import Envelope


class WebhookTarget(Model):
    """The non-secret facts a workflow needs to schedule deliveries to a webhook."""

    id: uuid.UUID
    alias: str
    type: str
    host: str
    timeout: float
    retry_schedule: list[float]
    reason: Literal["implicit", "template", "integration", "redelivery"]


class ResolveWebhooks(Model):
    project: str
    template: str | None = None
    integrations: list[uuid.UUID] = Field(default_factory=list)


class ResolvedWebhooks(Model):
    targets: list[WebhookTarget]
    problems: list[str] = Field(default_factory=list)


class DeliverInput(Model):
    """One delivery activity: ``envelope``, then (only once it is delivered)
    the ``following`` events of the same (session, webhook) stream, in order.

    Each event is its own attempt with its own ``webhook-id`` and attempt-log
    row. The ladder applies to ``envelope``: the activity raises for it as for
    a single delivery. A following event that fails is not retried here: the
    activity returns what it delivered, and the workflow schedules the rest
    again, starting with that event at ladder step ``attempt_offset`` + 1.
    """

    webhook_id: uuid.UUID
    project: str
    envelope: Envelope
    retry_schedule: list[float]
    timeout: float | None = Field(
        default=None, description="Cap on the webhook's own timeout (remote data)."
    )
    following: list[Envelope] = Field(default_factory=list)
    attempt_offset: int = Field(
        default=0, ge=0, description="Attempts of ``envelope`` already made by an earlier batch."
    )
    remote: bool = Field(
        default=False,
        description="A remote-data call: an answer that is not [{id, value}] is refused.",
    )
    redelivery: bool = Field(
        default=False,
        description="Asked again (a redelivery): its attempts may move a delivered row.",
    )


class SentEvent(Model):
    """One following event of a batch, delivered."""

    event_id: str
    status_code: int
    latency_ms: float
    skipped: str | None = Field(
        default=None, description="Not sent: why the webhook's filter left it out."
    )


class Waiting(Model):
    """The head of a batch was put off without an attempt (rate limit, open
    circuit, bulkhead): the stream tries again after ``seconds``."""

    seconds: float = Field(ge=0)
    reason: str
    attempts: int = Field(
        ge=0, description="Attempts of the head made so far on its ladder (none by this put-off)."
    )


class DeliveryResult(Model):
    """``envelope`` delivered (its status, attempt and latency), then the
    ``following`` events delivered in order; ``stopped`` says why the next one
    was not (it failed once, and stays queued). With ``waiting``, nothing was
    sent: the stream waits, and no attempt was used. ``skipped`` (of the head or
    a following event): the webhook's filter left it out, recorded ``skipped``
    by the activity, settled with no attempt."""

    status_code: int = 0
    attempt: int = 0
    latency_ms: float = 0.0
    response: JsonValue = None
    following: list[SentEvent] = Field(default_factory=list)
    stopped: str | None = None
    waiting: Waiting | None = None
    skipped: str | None = Field(
        default=None, description="``envelope`` not sent: why the webhook's filter left it out."
    )


class FailoverInput(Model):
    webhook_id: uuid.UUID
    project: str
    envelope: Envelope


class EventRecord(Model):
    id: str
    type: str
    sequence: int
    timestamp: UtcDatetime


class DeliveryRecord(Model):
    sequence: int
    event_id: str
    event_type: str
    webhook_id: uuid.UUID
    webhook_alias: str
    status: DeliveryStatus = DeliveryStatus.PENDING
    attempts: int = 0
    status_code: int | None = None
    error: str | None = None
    next_attempt_at: UtcDatetime | None = None
    """When the next attempt is due (pending after a failed attempt, or waiting)."""

    @classmethod
    def of(cls, target: WebhookTarget, envelope: Envelope) -> DeliveryRecord:
        """A pending delivery of ``envelope`` to ``target``."""
        event = envelope.event
        return cls(
            sequence=event.sequence,
            event_id=event.id,
            event_type=event.type,
            webhook_id=target.id,
            webhook_alias=target.alias,
        )


class DeliveryCarry(Model):
    """A delivery not yet delivered when a session continued as new."""

    target: WebhookTarget
    envelope: Envelope
    status: DeliveryStatus = DeliveryStatus.PENDING
    attempts: int = 0
    error: str | None = None
    offset: int = Field(default=0, ge=0, description="Attempts made on the current ladder.")


class DeliveryMark(Model):
    """A transition the session decided itself (held, released, skipped, failed),
    for the delivery log; ``envelope`` creates the row when it has none yet."""

    webhook_id: uuid.UUID
    envelope: Envelope
    status: DeliveryStatus
    error: str | None = None
    next_attempt_at: UtcDatetime | None = None


class RecordDeliveries(Model):
    project: str
    marks: list[DeliveryMark] = Field(min_length=1)


class Redeliver(Model):
    """Input of the ``Redeliver`` workflow: deliveries sent again, in order per webhook."""

    project: str
    items: list[DeliveryCarry] = Field(min_length=1)


class RedeliverProgress(Model):
    total: int
    delivered: int = 0
    failed: int = 0
    errors: list[str] = Field(default_factory=list)

    @property
    def done(self) -> int:
        return self.delivered + self.failed


# --- the storage integration ---------------------------------------------------


class StoreInput(Model):
    project: str
    template: str | None = None
    envelope: Envelope


class StoredFiles(Model):
    backend: str
    path: str
    files: list[str]
    zipped: bool
    bytes: int
    status: str = "stored"
