"""SQLModel tables of the configuration store and the delivery log.

Tables never cross the Temporal boundary: activities turn them into the
contracts of ``activities.contracts``.
"""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Any

from sqlalchemy import JSON, Column, ForeignKey, Index, Text, UniqueConstraint
from sqlmodel import Field, SQLModel

from activities.store.database import UTCDateTime, utcnow


class _Named(SQLModel):
    """A project's webhook or secret: its alias is unique in the project."""

    id: uuid.UUID = Field(default_factory=uuid.uuid4, primary_key=True)
    project: str = Field(index=True, max_length=64)
    alias: str = Field(max_length=100)


class Webhook(_Named, table=True):
    __tablename__ = "webhook"
    __table_args__ = (UniqueConstraint("project", "alias", name="uq_webhook_project_alias"),)

    type: str = Field(max_length=32)
    explicit: bool = False
    url: str = Field(max_length=2048)
    timeout: float = 30.0
    verify_ssl: bool = True
    headers: dict[str, str] = Field(default_factory=dict, sa_type=JSON)
    auth: str = Field(default="none", max_length=16)  # none | basic | custom | secret
    basic_username: str | None = None
    basic_password_enc: str | None = Field(default=None, sa_type=Text)
    custom_auth_enc: str | None = Field(default=None, sa_type=Text)
    secret_alias: str | None = None
    content_type: str = Field(default="json", max_length=8)
    accept: str = Field(default="json", max_length=8)
    retry_schedule: list[float] | None = Field(default=None, sa_type=JSON)
    signing_secret_enc: str | None = Field(default=None, sa_type=Text)
    # While a signing secret rotates, the previous one signs too until this time.
    previous_signing_secret_enc: str | None = Field(default=None, sa_type=Text)
    previous_signing_secret_until: datetime | None = Field(default=None, sa_type=UTCDateTime)
    failover_url: str | None = Field(default=None, max_length=2048)
    # Requests per second across every worker (None: no limit).
    rate_limit: float | None = None
    # Attempts under way at once on one worker (None: the worker's default cap).
    max_in_flight: int | None = None
    # A JMESPath expression on the envelope: only events it is truthy for are sent.
    filter: str | None = Field(default=None, sa_type=Text)
    # Mutual TLS: the client certificate chain and its key (PEM, encrypted), and
    # a private CA bundle trusted instead of the system's (PEM, public).
    client_cert_enc: str | None = Field(default=None, sa_type=Text)
    client_key_enc: str | None = Field(default=None, sa_type=Text)
    ca_bundle: str | None = Field(default=None, sa_type=Text)
    # How the archive carries documents: embed (base64) | link (signed URLs).
    documents: str = Field(
        default="embed", max_length=8, sa_column_kwargs={"server_default": "embed"}
    )
    # An embedded body above this many bytes is sent with links (None: the default).
    max_body_size: int | None = None
    enabled: bool = True
    disabled_reason: str | None = None
    created_at: datetime = Field(default_factory=utcnow, sa_type=UTCDateTime)
    updated_at: datetime = Field(default_factory=utcnow, sa_type=UTCDateTime)


class WebhookTemplate(SQLModel, table=True):
    """A coupling of an explicit webhook to a template."""

    __tablename__ = "webhook_template"

    webhook_id: uuid.UUID = Field(
        sa_column=Column(ForeignKey("webhook.id", ondelete="CASCADE"), primary_key=True)
    )
    template: str = Field(primary_key=True, index=True, max_length=64)


class Delivery(SQLModel, table=True):
    """One event sent to one webhook, with its outcome so far."""

    __tablename__ = "delivery"
    # Retention finds a project's oldest rows without reading the rest; a page
    # of a project's log (newest first, then by id) starts at its cursor.
    __table_args__ = (
        Index("ix_delivery_project_updated_at", "project", "updated_at"),
        Index("ix_delivery_project_created_at_id", "project", "created_at", "id"),
        Index("ix_delivery_created_at_id", "created_at", "id"),
    )

    id: str = Field(primary_key=True, max_length=200)
    project: str = Field(index=True, max_length=64)
    session_id: str = Field(index=True, max_length=64)
    webhook_id: uuid.UUID = Field(index=True)
    event_id: str = Field(max_length=128)
    event_type: str = Field(max_length=64)
    sequence: int
    status: str = Field(default="pending", index=True, max_length=16)
    attempts: int = 0
    status_code: int | None = None
    last_error: str | None = Field(default=None, sa_type=Text)
    envelope: dict[str, Any] = Field(default_factory=dict, sa_type=JSON)
    created_at: datetime = Field(default_factory=utcnow, sa_type=UTCDateTime)
    updated_at: datetime = Field(default_factory=utcnow, sa_type=UTCDateTime)
    # Pending after a failed attempt, or waiting: when the next attempt is due.
    next_attempt_at: datetime | None = Field(default=None, sa_type=UTCDateTime)


class Attempt(SQLModel, table=True):
    """One HTTP attempt of a delivery."""

    __tablename__ = "attempt"

    id: int | None = Field(default=None, primary_key=True)
    delivery_id: str = Field(index=True, max_length=200)
    attempt: int
    started_at: datetime = Field(sa_type=UTCDateTime)
    status_code: int | None = None
    latency_ms: float
    outcome: str = Field(max_length=16)  # delivered | retrying | failed | refused
    error: str | None = Field(default=None, sa_type=Text)
    response_excerpt: str | None = Field(default=None, sa_type=Text)
    # Sealed JSON (activities/log/headers.py): sent with credentials masked, received bounded.
    request_headers: str | None = Field(default=None, sa_type=Text)
    response_headers: str | None = Field(default=None, sa_type=Text)


class WebhookHealth(SQLModel, table=True):
    """A webhook's shared delivery state: its pace (rate limit) and its circuit.

    Every worker reads and changes it; ``version`` makes each change a
    compare-and-set, the same on SQLite and PostgreSQL.
    """

    __tablename__ = "webhook_health"

    webhook_id: uuid.UUID = Field(
        sa_column=Column(ForeignKey("webhook.id", ondelete="CASCADE"), primary_key=True)
    )
    version: int = 0
    # The earliest time the next request may go (a GCRA token bucket in one column).
    next_send_at: datetime | None = Field(default=None, sa_type=UTCDateTime)
    # Attempts failed in a row, across sessions and workers, and since when.
    streak: int = 0
    failing_since: datetime | None = Field(default=None, sa_type=UTCDateTime)
    # Circuit open: no probe before ``open_until``; a probe is out until ``probe_until``.
    open_until: datetime | None = Field(default=None, sa_type=UTCDateTime)
    probe_until: datetime | None = Field(default=None, sa_type=UTCDateTime)
    # When the circuit last closed: the recovery ramp counts from here.
    closed_at: datetime | None = Field(default=None, sa_type=UTCDateTime)


class ProjectSettings(SQLModel, table=True):
    """Settings of a project (tenant) as a whole."""

    __tablename__ = "project_settings"

    project: str = Field(primary_key=True, max_length=64)
    # A webhook failing every attempt this long is disabled (seconds; None:
    # the default, 0: never).
    disable_after: float | None = None
    # The delivery log, its documents and stored archives are kept this long
    # (seconds; None: the default, 30 days).
    retention: float | None = None
    # Of a worker's attempt places, what the project may hold while another
    # project wants some (a fraction above 0, at most 1; None: the worker's
    # HOOKFLOW_PROJECT_SHARE). Only an admin sets it.
    share: float | None = None
    updated_at: datetime = Field(default_factory=utcnow, sa_type=UTCDateTime)


class Secret(_Named, table=True):
    """A bearer-token source: a token endpoint and the credentials it takes."""

    __tablename__ = "secret"
    __table_args__ = (UniqueConstraint("project", "alias", name="uq_secret_project_alias"),)

    token_url: str = Field(max_length=2048)
    convention: str = Field(max_length=32)  # general | microsoft_graph
    # How the token request carries the fields: form-encoded, or one JSON object.
    token_format: str = Field(
        default="form", max_length=8, sa_column_kwargs={"server_default": "form"}
    )  # form | json
    # The convention's form fields, encrypted as one JSON map.
    credentials_enc: str = Field(sa_type=Text)
    created_at: datetime = Field(default_factory=utcnow, sa_type=UTCDateTime)


class Storage(SQLModel, table=True):
    """A project's built-in storage integration: where archived files are written."""

    __tablename__ = "storage"

    project: str = Field(primary_key=True, max_length=64)
    backend: str = Field(default="local", max_length=16)
    path: str = Field(max_length=500)  # relative path template, e.g. "{project}/{process_number}"
    zip: bool = False
    enabled: bool = True
    updated_at: datetime = Field(default_factory=utcnow, sa_type=UTCDateTime)


class SealedText(SQLModel, table=True):
    """A message that must not enter workflow history (a one-time password SMS)."""

    __tablename__ = "sealed_text"

    id: str = Field(primary_key=True, max_length=64)
    text_enc: str = Field(sa_type=Text)
    expires_at: datetime = Field(sa_type=UTCDateTime)


class ApiKey(SQLModel, table=True):
    """A key for the REST API and the pane: one project's, or every project's (admin).

    Only the SHA-256 of the key is stored; the key itself is shown once.
    """

    __tablename__ = "api_key"

    id: uuid.UUID = Field(default_factory=uuid.uuid4, primary_key=True)
    project: str | None = Field(default=None, index=True, max_length=64)  # None: admin
    name: str = Field(max_length=100)
    prefix: str = Field(max_length=16)  # the key's first characters, to tell keys apart
    key_hash: str = Field(unique=True, max_length=64)
    created_at: datetime = Field(default_factory=utcnow, sa_type=UTCDateTime)
    revoked_at: datetime | None = Field(default=None, sa_type=UTCDateTime)
