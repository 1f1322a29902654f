"""The pane's webhook form: what a browser posts, turned into the same settings
the API and the command line take (and back, to fill the form)."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from starlette.datastructures import FormData

from activities.contracts.limits import parse_size
from activities.delivery.retry import DEFAULT_SCHEDULE, format_schedule, parse_schedule
from activities.delivery.signing import KINDS, new_secret
from activities.errors import ConfigError
from activities.store.crypto import REDACTED
from activities.store.webhooks import WebhookPublic

AUTH_KINDS = ("none", "basic", "custom", "secret")


def _text(form: FormData, name: str) -> str:
    value = form.get(name)
    return value.strip() if isinstance(value, str) else ""


def _pairs(form: FormData, names: str, values: str) -> dict[str, str]:
    keys = [k for k in form.getlist(names) if isinstance(k, str)]
    vals = [v for v in form.getlist(values) if isinstance(v, str)]
    return {k.strip(): v for k, v in zip(keys, vals, strict=False) if k.strip()}


def _size(text: str) -> int | None:
    try:
        return parse_size(text) if text else None
    except ValueError as err:
        raise ConfigError(f"Max body size: {err}") from None


def _size_value(size: int) -> str:
    """A size the form reads back as it is (``parse_size``)."""
    for unit, factor in (("MiB", 1 << 20), ("KiB", 1 << 10)):
        if size % factor == 0:
            return f"{size // factor}{unit}"
    return str(size)


@dataclass(frozen=True)
class FormField:
    """A webhook setting the form shows as one input named after its field (a
    select when it has ``choices``): what a new webhook's form shows, how the
    typed text becomes the field (``read``; None leaves it unchanged) and how a
    stored webhook shows it. A new such setting is one entry of ``FORM_FIELDS``
    (tests/worker/test_webhook_setting_path.py checks that every field of
    ``WebhookSettings`` is in the form or named as left to the API)."""

    name: str
    label: str
    new: str
    read: Callable[[str], Any]
    show: Callable[[WebhookPublic], str]
    choices: tuple[tuple[str, str], ...] = ()
    placeholder: str = ""


FORM_FIELDS = (
    FormField(
        "documents",
        "Archive documents",
        "embed",
        lambda text: text or None,
        lambda shown: shown.documents,
        choices=(("embed", "embed (base64 in the body)"), ("link", "link (signed download URLs)")),
    ),
    FormField(
        "max_body_size",
        "Max body size (embedded archives above it go with links)",
        "",
        _size,
        lambda shown: _size_value(shown.max_body_size),
        placeholder="default: 10 MiB",
    ),
)


def form_settings(
    form: FormData, *, current: WebhookPublic | None
) -> tuple[dict[str, Any], str | None]:
    """The webhook fields a submitted form sets, and a signing secret generated
    for it (shown once). Secrets left blank keep their current value."""
    fields: dict[str, Any] = {
        "alias": _text(form, "alias"),
        "url": _text(form, "url"),
        "explicit": _text(form, "mode") == "explicit",
        "templates": [t.strip() for t in _text(form, "templates").split(",") if t.strip()],
        "timeout": _number(_text(form, "timeout") or "30", "Timeout"),
        "verify_ssl": form.get("verify_ssl") == "on",
        "headers": _pairs(form, "header_name", "header_value"),
        "content_type": _text(form, "content_type") or "json",
        "accept": _text(form, "accept") or "json",
        "failover_url": _text(form, "failover_url") or ("" if current else None),
        "filter": _text(form, "filter") or ("" if current else None),
        **{field.name: field.read(_text(form, field.name)) for field in FORM_FIELDS},
        "enabled": form.get("enabled") == "on",
        "disabled_reason": _text(form, "disabled_reason") or None,
    }
    schedule = _text(form, "retry_schedule")
    try:
        fields["retry_schedule"] = parse_schedule(schedule) if schedule else None
    except ValueError as err:
        raise ConfigError(f"Retry schedule: {err}") from None
    if current is None:
        fields["type"] = _text(form, "type")
    fields.update(_auth(form, current))
    generated = _signing(form, fields)
    return {k: v for k, v in fields.items() if v is not None or k == "retry_schedule"}, generated


def _number(text: str, what: str) -> float:
    try:
        return float(text)
    except ValueError:
        raise ConfigError(f"{what}: {text!r} is not a number") from None


def _auth(form: FormData, current: WebhookPublic | None) -> dict[str, Any]:
    kind = _text(form, "auth") or "none"
    if kind not in AUTH_KINDS:
        raise ConfigError(f"Authentication: unknown kind {kind!r}")
    if kind == "basic":
        password = form.get("basic_password")
        auth: dict[str, Any] = {"basic_username": _text(form, "basic_username")}
        if isinstance(password, str) and password:
            auth["basic_password"] = password
        elif current is None or current.auth != "basic":
            raise ConfigError("Authentication: basic needs a password")
        return auth
    if kind == "custom":
        pairs = _pairs(form, "custom_name", "custom_value")
        kept = current is not None and current.custom_auth is not None
        if kept and current and set(pairs) == set(current.custom_auth or {}):
            if all(v in ("", REDACTED) for v in pairs.values()):
                return {"auth": "custom"}  # unchanged: the stored values stay
        if not pairs or any(v in ("", REDACTED) for v in pairs.values()):
            raise ConfigError("Authentication: every custom header needs a value")
        return {"custom_auth": pairs}
    if kind == "secret":
        return {"secret_alias": _text(form, "secret_alias")}
    return {"auth": "none"}


def _signing(form: FormData, fields: dict[str, Any]) -> str | None:
    """Sets the signing fields; returns a generated HMAC secret (to show once)."""
    choice = _text(form, "signing") or "keep"
    kind = _text(form, "signature") or "hmac"
    if kind not in KINDS:
        raise ConfigError(f"Signature: unknown kind {kind!r}")
    if choice == "none":
        fields["signing_secret"] = ""
        return None
    if choice == "generate":
        fields["signing_secret"] = new_secret(kind)
        return str(fields["signing_secret"]) if kind == "hmac" else None
    fields["signature"] = kind
    if choice == "set":
        fields["signing_secret"] = _text(form, "signing_secret")
    return None


def form_values(shown: WebhookPublic | None, default_type: str) -> dict[str, Any]:
    """What the form shows for a webhook (or a new one): secrets never."""
    if shown is None:
        return {
            "alias": "",
            "type": default_type,
            "mode": "implicit",
            "templates": "",
            "url": "",
            "timeout": "30",
            "verify_ssl": True,
            "headers": {},
            "auth": "none",
            "basic_username": "",
            "custom_auth": {},
            "secret_alias": "",
            "content_type": "json",
            "accept": "json",
            "retry_schedule": "",
            "failover_url": "",
            "filter": "",
            **{field.name: field.new for field in FORM_FIELDS},
            "client_certificate": "",
            "enabled": True,
            "disabled_reason": "",
            "signing": False,
            "signature": "hmac",
            "public_key": "",
        }
    custom_default = shown.retry_schedule != list(DEFAULT_SCHEDULE)
    return {
        "alias": shown.alias,
        "type": shown.type,
        "mode": "explicit" if shown.explicit else "implicit",
        "templates": ", ".join(shown.templates),
        "url": shown.url,
        "timeout": f"{shown.timeout:g}",
        "verify_ssl": shown.verify_ssl,
        "headers": shown.headers,
        "auth": shown.auth,
        "basic_username": shown.basic_username or "",
        "custom_auth": shown.custom_auth or {},
        "secret_alias": shown.secret_alias or "",
        "content_type": shown.content_type,
        "accept": shown.accept,
        "retry_schedule": format_schedule(shown.retry_schedule) if custom_default else "",
        "failover_url": shown.failover_url or "",
        "filter": shown.filter or "",
        **{field.name: field.show(shown) for field in FORM_FIELDS},
        "client_certificate": _cert(shown),
        "enabled": shown.enabled,
        "disabled_reason": shown.disabled_reason or "",
        "signing": bool(shown.signing_secret),
        "signature": shown.signature or "hmac",
        "public_key": shown.public_key or "",
    }


def _cert(shown: WebhookPublic) -> str:
    """A client certificate by its subject and expiry only (its key is never shown)."""
    cert = shown.client_certificate
    return f"{cert.subject}, expires {cert.expires_at:%Y-%m-%d %H:%M}Z" if cert else ""


def typed_values(form: FormData, base: dict[str, Any]) -> dict[str, Any]:
    """The form as the user typed it, to show again beside an error."""
    values = dict(base)
    for name in ("alias", "type", "mode", "templates", "url", "timeout", "auth"):
        values[name] = _text(form, name) or values.get(name, "")
    for name in ("basic_username", "secret_alias", "content_type", "accept", "retry_schedule"):
        values[name] = _text(form, name)
    values["failover_url"] = _text(form, "failover_url")
    values["filter"] = _text(form, "filter")
    for field in FORM_FIELDS:
        values[field.name] = _text(form, field.name) or field.new
    values["disabled_reason"] = _text(form, "disabled_reason")
    values["verify_ssl"] = form.get("verify_ssl") == "on"
    values["enabled"] = form.get("enabled") == "on"
    values["signature"] = _text(form, "signature") or "hmac"
    values["headers"] = _pairs(form, "header_name", "header_value")
    values["custom_auth"] = dict.fromkeys(_pairs(form, "custom_name", "custom_value"), "")
    return values
