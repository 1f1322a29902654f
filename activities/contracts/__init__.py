"""Models that cross the Temporal boundary.

Workflows, activities and clients all import this package; every workflow
input, signal payload, activity argument and result is one of these models
and travels as plain JSON (``pydantic_data_converter``), so a client in any
language, or the ``temporal`` CLI, can drive a session. Nothing here holds a
secret: activities load credentials from the database by webhook id.
"""

from __future__ import annotations

from activities.contracts.base import (
    DEFAULT_EXPIRES_IN as DEFAULT_EXPIRES_IN,
)
from activities.contracts.base import (
    DEFAULT_RETENTION as DEFAULT_RETENTION,
)
from activities.contracts.base import (
    HOOKFLOW_NAMESPACE as HOOKFLOW_NAMESPACE,
)
from activities.contracts.base import (
    MAX_SIGNAL_BYTES as MAX_SIGNAL_BYTES,
)
from activities.contracts.base import (
    ActivityName as ActivityName,
)
from activities.contracts.base import (
    DeliveryStatus as DeliveryStatus,
)
from activities.contracts.base import (
    FailureType as FailureType,
)
from activities.contracts.base import (
    Model as Model,
)
from activities.contracts.base import (
    Outcome as Outcome,
)
from activities.contracts.base import (
    SessionId as SessionId,
)
from activities.contracts.base import (
    SessionStatus as SessionStatus,
)
from activities.contracts.base import (
    Slug as Slug,
)
from activities.contracts.base import (
    UtcDatetime as UtcDatetime,
)
from activities.contracts.delivery import (
    DeliverInput as DeliverInput,
)
from activities.contracts.delivery import (
    DeliveryCarry as DeliveryCarry,
)
from activities.contracts.delivery import (
    DeliveryRecord as DeliveryRecord,
)
from activities.contracts.delivery import (
    DeliveryResult as DeliveryResult,
)
from activities.contracts.delivery import (
    EventRecord as EventRecord,
)
from activities.contracts.delivery import (
    FailoverInput as FailoverInput,
)
from activities.contracts.delivery import (
    Redeliver as Redeliver,
)
from activities.contracts.delivery import (
    RedeliverProgress as RedeliverProgress,
)
from activities.contracts.delivery import (
    ResolvedWebhooks as ResolvedWebhooks,
)
from activities.contracts.delivery import (
    ResolveWebhooks as ResolveWebhooks,
)
from activities.contracts.delivery import (
    StoredFiles as StoredFiles,
)
from activities.contracts.delivery import (
    StoreInput as StoreInput,
)
from activities.contracts.delivery import (
    WebhookTarget as WebhookTarget,
)
from activities.contracts.envelope import (
    ClientInfo as ClientInfo,
)
from activities.contracts.envelope import (
    Envelope as Envelope,
)
from activities.contracts.envelope import (
    EventInfo as EventInfo,
)
from activities.contracts.envelope import (
    FileRef as FileRef,
)
from activities.contracts.envelope import (
    FormField as FormField,
)
from activities.contracts.envelope import (
    Recipient as Recipient,
)
from activities.contracts.envelope import (
    RecipientRef as RecipientRef,
)
from activities.contracts.envelope import (
    SessionInfo as SessionInfo,
)
from activities.contracts.envelope import (
    StationResult as StationResult,
)
from activities.contracts.process import (
    CreateProcess as CreateProcess,
)
from activities.contracts.process import (
    ProcessState as ProcessState,
)
from activities.contracts.process import (
    ProcessStatus as ProcessStatus,
)
from activities.contracts.process import (
    Station as Station,
)
from activities.contracts.process import (
    StationState as StationState,
)
from activities.contracts.session import (
    ClientSignal as ClientSignal,
)
from activities.contracts.session import (
    CreateSession as CreateSession,
)
from activities.contracts.session import (
    FieldChange as FieldChange,
)
from activities.contracts.session import (
    FieldValue as FieldValue,
)
from activities.contracts.session import (
    FormSubmittedSignal as FormSubmittedSignal,
)
from activities.contracts.session import (
    Integration as Integration,
)
from activities.contracts.session import (
    SessionCarry as SessionCarry,
)
from activities.contracts.session import (
    SessionState as SessionState,
)
from activities.contracts.session import (
    SignalPayload as SignalPayload,
)
from activities.contracts.session import (
    SmsSignal as SmsSignal,
)
from activities.contracts.session import (
    StorageSignal as StorageSignal,
)

for _model in (DeliveryCarry, SessionCarry, CreateSession, SessionState, Redeliver):
    _model.model_rebuild()
