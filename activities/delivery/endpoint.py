"""A webhook as the delivery activity needs it: URL, headers and credentials in the clear.

An ``Endpoint`` lives only inside one activity attempt; it is never logged,
returned or passed to a workflow.
"""

from __future__ import annotations

import asyncio
import base64
import time
import uuid
from dataclasses import dataclass, field

from sqlalchemy.engine import Engine
from sqlmodel import Session

from activities.delivery.formats import MEDIA_TYPES
from activities.delivery.redaction import redact, redact_bytes
from activities.delivery.signing import signature_header
from activities.delivery.tls import WebhookTls
from activities.delivery.tokens import TokenSource
from activities.errors import EndpointPaused, EndpointUnavailable
from activities.schemas import HEADER as SCHEMA_HEADER
from activities.schemas import schema_name
from activities.store.crypto import SecretBox
from activities.store.database import utcnow
from activities.store.secrets import SECRET_FIELDS
from activities.store.tables import Webhook
from activities.store.validation import is_credential_header, lookup_secret
from activities.store.webhook_settings import DEFAULT_MAX_BODY


@dataclass(frozen=True)
class Endpoint:
    id: uuid.UUID
    alias: str
    type: str
    url: str
    timeout: float
    verify_ssl: bool
    content_type: str
    accept: str
    headers: dict[str, str] = field(repr=False)
    signing_secrets: tuple[str, ...] = field(default=(), repr=False)
    bearer: TokenSource | None = None
    failover_url: str | None = None
    rate_limit: float | None = None
    """Requests per second across every worker (None: no limit)."""
    max_in_flight: int | None = None
    """Attempts under way at once on one worker (None: the worker's default)."""
    project: str | None = None
    """The webhook's project: the bulkhead caps each project's share of a worker."""
    filter: str | None = None
    """A JMESPath expression on the envelope: only events it is truthy for are sent."""
    secret_headers: frozenset[str] = frozenset({"authorization"})
    """Lower-case names of the headers that carry credentials (redacted when shown)."""
    secrets: tuple[str, ...] = field(default=(), repr=False)
    """Every credential of the webhook in the clear: what ``redact`` removes."""
    tls: WebhookTls | None = field(default=None, repr=False)
    """A client certificate or a private CA (None: the worker's defaults)."""
    documents: str = "embed"
    """How an archive carries its documents: embed | link."""
    max_body_size: int = DEFAULT_MAX_BODY
    """Bytes; an embedded archive above it goes with links."""

    def redact(self, text: str, *, also: tuple[str, ...] = ()) -> str:
        """``text`` without any of the webhook's secrets (nor ``also``: a bearer token)."""
        return redact(text, self.secrets + also)

    def redact_bytes(self, data: bytes, *, also: tuple[str, ...] = ()) -> bytes:
        return redact_bytes(data, self.secrets + also)

    def request_headers(self, *, msg_id: str, timestamp: int, body: bytes) -> dict[str, str]:
        headers = {
            **self.headers,
            "content-type": MEDIA_TYPES[self.content_type],
            "accept": MEDIA_TYPES[self.accept],
            "webhook-id": msg_id,
            "webhook-timestamp": str(timestamp),
            # Which version of the type's JSON Schema the body follows.
            SCHEMA_HEADER: schema_name(self.type),
        }
        if self.signing_secrets:
            headers["webhook-signature"] = signature_header(
                secrets_=self.signing_secrets, msg_id=msg_id, timestamp=timestamp, body=body
            )
        return headers


# The webhook's fields an endpoint carries as they are stored.
_AS_STORED = (
    "id",
    "alias",
    "type",
    "url",
    "timeout",
    "verify_ssl",
    "content_type",
    "accept",
    "failover_url",
    "rate_limit",
    "max_in_flight",
    "project",
    "filter",
)


def load_endpoint(
    *, engine: Engine, box: SecretBox, webhook_id: uuid.UUID, allow_disabled: bool = False
) -> Endpoint:
    with Session(engine) as session:
        webhook = session.get(Webhook, webhook_id)
        if webhook is None:
            raise EndpointUnavailable(f"webhook {webhook_id} was deleted")
        if not webhook.enabled and not allow_disabled:
            reason = webhook.disabled_reason or "disabled"
            raise EndpointPaused(f"webhook {webhook.alias} is disabled: {reason}")
        headers = _auth_headers(webhook, box)
        signing = _signing_secrets(webhook, box)
        bearer = _token_source(session, webhook, box) if webhook.auth == "secret" else None
        secret_headers = _secret_header_names(webhook, box, headers)
        return Endpoint(
            **{name: getattr(webhook, name) for name in _AS_STORED},
            headers=headers,
            signing_secrets=signing,
            bearer=bearer,
            secret_headers=secret_headers,
            secrets=_secrets(webhook, box, headers, secret_headers, signing, bearer),
            tls=_tls(webhook, box),
            documents=webhook.documents or "embed",
            max_body_size=webhook.max_body_size or DEFAULT_MAX_BODY,
        )


def _tls(webhook: Webhook, box: SecretBox) -> WebhookTls | None:
    if not (webhook.client_cert_enc or webhook.ca_bundle):
        return None
    key = webhook.client_key_enc
    return WebhookTls(
        # A context is built once per webhook and settings change.
        version=f"{webhook.id}/{webhook.updated_at.isoformat()}",
        client_cert=box.open(webhook.client_cert_enc) if webhook.client_cert_enc else None,
        client_key=box.open(key) if webhook.client_cert_enc and key else None,
        ca_bundle=webhook.ca_bundle,
    )


def _secret_header_names(
    webhook: Webhook, box: SecretBox, headers: dict[str, str]
) -> frozenset[str]:
    """Authorization, the custom auth headers, and any header named like a credential
    (stored in clear before such headers were refused)."""
    names = {"authorization", *(name for name in headers if is_credential_header(name))}
    if webhook.custom_auth_enc:
        names |= set(box.open_json(webhook.custom_auth_enc))
    return frozenset(name.lower() for name in names)


def _secrets(
    webhook: Webhook,
    box: SecretBox,
    headers: dict[str, str],
    secret_headers: frozenset[str],
    signing: tuple[str, ...],
    bearer: TokenSource | None,
) -> tuple[str, ...]:
    values = [v for k, v in headers.items() if k.lower() in secret_headers]
    # A credential without its scheme ("Basic ", "Bearer "), as a receiver may echo it.
    values += [v.split(" ", 1)[1] for v in values if " " in v]
    if webhook.auth == "basic" and webhook.basic_password_enc:
        values.append(box.open(webhook.basic_password_enc))
    if webhook.auth == "custom" and webhook.custom_auth_enc:
        values += box.open_json(webhook.custom_auth_enc).values()
    values += signing
    values += [s.split("_", 1)[-1] for s in signing]  # without whsec_ / whsk_
    if bearer is not None:
        values += bearer.secrets
    return tuple(dict.fromkeys(v for v in values if v))


def _signing_secrets(webhook: Webhook, box: SecretBox) -> tuple[str, ...]:
    """The current signing secret, and the previous one while its grace period runs."""
    secrets = []
    if webhook.signing_secret_enc:
        secrets.append(box.open(webhook.signing_secret_enc))
    until = webhook.previous_signing_secret_until
    if webhook.previous_signing_secret_enc and until and until > utcnow():
        secrets.append(box.open(webhook.previous_signing_secret_enc))
    return tuple(secrets)


def _token_source(session: Session, webhook: Webhook, box: SecretBox) -> TokenSource:
    secret = lookup_secret(session, project=webhook.project, alias=webhook.secret_alias)
    if secret is None:
        raise EndpointUnavailable(
            f"webhook {webhook.alias} uses secret {webhook.secret_alias!r}, which was deleted"
        )
    form = box.open_json(secret.credentials_enc)
    return TokenSource(
        secret_id=secret.id,
        alias=secret.alias,
        token_url=secret.token_url,
        form=form,
        secrets=tuple(v for k, v in form.items() if k in SECRET_FIELDS and v),
        format=secret.token_format,
    )


def _auth_headers(webhook: Webhook, box: SecretBox) -> dict[str, str]:
    headers = dict(webhook.headers)
    if webhook.auth == "basic" and webhook.basic_password_enc:
        pair = f"{webhook.basic_username}:{box.open(webhook.basic_password_enc)}"
        headers["authorization"] = "Basic " + base64.b64encode(pair.encode()).decode()
    elif webhook.auth == "custom" and webhook.custom_auth_enc:
        headers.update(box.open_json(webhook.custom_auth_enc))
    return headers


class EndpointCache:
    """Endpoints by webhook id for a few seconds, so a burst of deliveries reads
    the database once; a change or a disable reaches deliveries within ``ttl``."""

    def __init__(self, *, engine: Engine, box: SecretBox, ttl: float = 1.0) -> None:
        self._engine = engine
        self._box = box
        self._ttl = ttl
        self._entries: dict[uuid.UUID, tuple[float, Endpoint]] = {}

    async def get(self, webhook_id: uuid.UUID) -> Endpoint:
        now = time.monotonic()
        cached = self._entries.get(webhook_id)
        if cached is not None and cached[0] > now:
            return cached[1]
        endpoint = await asyncio.to_thread(
            load_endpoint, engine=self._engine, box=self._box, webhook_id=webhook_id
        )
        self._entries[webhook_id] = (now + self._ttl, endpoint)
        return endpoint

    def forget(self, webhook_id: uuid.UUID) -> None:
        self._entries.pop(webhook_id, None)
