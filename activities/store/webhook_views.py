"""A webhook as every output shows it (``WebhookPublic``): secrets redacted, a
client certificate by its subject and expiry only, never its key."""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from datetime import datetime

from pydantic import BaseModel, Field

from activities.catalog import hook_type
from activities.delivery.retry import DEFAULT_SCHEDULE
from activities.delivery.signing import Kind, kind_of, public_key
from activities.delivery.tls import cert_info, check_ca_bundle
from activities.store.crypto import REDACTED, SecretBox
from activities.store.tables import Webhook
from activities.store.validation import is_credential_header
from activities.store.webhook_settings import DEFAULT_MAX_BODY


class ClientCertOut(BaseModel):
    """A webhook's client certificate as shown: that one is set, and which."""

    subject: str
    expires_at: datetime
    fingerprint: str = Field(description="SHA-256 of the certificate, hex.")


class WebhookPublic(BaseModel):
    """A webhook as every output shows it: secrets redacted."""

    id: uuid.UUID
    project: str
    alias: str
    type: str
    event: str
    explicit: bool
    templates: list[str]
    url: str
    timeout: float
    verify_ssl: bool
    headers: dict[str, str]
    auth: str
    basic_username: str | None
    basic_password: str | None
    custom_auth: dict[str, str] | None
    secret_alias: str | None
    content_type: str
    accept: str
    retry_schedule: list[float]
    signing_secret: str | None
    signature: Kind | None = None
    """How deliveries are signed: hmac (``v1``), ed25519 (``v1a``), None: not signed."""
    public_key: str | None = None
    """ed25519: the ``whpk_`` key receivers verify with."""
    previous_public_key: str | None = None
    """ed25519, while a key rotates: the previous key's, which also signs until
    ``signing_rotation_until``."""
    signing_rotation_until: datetime | None
    failover_url: str | None
    rate_limit: float | None
    max_in_flight: int | None
    filter: str | None = None
    client_certificate: ClientCertOut | None = None
    """Mutual TLS: the certificate presented (its key is never shown)."""
    ca_bundle: list[str] | None = None
    """The subjects of the CA certificates trusted for the endpoint, when set."""
    documents: str = "embed"
    """Archive documents: embed (base64) or link (signed download URLs)."""
    max_body_size: int = DEFAULT_MAX_BODY
    """Bytes; an embedded archive body above it goes with links."""
    enabled: bool
    disabled_reason: str | None
    created_at: datetime
    updated_at: datetime

    @property
    def integration_code(self) -> dict[str, str]:
        return {"type": "webhook", "uuid": str(self.id)}


def public(webhook: Webhook, *, templates: Sequence[str], box: SecretBox) -> WebhookPublic:
    custom = box.open_json(webhook.custom_auth_enc) if webhook.custom_auth_enc else None
    secret = box.open(webhook.signing_secret_enc) if webhook.signing_secret_enc else None
    previous_enc = webhook.previous_signing_secret_enc
    previous = box.open(previous_enc) if previous_enc else None
    return WebhookPublic(
        id=webhook.id,
        project=webhook.project,
        alias=webhook.alias,
        type=webhook.type,
        event=hook_type(webhook.type).event,
        explicit=webhook.explicit,
        templates=sorted(templates),
        url=webhook.url,
        timeout=webhook.timeout,
        verify_ssl=webhook.verify_ssl,
        # Rows stored before credential headers were refused show them redacted.
        headers={k: REDACTED if is_credential_header(k) else v for k, v in webhook.headers.items()},
        auth=webhook.auth,
        basic_username=webhook.basic_username,
        basic_password=REDACTED if webhook.basic_password_enc else None,
        custom_auth=dict.fromkeys(custom, REDACTED) if custom is not None else None,
        secret_alias=webhook.secret_alias,
        content_type=webhook.content_type,
        accept=webhook.accept,
        retry_schedule=list(webhook.retry_schedule or DEFAULT_SCHEDULE),
        signing_secret=secret.split("_", 1)[0] + "_" + REDACTED if secret else None,
        signature=kind_of(secret) if secret else None,
        public_key=public_key(secret) if secret else None,
        previous_public_key=public_key(previous) if previous else None,
        signing_rotation_until=webhook.previous_signing_secret_until
        if webhook.previous_signing_secret_enc
        else None,
        failover_url=webhook.failover_url,
        rate_limit=webhook.rate_limit,
        max_in_flight=webhook.max_in_flight,
        filter=webhook.filter,
        client_certificate=_client_cert(webhook, box),
        ca_bundle=check_ca_bundle(webhook.ca_bundle) if webhook.ca_bundle else None,
        documents=webhook.documents or "embed",
        max_body_size=webhook.max_body_size or DEFAULT_MAX_BODY,
        enabled=webhook.enabled,
        disabled_reason=webhook.disabled_reason,
        created_at=webhook.created_at,
        updated_at=webhook.updated_at,
    )


def _client_cert(webhook: Webhook, box: SecretBox) -> ClientCertOut | None:
    if not webhook.client_cert_enc:
        return None
    info = cert_info(box.open(webhook.client_cert_enc))
    return ClientCertOut(
        subject=info.subject, expires_at=info.not_after, fingerprint=info.fingerprint
    )
