"""The ``Session`` workflow's input, signal payloads and state."""

from __future__ import annotations

import uuid
import zlib
from typing import Annotated, Literal

from pydantic import Field, JsonValue, model_validator

from activities.contracts.base import (
    DEFAULT_RETENTION,
    HOOKFLOW_NAMESPACE,
    Model,
    SessionId,
    SessionStatus,
    Slug,
    UtcDatetime,
    session_workflow_id,
)
from activities.contracts.delivery import DeliveryCarry, DeliveryRecord, EventRecord, WebhookTarget
from activities.contracts.envelope import ClientInfo, FileRef, FormField, Recipient
from activities.contracts.limits import Deadline, Duration, Labels


class Integration(Model):
    """One explicit webhook named for one session (the ad hoc integration)."""

    type: Literal["webhook"] = "webhook"
    uuid: uuid.UUID


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
    labels: Labels = Field(default_factory=dict)
    expires_in: Duration | None = None
    expires_at: Annotated[UtcDatetime, Deadline] | None = None
    retention: Duration = DEFAULT_RETENTION
    integrations: list[Integration] = Field(default_factory=list, max_length=50)
    link: str | None = Field(default=None, max_length=2048, description="The session's form link.")
    locale: str = Field(default="en", max_length=16)
    reminder_after: Duration | None = Field(
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
        return session_workflow_id(self.project, self.id)


class SignalPayload(Model):
    """Every signal may carry an ``event_id``: a repeated id is one event."""

    event_id: str | None = Field(default=None, min_length=1, max_length=128)


class ClientSignal(SignalPayload):
    client: ClientInfo | None = None


class FormSubmittedSignal(ClientSignal):
    form_data: dict[str, JsonValue] = Field(default_factory=dict)
    attachments: list[FileRef] = Field(default_factory=list)
    document: FileRef | None = None


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
    storage: dict[str, JsonValue] = Field(default_factory=dict)


class RedeliverSignal(Model):
    """Payload of the ``redeliver`` signal: this webhook's failed deliveries
    (those named, or all) go again, with the ones held behind them, in order."""

    webhook_id: uuid.UUID
    event_ids: list[str] | None = Field(default=None, max_length=10_000)


class ResumeSignal(Model):
    """Payload of the ``webhook_resumed`` signal: the webhook was enabled again."""

    webhook_id: uuid.UUID


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
