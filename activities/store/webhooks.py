"""Webhook configuration: storage and resolution.

``WebhookCreate`` / ``WebhookSettings`` (``webhook_settings``) validate
everything a user may type; ``WebhookPublic`` (``webhook_views``) is what any
output shows (secrets redacted); ``resolve_targets`` decides which webhooks a
session uses.
"""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from datetime import timedelta
from typing import Literal
from urllib.parse import urlsplit

from sqlalchemy import update
from sqlalchemy.exc import IntegrityError
from sqlmodel import Session, col, select

from activities.contracts import ResolvedWebhooks, WebhookTarget
from activities.contracts.limits import WebhookLimits
from activities.delivery.retry import DEFAULT_SCHEDULE
from activities.delivery.signing import Kind, kind_of, new_secret
from activities.errors import ConfigError, Conflict, NotFound
from activities.store.crypto import SecretBox
from activities.store.database import utcnow
from activities.store.tables import Webhook, WebhookTemplate
from activities.store.validation import (
    check_max_in_flight,
    check_webhook_count,
    insert_named,
    lookup_secret,
)
from activities.store.webhook_settings import (
    DEFAULT_MAX_BODY,
    DEFAULT_SIGNING_GRACE,
    MAX_HEADERS,
    MAX_TEMPLATES,
    AuthKind,
    DocumentsMode,
    Format,
    WebhookCreate,
    WebhookSettings,
)
from activities.store.webhook_views import ClientCertOut, WebhookPublic, public

__all__ = [
    "DEFAULT_MAX_BODY",
    "DEFAULT_SIGNING_GRACE",
    "MAX_HEADERS",
    "MAX_TEMPLATES",
    "AuthKind",
    "ClientCertOut",
    "DocumentsMode",
    "Format",
    "WebhookCreate",
    "WebhookPublic",
    "WebhookSettings",
    "public",
]


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
            "client_cert",
            "client_key",
            "ca_bundle",
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
    _apply_tls(webhook, data, box)
    secret = _signing_change(webhook, data, box)
    if secret is not None:
        _rotate_signing_secret(webhook, secret, data.signing_grace, box)
    if webhook.auth == "basic" and not (webhook.basic_username and webhook.basic_password_enc):
        raise ConfigError("basic authentication needs USER:PASSWORD")
    if data.enabled is True:
        webhook.disabled_reason = None
    elif data.enabled is False and not webhook.disabled_reason:
        webhook.disabled_reason = "disabled by a user"


def _apply_tls(webhook: Webhook, data: WebhookSettings, box: SecretBox) -> None:
    """Install or remove the client certificate (checked with its key by the
    settings) and the CA bundle; "" removes."""
    if data.client_cert is not None:
        webhook.client_cert_enc = box.seal(data.client_cert) if data.client_cert else None
        webhook.client_key_enc = (
            box.seal(data.client_key) if data.client_cert and data.client_key else None
        )
    if data.ca_bundle is not None:
        webhook.ca_bundle = data.ca_bundle or None


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


_DEFAULT_LIMITS = WebhookLimits()


def create_webhook(
    *,
    session: Session,
    data: WebhookCreate,
    box: SecretBox,
    limits: WebhookLimits = _DEFAULT_LIMITS,
) -> Webhook:
    """Store a new webhook; ``limits``: the server's (``Settings.webhook_limits``)."""
    webhook = Webhook(project=data.project, alias=data.alias, type=data.type, url=data.url)
    _apply(webhook, data, box)
    _check_secret(session, webhook)
    check_max_in_flight(webhook.max_in_flight, limits)
    check_webhook_count(session, webhook.project, limits)
    insert_named(session, webhook, "webhook")
    try:
        check_webhook_count(session, webhook.project, limits, inserted=True)
    except ConfigError:
        session.rollback()
        raise
    _set_templates(session, webhook.id, data.templates or [])
    session.commit()
    session.refresh(webhook)
    return webhook


def update_webhook(
    *,
    session: Session,
    webhook: Webhook,
    data: WebhookSettings,
    box: SecretBox,
    limits: WebhookLimits = _DEFAULT_LIMITS,
) -> Webhook:
    """Change the fields ``data`` sets. The ceiling is checked only when it sets
    ``max_in_flight``: a webhook stored over it (under an older, higher limit)
    can still have its other settings changed."""
    _apply(webhook, data, box)
    _check_secret(session, webhook)
    if "max_in_flight" in data.model_fields_set:
        check_max_in_flight(webhook.max_in_flight, limits)
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
