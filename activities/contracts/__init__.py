"""Models that cross the Temporal boundary.

Workflows, activities and clients all import this package; every workflow
input, signal payload, activity argument and result is one of these models
and travels as plain JSON (``pydantic_data_converter``), so a client in any
language, or the ``temporal`` CLI, can drive a session. Nothing here holds a
secret: activities load credentials from the database by webhook id.
"""

from __future__ import annotations

from activities.contracts.base import (
    DEFAULT_EXPIRES_IN,
    DEFAULT_RETENTION,
    HOOKFLOW_NAMESPACE,
    MAX_SIGNAL_BYTES,
    ActivityName,
    DeliveryStatus,
    FailureType,
    Model,
    Outcome,
    SessionId,
    SessionStatus,
    Slug,
    UtcDatetime,
)
from activities.contracts.delivery import (
    DeliverInput,
    DeliveryCarry,
    DeliveryRecord,
    DeliveryResult,
    EventRecord,
    FailoverInput,
    Redeliver,
    RedeliverProgress,
    ResolvedWebhooks,
    ResolveWebhooks,
    SentEvent,
    StoredFiles,
    StoreInput,
    WebhookTarget,
)
from activities.contracts.envelope import (
    ClientInfo,
    Envelope,
    EventInfo,
    FileRef,
    FormField,
    Recipient,
    RecipientRef,
    SessionInfo,
    StationResult,
)
from activities.contracts.process import (
    CreateProcess,
    ProcessState,
    ProcessStatus,
    Station,
    StationState,
)
from activities.contracts.session import (
    ClientSignal,
    CreateSession,
    FieldChange,
    FieldValue,
    FormSubmittedSignal,
    Integration,
    RedeliverSignal,
    ResumeSignal,
    SessionCarry,
    SessionState,
    SignalPayload,
    SmsSignal,
    StorageSignal,
)

__all__ = [
    "ActivityName",
    "ClientInfo",
    "ClientSignal",
    "CreateProcess",
    "CreateSession",
    "DEFAULT_EXPIRES_IN",
    "DEFAULT_RETENTION",
    "DeliverInput",
    "DeliveryCarry",
    "DeliveryRecord",
    "DeliveryResult",
    "DeliveryStatus",
    "Envelope",
    "EventInfo",
    "EventRecord",
    "FailoverInput",
    "FailureType",
    "FieldChange",
    "FieldValue",
    "FileRef",
    "FormField",
    "FormSubmittedSignal",
    "HOOKFLOW_NAMESPACE",
    "Integration",
    "MAX_SIGNAL_BYTES",
    "Model",
    "Outcome",
    "ProcessState",
    "ProcessStatus",
    "Recipient",
    "RecipientRef",
    "Redeliver",
    "RedeliverSignal",
    "ResumeSignal",
    "RedeliverProgress",
    "ResolveWebhooks",
    "ResolvedWebhooks",
    "SentEvent",
    "SessionCarry",
    "SessionId",
    "SessionInfo",
    "SessionState",
    "SessionStatus",
    "SignalPayload",
    "Slug",
    "SmsSignal",
    "Station",
    "StationResult",
    "StationState",
    "StorageSignal",
    "StoreInput",
    "StoredFiles",
    "UtcDatetime",
    "WebhookTarget",
]

for _model in (DeliveryCarry, SessionCarry, CreateSession, SessionState, Redeliver):
    _model.model_rebuild()
