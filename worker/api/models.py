"""What goes in and comes out of the REST API (``XIn`` / ``XOut``, as Svix names them).

Request models extend the configuration and contract models, so the API takes
exactly what the command line and the ``temporal`` CLI take; ``project`` is
optional where the key names it.
"""

from __future__ import annotations

import uuid
from datetime import UTC, datetime
from typing import Any, Literal

from pydantic import (
    BaseModel,
    ConfigDict,
    Field,
    JsonValue,
    StrictFloat,
    StrictStr,
    field_validator,
    model_validator,
)

from activities.contracts import MAX_SIGNAL_BYTES, CreateProcess, CreateSession, Slug
from activities.delivery.signing import Kind
from activities.errors import TooLarge
from activities.store.secrets import SecretCreate
from activities.store.webhooks import WebhookPublic, WebhookSettings
from worker.api.limits import json_size
from worker.services.sessions import new_session_id


def _hide_resume(schema: dict[str, Any]) -> None:
    schema.get("properties", {}).pop("resume", None)


class WebhookIn(WebhookSettings):
    """A new webhook: every field of the pane and of ``webhooks add``."""

    project: Slug | None = Field(default=None, description="Default: the key's project.")
    alias: str
    type: str = Field(description="A type of the catalog (GET /api/v1/hook-types).")
    url: str


class WebhookPatch(WebhookSettings):
    """Fields to change; the others stay. A new ``signing_secret`` rotates: the
    previous one keeps signing for ``signing_grace`` seconds; ``""`` stops signing."""


class WebhookOut(WebhookPublic):
    integration: dict[str, str] | None = Field(
        default=None, description="Explicit webhooks: the entry for create-session integrations."
    )


class RotateIn(BaseModel):
    model_config = ConfigDict(extra="forbid")

    grace: float = Field(default=24 * 3600.0, ge=0, le=30 * 86400, description="Seconds.")
    signature: Kind | None = Field(default=None, description="Default: the current kind.")


class RotatedOut(BaseModel):
    """The new signing secret, shown this once (hmac); ed25519: the new public key."""

    signing_secret: str | None
    public_key: str | None = None
    previous_signs_until: datetime | None


class SecretIn(SecretCreate):
    project: Slug | None = None  # type: ignore[assignment]


class SessionIn(CreateSession):
    """The create-session request of the contract; ``id`` is generated when absent."""

    model_config = ConfigDict(json_schema_extra=_hide_resume)

    id: str = Field(  # the contract's pattern is checked again on CreateSession
        default_factory=new_session_id, pattern=r"^[A-Za-z0-9][A-Za-z0-9_-]{0,63}$"
    )
    project: Slug | None = None  # type: ignore[assignment]

    @model_validator(mode="before")
    @classmethod
    def _no_resume(cls, data: Any) -> Any:
        if isinstance(data, dict) and "resume" in data:
            raise ValueError("unknown field 'resume' in the create-session request")
        return data


class ProcessIn(CreateProcess):
    """The create-process request of the contract; ``id`` is generated when absent."""

    id: uuid.UUID = Field(default_factory=uuid.uuid4)
    project: Slug | None = None  # type: ignore[assignment]


class Started(BaseModel):
    id: str
    workflow_id: str
    project: str
    temporal_ui: str | None = None


class SignalIn(BaseModel):
    """Any signal payload (each signal's model checks it); may carry ``event_id``."""

    model_config = ConfigDict(extra="allow")

    event_id: str | None = None


def signal_body(body: SignalIn | None) -> dict[str, Any]:
    """The payload a signal sends; 413 above what a session takes in one signal."""
    payload = body.model_dump(exclude_none=True) if body else {}
    if json_size(payload) > MAX_SIGNAL_BYTES:
        raise TooLarge(f"a signal's payload is at most {MAX_SIGNAL_BYTES // 1024} KiB")
    return payload


class SignalOut(BaseModel):
    session: str
    signal: str
    sent: bool = True


class DeliveryOut(BaseModel):
    id: str
    project: str
    session_id: str
    webhook_id: uuid.UUID
    webhook_alias: str | None
    event_id: str
    event_type: str
    sequence: int
    status: str
    attempts: int
    status_code: int | None
    last_error: str | None
    next_attempt_at: datetime | None = Field(
        default=None,
        description="When the next attempt is due (pending after a failure, or waiting).",
    )
    latency_ms: float | None = Field(description="Of the last attempt.")
    response_excerpt: str | None = Field(description="Of the last attempt, up to 1 KiB.")
    created_at: datetime
    updated_at: datetime


class AttemptOut(BaseModel):
    attempt: int
    started_at: datetime
    outcome: str
    status_code: int | None
    latency_ms: float
    error: str | None
    response_excerpt: str | None
    request_headers: dict[str, str] = Field(
        default_factory=dict,
        description="The headers sent, credentials and signatures masked ('Bearer ****').",
    )
    response_headers: dict[str, str] = Field(
        default_factory=dict,
        description="The headers received (none without an answer), bounded to 50 and 8 KiB.",
    )


class DeliveryDetail(DeliveryOut):
    envelope: dict[str, JsonValue]
    attempt_log: list[AttemptOut]


class RedeliverWindowIn(BaseModel):
    """A webhook's failed (or held) deliveries created in [since, until)."""

    model_config = ConfigDict(extra="forbid")

    webhook: str = Field(description="UUID or alias.", max_length=200)
    project: Slug | None = None
    status: Literal["failed", "held"] = "failed"
    since: datetime | None = None
    until: datetime | None = None

    @field_validator("since", "until")
    @classmethod
    def _utc(cls, value: datetime | None) -> datetime | None:
        if value is not None and value.tzinfo is None:
            return value.replace(tzinfo=UTC)
        return value


class RedeliveryOut(BaseModel):
    total: int = Field(description="Deliveries sent again.")
    workflow_ids: list[str]
    waited: bool
    delivered: int
    failed: int
    errors: list[str]


class DocumentOut(BaseModel):
    """The entry a signal takes (``document`` or ``attachments``)."""

    name: str
    content_type: str
    ref: str
    size: int
    project: str | None = Field(default=None, description="The project it belongs to.")


class ProjectOut(BaseModel):
    """A project's settings, defaults where none is set (as ``projects show --json``)."""

    project: str
    retention: float = Field(
        description="Seconds the delivery log, documents and stored archives are kept."
    )
    retention_text: str = Field(description="The retention for a person: '30 days'.")
    retention_default: bool = Field(description="True: the default (30 days) applies.")
    disable_after: float | None = Field(
        description="Seconds of failing before a webhook is disabled (None: never)."
    )
    disable_after_default: bool
    share: float = Field(
        description="Of a worker's attempt places, the fraction the project may hold "
        "while another project wants some."
    )
    share_default: bool = Field(description="True: the worker's HOOKFLOW_PROJECT_SHARE applies.")


class ProjectPatch(BaseModel):
    """Settings to change; the others stay."""

    model_config = ConfigDict(extra="forbid")

    retention: str | None = Field(
        default=None,
        max_length=32,
        description="A duration between 1h and 3650d (e.g. '30d', '12h'), or 'default'.",
        examples=["30d"],
    )
    share: StrictFloat | StrictStr | None = Field(
        default=None,
        description="Admin keys only: a fraction above 0 and at most 1 (e.g. 0.3), or 'default'.",
        examples=[0.3],
    )
