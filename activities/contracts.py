"""Models that cross the Temporal boundary.

Workflows, activities and clients all import this module; every workflow
input, signal payload, activity argument and result is one of these models
and travels as plain JSON (``pydantic_data_converter``), so a client in any
language, or the ``temporal`` CLI, can drive a session. Nothing here holds a
secret: activities load credentials from the database by webhook id.
"""

from __future__ import annotations

import uuid
import zlib
from datetime import UTC, datetime, timedelta
from enum import StrEnum
from typing import Annotated, Any, Literal

from pydantic import (
    AfterValidator,
    BaseModel,
    ConfigDict,
    Field,
    JsonValue,
    PlainSerializer,
    StringConstraints,
    model_validator,
)

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


class SessionStatus(StrEnum):
    ACTIVE = "active"
    SUBMITTED = "submitted"
    EXPIRED = "expired"
    DELETED = "deleted"


# --- session input -----------------------------------------------------------


class Recipient(Model):
    id: int = Field(default=1, ge=0, description="Position in the business process.")
    name: str = Field(default="client", max_length=100, description="Role name.")
    phone: str | None = Field(default=None, max_length=32)
    email: str | None = Field(default=None, max_length=254)


class Integration(Model):
    """One explicit webhook named for one session (the ad hoc integration)."""

    type: Literal["webhook"] = "webhook"
    uuid: uuid.UUID


class DeliveryCarry(Model):
    """A delivery not finished when a session continued as new."""

    target: WebhookTarget
    envelope: Envelope


class SessionCarry(Model):
    """What a session hands to its next run when it continues as new."""

    sequence: int
    status: SessionStatus
    seen_event_ids: list[str]
    expires_at: UtcDatetime
    delete_at: UtcDatetime | None
    events: list[EventRecord]
    deliveries: list[DeliveryRecord]
    problems: list[str]
    pending: list[DeliveryCarry]
    logged_in: bool = False
    reminder_at: UtcDatetime | None = None


class CreateSession(Model):
    """Input of the ``Session`` workflow (only ``id`` and ``project`` are required).

    Durations are seconds or ISO 8601 (``P7D``); ids the workflow would
    otherwise invent are derived deterministically from the session id.
    """

    id: SessionId
    project: Slug
    template: Slug | None = None
    process_id: uuid.UUID | None = None
    process_number: int | None = Field(default=None, ge=0)
    transaction_number: int | None = Field(default=None, ge=0)
    recipient: Recipient = Field(default_factory=Recipient)
    labels: dict[str, str] = Field(default_factory=dict)
    expires_in: timedelta | None = None
    expires_at: UtcDatetime | None = None
    retention: timedelta = DEFAULT_RETENTION
    integrations: list[Integration] = Field(default_factory=list, max_length=50)
    link: str | None = Field(default=None, max_length=2048, description="The session's form link.")
    locale: str = Field(default="en", max_length=16)
    reminder_after: timedelta | None = Field(
        default=None, description="SMS reminder when the client has not logged in by then."
    )
    standalone: bool = Field(
        default=True, description="False for a station of a BusinessProcess (it archives)."
    )
    resume: SessionCarry | None = Field(
        default=None, description="Internal: state carried across continue-as-new."
    )

    @model_validator(mode="after")
    def _derive_ids(self) -> CreateSession:
        if self.expires_in is not None and self.expires_at is not None:
            raise ValueError("give expires_in or expires_at, not both")
        for name in ("expires_in", "retention"):
            value = getattr(self, name)
            if value is not None and value.total_seconds() < 0:
                raise ValueError(f"{name} must not be negative")
        if self.process_id is None:
            self.process_id = uuid.uuid5(HOOKFLOW_NAMESPACE, f"process:{self.id}")
        number = zlib.crc32(self.id.encode()) % 1_000_000
        if self.process_number is None:
            self.process_number = number
        if self.transaction_number is None:
            self.transaction_number = number
        return self

    @property
    def workflow_id(self) -> str:
        return f"session-{self.id}"


# --- signal payloads ---------------------------------------------------------


class ClientInfo(Model):
    ip: str | None = Field(default=None, max_length=64)
    user_agent: str | None = Field(default=None, max_length=1024)
    channel: str | None = Field(default=None, max_length=32)


class SignalPayload(Model):
    """Every signal may carry an ``event_id``: a repeated id is one event."""

    event_id: str | None = Field(default=None, min_length=1, max_length=128)


class ClientSignal(SignalPayload):
    client: ClientInfo | None = None


class FileRef(Model):
    name: str = Field(max_length=255)
    content_type: str = Field(default="application/octet-stream", max_length=255)
    ref: str = Field(max_length=512)


class FormSubmittedSignal(ClientSignal):
    form_data: dict[str, Any] = Field(default_factory=dict)
    attachments: list[FileRef] = Field(default_factory=list)
    document: FileRef | None = None


class FormField(Model):
    """A form field as the form sends it."""

    id: str = Field(max_length=200)
    type: str = Field(default="text", max_length=50)
    value: JsonValue = None


class FieldChange(ClientSignal):
    """Payload of the ``field_changed`` update: the field that changed and the
    fields mapped to the remote-data call."""

    change: FormField
    fields: list[FormField] = Field(default_factory=list, max_length=500)


class FieldValue(Model):
    """One value the remote-data endpoint sends back to fill the form."""

    id: str = Field(max_length=200)
    value: JsonValue = None


class SmsSignal(SignalPayload):
    """Payload of ``send_sms``: a message for the recipient (reminder, one-time password).

    A one-time password travels sealed (``text_ref`` from ``hookflow sms seal``),
    so that it never enters workflow history.
    """

    purpose: Literal["invitation", "reminder", "otp", "notice"] = "notice"
    text: str | None = Field(default=None, min_length=1, max_length=1600)
    text_ref: str | None = Field(default=None, pattern=r"^sealed_[0-9a-f]{32}$")

    @model_validator(mode="after")
    def _one_text(self) -> SmsSignal:
        if (self.text is None) == (self.text_ref is None):
            raise ValueError("give text or text_ref")
        if self.purpose == "otp" and self.text is not None:
            raise ValueError("a one-time password is sent sealed: use text_ref (hookflow sms seal)")
        return self


class StorageSignal(SignalPayload):
    storage: dict[str, Any] = Field(default_factory=dict)


# --- envelope ----------------------------------------------------------------


class StationResult(Model):
    """One session as an archive lists it: author, submission details, data and files."""

    id: str
    reference: str
    transaction_number: int
    template: str | None = None
    recipient: Recipient
    submission: dict[str, Any] = Field(default_factory=dict)
    form_data: dict[str, Any] = Field(default_factory=dict)
    attachments: list[FileRef] = Field(default_factory=list)
    document: FileRef | None = None


class EventInfo(Model):
    id: str
    type: str
    timestamp: UtcDatetime
    sequence: int


class RecipientRef(Model):
    id: int
    name: str


class SessionInfo(Model):
    id: str
    reference: str
    process_id: str
    process_number: int
    transaction_number: int
    recipient: RecipientRef
    labels: dict[str, str]


class Envelope(Model):
    """The body every webhook receives; optional parts are left out when unset."""

    event: EventInfo
    session: SessionInfo
    client: ClientInfo | None = None
    form_data: dict[str, Any] | None = None
    attachments: list[FileRef] | None = None
    document: FileRef | None = None
    storage: dict[str, Any] | None = None
    change: FormField | None = None
    fields: list[FormField] | None = None
    # Send SMS: one fixed body.
    to: str | None = None
    text: str | None = None
    text_ref: str | None = None  # opened by the delivery activity, never sent as such
    purpose: str | None = None
    link: str | None = None
    locale: str | None = None
    # Archive: every session of the process.
    sessions: list[StationResult] | None = None
    # Hook types added to the catalog carry their payload here.
    data: dict[str, Any] | None = None

    def body(self) -> dict[str, Any]:
        body = self.model_dump(mode="json", exclude_none=True)
        # A field's value may be null, and the receiver should see it so.
        for name in ("change", "fields"):
            if getattr(self, name) is not None:
                body[name] = self.model_dump(mode="json", include={name})[name]
        return body


# --- webhook resolution and delivery -------------------------------------------


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
    webhook_id: uuid.UUID
    project: str
    envelope: Envelope
    retry_schedule: list[float]
    timeout: float | None = Field(
        default=None, description="Cap on the webhook's own timeout (remote data)."
    )


class DeliveryResult(Model):
    status_code: int
    attempt: int
    latency_ms: float
    response: Any = None


class DeliveryError(StrEnum):
    """Stable ``type=`` strings of the failures the delivery activity raises."""

    UNDELIVERED = "WebhookUndelivered"  # this attempt failed; Temporal retries
    EXHAUSTED = "DeliveryExhausted"  # every step of the ladder failed
    GONE = "WebhookGone"  # 410: the webhook is now disabled
    REFUSED = "DestinationRefused"  # the address guard said no
    UNAVAILABLE = "WebhookUnavailable"  # deleted or disabled meanwhile
    INVALID = "DeliveryInvalid"  # this delivery can never be sent (a document is missing)


class DeliveryStatus(StrEnum):
    PENDING = "pending"
    DELIVERED = "delivered"
    FAILED = "failed"
    SKIPPED = "skipped"


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


class SessionState(Model):
    """Answer of the ``state`` query."""

    id: str
    project: str
    status: SessionStatus
    sequence: int
    expires_at: UtcDatetime
    delete_at: UtcDatetime | None
    webhooks: list[WebhookTarget]
    events: list[EventRecord]
    deliveries: list[DeliveryRecord]
    problems: list[str]


DeliveryCarry.model_rebuild()
SessionCarry.model_rebuild()
CreateSession.model_rebuild()


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


class Station(Model):
    """One session of a business process, in order."""

    template: Slug | None = None
    recipient: Recipient = Field(default_factory=Recipient)
    labels: dict[str, str] = Field(default_factory=dict)
    expires_in: timedelta | None = None
    link: str | None = Field(default=None, max_length=2048)


class CreateProcess(Model):
    """Input of the ``BusinessProcess`` workflow: its sessions (stations) in order."""

    id: uuid.UUID
    project: Slug
    process_number: int | None = Field(default=None, ge=0)
    labels: dict[str, str] = Field(default_factory=dict)
    integrations: list[Integration] = Field(default_factory=list, max_length=50)
    sessions: list[Station] = Field(min_length=1, max_length=50)
    expires_in: timedelta | None = None
    retention: timedelta = DEFAULT_RETENTION
    locale: str = Field(default="en", max_length=16)

    @model_validator(mode="after")
    def _derive(self) -> CreateProcess:
        if self.process_number is None:
            self.process_number = zlib.crc32(self.id.bytes) % 1_000_000
        return self

    @property
    def workflow_id(self) -> str:
        return f"process-{self.id}"

    def station_id(self, position: int) -> str:
        """The session id of the station at ``position`` (1-based), derived from the process."""
        return f"{self.id.hex}-{position}"


class ProcessStatus(StrEnum):
    ACTIVE = "active"
    ARCHIVED = "archived"
    EXPIRED = "expired"


class StationState(Model):
    position: int
    session_id: str
    template: str | None
    recipient: str
    status: Literal["waiting", "active", "submitted", "expired"]


class ProcessState(Model):
    """Answer of the process's ``state`` query."""

    id: str
    project: str
    status: ProcessStatus
    stations: list[StationState]
    deliveries: list[DeliveryRecord]
    problems: list[str]


class FailoverInput(Model):
    webhook_id: uuid.UUID
    project: str
    envelope: Envelope


# The signals of a ``Session`` and the payload each takes.
SESSION_SIGNALS: dict[str, type[SignalPayload]] = {
    "client_logged_in": ClientSignal,
    "form_loaded": ClientSignal,
    "form_submitted": FormSubmittedSignal,
    "storage_completed": StorageSignal,
    "send_sms": SmsSignal,
    "expire": SignalPayload,
    "delete": SignalPayload,
}
MAX_SIGNAL_BYTES = 256 * 1024
REMOTE_DATA_FAILED = "RemoteDataFailed"
