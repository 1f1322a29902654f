"""Webhook configuration: validation, storage, redacted views and resolution.

``WebhookCreate`` validates everything a user may type; ``WebhookPublic`` is
what any output shows (secrets redacted); ``resolve_targets`` decides which
webhooks a session uses.
"""

from __future__ import annotations

import re
import uuid
from collections.abc import Sequence
from datetime import datetime, timedelta
from typing import Literal
from urllib.parse import urlsplit

from pydantic import BaseModel, ConfigDict, Field, field_validator, model_validator
from sqlalchemy import update
from sqlalchemy.exc import IntegrityError
from sqlmodel import Session, col, select

from activities.catalog import hook_type
from activities.contracts import ResolvedWebhooks, Slug, WebhookTarget
from activities.delivery.filters import MAX_FILTER, check_filter
from activities.delivery.retry import DEFAULT_SCHEDULE, validate_schedule
from activities.delivery.signing import Kind, check_secret, kind_of, new_secret, public_key
from activities.errors import ConfigError, Conflict, NotFound
from activities.store.crypto import REDACTED, SecretBox
from activities.store.database import utcnow
from activities.store.tables import Webhook, WebhookTemplate
from activities.store.validation import (
    check_header_name,
    check_header_value,
    check_plain_header,
    check_url,
    check_webhook_limits,
    is_credential_header,
    lookup_secret,
)

_ALIAS = re.compile(r"^[A-Za-z0-9][A-Za-z0-9 _.-]{0,99}$")

# While a signing secret rotates, the old one keeps signing this long (24 h).
DEFAULT_SIGNING_GRACE = 24 * 3600.0

MAX_HEADERS = 50
"""Configured headers (and custom-auth headers) of one webhook."""
MAX_TEMPLATES = 500
"""Templates one explicit webhook is coupled to."""

Format = Literal["json", "xml"]
AuthKind = Literal["none", "basic", "custom", "secret"]


class WebhookSettings(BaseModel):
    """Fields shared by create and update; every one validated."""

    model_config = ConfigDict(extra="forbid")

    alias: str | None = None
    url: str | None = None
    explicit: bool | None = None
    templates: list[Slug] | None = Field(default=None, max_length=MAX_TEMPLATES)
    timeout: float | None = Field(default=None, gt=0, le=300)
    verify_ssl: bool | None = None
    headers: dict[str, str] | None = Field(default=None, max_length=MAX_HEADERS)
    auth: AuthKind | None = None
    basic_username: str | None = Field(default=None, max_length=200)
    basic_password: str | None = Field(default=None, max_length=1000)
    custom_auth: dict[str, str] | None = Field(default=None, max_length=MAX_HEADERS)
    secret_alias: str | None = Field(default=None, max_length=100)
    content_type: Format | None = None
    accept: Format | None = None
    retry_schedule: list[float] | None = None
    signing_secret: str | None = None
    signature: Kind | None = None
    """hmac (``v1``, a ``whsec_`` secret) or ed25519 (``v1a``, a ``whsk_`` key
    hookflow makes; receivers verify with its ``whpk_`` public key)."""
    signing_grace: float = Field(default=DEFAULT_SIGNING_GRACE, ge=0, le=30 * 86400)
    failover_url: str | None = None
    rate_limit: float | None = Field(default=None, gt=0, le=10_000)
    """Requests per second across every worker; None: no limit."""
    max_in_flight: int | None = Field(default=None, ge=1, le=1000)
    """Attempts under way at once on one worker; None: the worker's default."""
    filter: str | None = Field(default=None, max_length=MAX_FILTER)
    """A JMESPath expression on the envelope: only events it is truthy for are
    delivered (the others are recorded ``skipped``); "" removes it."""
    enabled: bool | None = None
    disabled_reason: str | None = Field(default=None, max_length=500)

    @field_validator("alias")
    @classmethod
    def _alias(cls, value: str | None) -> str | None:
        if value is not None and not _ALIAS.match(value):
            raise ValueError("alias: 1-100 letters, digits, spaces, '_', '.' or '-'")
        return value

    @field_validator("url", "failover_url")
    @classmethod
    def _url(cls, value: str | None) -> str | None:
        return None if value is None or value == "" else check_url(value)

    @field_validator("headers")
    @classmethod
    def _headers(cls, value: dict[str, str] | None) -> dict[str, str] | None:
        if value is None:
            return None
        return {check_plain_header(k): check_header_value(k, v) for k, v in value.items()}

    @field_validator("custom_auth")
    @classmethod
    def _custom_auth(cls, value: dict[str, str] | None) -> dict[str, str] | None:
        if value is None:
            return None
        return {check_header_name(k): check_header_value(k, v) for k, v in value.items()}

    @field_validator("basic_username")
    @classmethod
    def _username(cls, value: str | None) -> str | None:
        if value is not None and (":" in value or not value.isprintable()):
            raise ValueError("the basic-auth user name has a ':' or a control character")
        return value

    @field_validator("retry_schedule")
    @classmethod
    def _schedule(cls, value: list[float] | None) -> list[float] | None:
        if value is not None:
            validate_schedule(value)
        return value

    @field_validator("filter")
    @classmethod
    def _filter(cls, value: str | None) -> str | None:
        if value is None or not value.strip():
            return None if value is None else ""
        return check_filter(value.strip())

    @field_validator("signing_secret")
    @classmethod
    def _signing(cls, value: str | None) -> str | None:
        if value and value.startswith("whsk_"):
            check_secret(value)
        elif value and not re.fullmatch(r"whsec_[A-Za-z0-9+/=]{16,}", value):
            raise ValueError("a signing secret looks like whsec_ followed by base64")
        return value


class WebhookCreate(WebhookSettings):
    project: Slug
    alias: str
    type: str
    url: str

    @field_validator("type")
    @classmethod
    def _type(cls, value: str) -> str:
        return hook_type(value).name

    @model_validator(mode="after")
    def _consistent(self) -> WebhookCreate:
        if self.templates and not self.explicit:
            raise ValueError("templates can be coupled to explicit webhooks only (--explicit)")
        return self


def _auth_fields(data: WebhookSettings) -> AuthKind | None:
    """The auth kind implied by the fields given, checking they do not conflict."""
    given = [
        kind
        for kind, present in (
            ("basic", data.basic_username is not None or data.basic_password is not None),
            ("custom", data.custom_auth is not None),
            ("secret", data.secret_alias is not None),
        )
        if present
    ]
    if len(given) > 1:
        raise ConfigError("choose one authentication: basic, custom or secret")
    if data.auth == "none":
        if given:
            raise ConfigError("auth 'none' given together with credentials")
        return "none"
    return given[0] if given else data.auth  # type: ignore[return-value]


def _apply(webhook: Webhook, data: WebhookSettings, box: SecretBox) -> None:
    plain = data.model_dump(
        exclude_unset=True,
        exclude={
            "templates",
            "basic_password",
            "custom_auth",
            "signing_secret",
            "signing_grace",
            "signature",
            "auth",
        },
    )
    for name, value in plain.items():
        setattr(webhook, name, value)
    if data.filter == "":
        webhook.filter = None
    auth = _auth_fields(data)
    if auth is not None and auth != webhook.auth:
        webhook.auth = auth
        webhook.basic_username = data.basic_username if auth == "basic" else None
        webhook.basic_password_enc = None
        webhook.custom_auth_enc = None
        webhook.secret_alias = data.secret_alias if auth == "secret" else None
    if data.basic_password is not None:
        webhook.basic_password_enc = box.seal(data.basic_password)
    if data.custom_auth is not None:
        webhook.custom_auth_enc = box.seal_json(data.custom_auth)
    secret = _signing_change(webhook, data, box)
    if secret is not None:
        _rotate_signing_secret(webhook, secret, data.signing_grace, box)
    if webhook.auth == "basic" and not (webhook.basic_username and webhook.basic_password_enc):
        raise ConfigError("basic authentication needs USER:PASSWORD")
    if data.enabled is True:
        webhook.disabled_reason = None
    elif data.enabled is False and not webhook.disabled_reason:
        webhook.disabled_reason = "disabled by a user"


def signing_kind(webhook: Webhook, box: SecretBox) -> Kind | None:
    """How the webhook signs now (None: it does not)."""
    return kind_of(box.open(webhook.signing_secret_enc)) if webhook.signing_secret_enc else None


def _signing_change(webhook: Webhook, data: WebhookSettings, box: SecretBox) -> str | None:
    """The signing secret to install, if any: the one given, or a new ed25519
    key when ``signature`` asks for one ("" stops signing)."""
    secret, wanted = data.signing_secret, data.signature
    if secret:
        if wanted is not None and kind_of(secret) != wanted:
            prefix = "whsk_" if wanted == "ed25519" else "whsec_"
            raise ConfigError(f"a signature {wanted} takes a {prefix}... secret")
        return secret
    if secret == "" or wanted is None:
        return secret
    current = signing_kind(webhook, box)
    if wanted == "ed25519" and current != "ed25519":
        return new_secret("ed25519")
    if wanted == "hmac" and current == "ed25519":
        raise ConfigError(
            "signing with hmac again needs a secret: give a whsec_ one, or rotate to a new one"
        )
    return None


def _rotate_signing_secret(webhook: Webhook, secret: str, grace: float, box: SecretBox) -> None:
    """Install ``secret``; the one it replaces keeps signing for ``grace`` seconds.
    An empty ``secret`` stops signing at once."""
    if webhook.signing_secret_enc and secret and grace > 0:
        webhook.previous_signing_secret_enc = webhook.signing_secret_enc
        webhook.previous_signing_secret_until = utcnow() + timedelta(seconds=grace)
    else:
        webhook.previous_signing_secret_enc = None
        webhook.previous_signing_secret_until = None
    webhook.signing_secret_enc = box.seal(secret) if secret else None


def _check_secret(session: Session, webhook: Webhook) -> None:
    if webhook.auth != "secret":
        return
    if lookup_secret(session, project=webhook.project, alias=webhook.secret_alias) is None:
        raise ConfigError(
            f"project {webhook.project!r} has no secret {webhook.secret_alias!r}: "
            "add it with `hookflow secrets add`"
        )


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
        enabled=webhook.enabled,
        disabled_reason=webhook.disabled_reason,
        created_at=webhook.created_at,
        updated_at=webhook.updated_at,
    )


def templates_of(session: Session, webhook_id: uuid.UUID) -> list[str]:
    rows = session.exec(select(WebhookTemplate).where(WebhookTemplate.webhook_id == webhook_id))
    return [row.template for row in rows]


def _set_templates(session: Session, webhook_id: uuid.UUID, templates: list[str]) -> None:
    for row in session.exec(
        select(WebhookTemplate).where(WebhookTemplate.webhook_id == webhook_id)
    ):
        session.delete(row)
    session.flush()
    for template in sorted(set(templates)):
        session.add(WebhookTemplate(webhook_id=webhook_id, template=template))


def create_webhook(*, session: Session, data: WebhookCreate, box: SecretBox) -> Webhook:
    webhook = Webhook(project=data.project, alias=data.alias, type=data.type, url=data.url)
    _apply(webhook, data, box)
    _check_secret(session, webhook)
    check_webhook_limits(session, webhook, new=True)
    session.add(webhook)
    try:
        session.flush()
    except IntegrityError:
        session.rollback()
        raise Conflict(
            f"project {data.project!r} already has a webhook named {data.alias!r}"
        ) from None
    _set_templates(session, webhook.id, data.templates or [])
    session.commit()
    session.refresh(webhook)
    return webhook


def update_webhook(
    *, session: Session, webhook: Webhook, data: WebhookSettings, box: SecretBox
) -> Webhook:
    _apply(webhook, data, box)
    _check_secret(session, webhook)
    check_webhook_limits(session, webhook, new=False)
    if data.templates is not None:
        if data.templates and not webhook.explicit:
            raise ConfigError("templates can be coupled to explicit webhooks only")
        _set_templates(session, webhook.id, data.templates)
    webhook.updated_at = utcnow()
    session.add(webhook)
    try:
        session.commit()
    except IntegrityError:
        session.rollback()
        raise Conflict(f"project {webhook.project!r} already has that alias") from None
    session.refresh(webhook)
    return webhook


def find_webhook(*, session: Session, ref: str, project: str | None = None) -> Webhook:
    """A webhook by UUID, or by alias (unique within a project)."""
    try:
        webhook = session.get(Webhook, uuid.UUID(ref))
    except ValueError:
        query = select(Webhook).where(Webhook.alias == ref)
        if project:
            query = query.where(Webhook.project == project)
        matches = list(session.exec(query))
        if len(matches) > 1:
            raise ConfigError(f"alias {ref!r} is used in several projects: add --project") from None
        webhook = matches[0] if matches else None
    if webhook is None or (project and webhook.project != project):
        raise NotFound(f"no webhook {ref!r}")
    return webhook


def delete_webhook(*, session: Session, webhook: Webhook) -> None:
    """Delete a webhook and its couplings; sessions that name it record the problem."""
    session.delete(webhook)
    session.commit()


def list_webhooks(*, session: Session, project: str | None = None) -> list[Webhook]:
    query = select(Webhook).order_by(col(Webhook.project), col(Webhook.alias))
    if project:
        query = query.where(Webhook.project == project)
    return list(session.exec(query))


def disable_webhook(*, session: Session, webhook_id: uuid.UUID, reason: str) -> bool:
    """Disable the webhook; True when this call did it (several workers may try at once)."""
    result = session.execute(
        update(Webhook)
        .where(col(Webhook.id) == webhook_id, col(Webhook.enabled).is_(True))
        .values(enabled=False, disabled_reason=reason[:500], updated_at=utcnow())
    )
    session.commit()
    return bool(result.rowcount == 1)  # type: ignore[attr-defined]


def target_of(
    webhook: Webhook, reason: Literal["implicit", "template", "integration", "redelivery"]
) -> WebhookTarget:
    return WebhookTarget(
        id=webhook.id,
        alias=webhook.alias,
        type=webhook.type,
        host=urlsplit(webhook.url).hostname or "",
        timeout=webhook.timeout,
        retry_schedule=list(webhook.retry_schedule or DEFAULT_SCHEDULE),
        reason=reason,
    )


def integration_problems(
    *, session: Session, project: str, integrations: Sequence[uuid.UUID]
) -> list[str]:
    """Why each named integration cannot be used (empty when all are fine)."""
    problems = []
    for webhook_id in dict.fromkeys(integrations):
        webhook = session.get(Webhook, webhook_id)
        if webhook is None or webhook.project != project:
            problems.append(f"integration {webhook_id}: no such webhook in project {project!r}")
        elif not webhook.enabled:
            reason = webhook.disabled_reason or "disabled"
            problems.append(f"integration {webhook_id} ({webhook.alias}): disabled: {reason}")
    return problems


def resolve_targets(
    *, session: Session, project: str, template: str | None, integrations: Sequence[uuid.UUID]
) -> ResolvedWebhooks:
    """The project's implicit webhooks, explicit ones coupled to the template,
    and those named in ``integrations``; each webhook once. Disabled webhooks
    are included: their deliveries are held until they are enabled."""
    chosen: dict[uuid.UUID, WebhookTarget] = {}
    of_project = select(Webhook).where(Webhook.project == project)
    for webhook in session.exec(of_project.where(col(Webhook.explicit).is_(False))):
        chosen[webhook.id] = target_of(webhook, "implicit")
    if template:
        coupled = of_project.join(WebhookTemplate).where(WebhookTemplate.template == template)
        for webhook in session.exec(coupled):
            chosen.setdefault(webhook.id, target_of(webhook, "template"))
    for webhook_id in integrations:
        found = session.get(Webhook, webhook_id)
        if found is not None and found.project == project:
            chosen.setdefault(found.id, target_of(found, "integration"))
    problems = integration_problems(session=session, project=project, integrations=integrations)
    targets = sorted(chosen.values(), key=lambda t: (t.alias, str(t.id)))
    return ResolvedWebhooks(targets=targets, problems=problems)
