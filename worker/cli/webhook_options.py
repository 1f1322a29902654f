"""Options ``webhooks add`` and ``webhooks update`` share, and how they become
the fields of ``WebhookSettings``: authentication, the retry ladder, limits,
and what the receiver's side needs (mutual TLS, a private CA, documents by link)."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any, TypeVar

import click

from worker.cli.output import CommandError, parse_pairs

if TYPE_CHECKING:
    from sqlmodel import Session

    from activities.store.crypto import SecretBox
    from activities.store.tables import Webhook
    from activities.store.webhooks import WebhookPublic

FORMATS = click.Choice(["json", "xml"])
SIGNATURES = click.Choice(["hmac", "ed25519"])  # activities.delivery.signing.KINDS
DOCUMENTS = click.Choice(["embed", "link"])
_PEM = click.Path(exists=True, dir_okay=False, readable=True, path_type=Path)
F = TypeVar("F", bound=Callable[..., Any])


def public_of(session: Session, webhook: Webhook, box: SecretBox) -> WebhookPublic:
    from activities.store.webhooks import public, templates_of

    return public(webhook, templates=templates_of(session, webhook.id), box=box)


@dataclass(frozen=True)
class Setting:
    """A webhook setting ``webhooks add`` and ``webhooks update`` both take with
    the flag ``--<field>``; ``parse`` turns its text into the field's value (a
    ValueError is the flag's one error line). A new such setting is one entry
    of ``SETTINGS`` (tests/worker/test_webhook_setting_path.py checks that every
    field of ``WebhookSettings`` has a flag)."""

    field: str
    help: str
    type: click.ParamType[Any] | None = None
    metavar: str | None = None
    parse: Callable[[str], Any] | None = None

    @property
    def flag(self) -> str:
        return "--" + self.field.replace("_", "-")


def _size(text: str) -> int:
    from activities.contracts.limits import parse_size

    return parse_size(text)


SETTINGS = (
    Setting(
        "documents",
        "Archive documents: embed (base64, default) or link (signed URLs).",
        type=DOCUMENTS,
    ),
    Setting(
        "max_body_size",
        "An embedded archive above it goes with links (default 10MiB).",
        metavar="SIZE",
        parse=_size,
    ),
)


def receiver_options(func: F) -> F:
    """--client-cert, --client-key, --ca-bundle, then every flag of ``SETTINGS``."""
    for option in reversed(
        [
            click.option(
                "--client-cert",
                type=_PEM,
                metavar="FILE",
                help="PEM certificate presented to the endpoint (mutual TLS).",
            ),
            click.option(
                "--client-key",
                type=_PEM,
                metavar="FILE",
                help="PEM private key of --client-cert (stored encrypted).",
            ),
            click.option(
                "--ca-bundle",
                type=_PEM,
                metavar="FILE",
                help="PEM CA certificates to trust for the endpoint (a private CA).",
            ),
            *(click.option(s.flag, type=s.type, metavar=s.metavar, help=s.help) for s in SETTINGS),
        ]
    ):
        func = option(func)
    return func


def _pem(path: Path | None, flag: str) -> str | None:
    if path is None:
        return None
    try:
        return path.read_text(encoding="ascii")
    except UnicodeDecodeError:
        raise CommandError(f"{flag} {path}: not a PEM file (binary content)") from None
    except OSError as err:
        raise CommandError(f"{flag} {path}: {err.strerror}") from None


def receiver_changes(opts: dict[str, Any]) -> dict[str, Any]:
    """The TLS fields and those of ``SETTINGS`` the options give (absent ones unchanged)."""
    changes: dict[str, Any] = {}
    cert = _pem(opts.get("client_cert"), "--client-cert")
    key = _pem(opts.get("client_key"), "--client-key")
    if (cert is None) != (key is None):
        raise CommandError("--client-cert and --client-key go together")
    if opts.get("no_client_cert"):
        if cert is not None:
            raise CommandError("choose --client-cert or --no-client-cert")
        cert = key = ""
    if cert is not None:
        changes["client_cert"], changes["client_key"] = cert, key
    bundle = _pem(opts.get("ca_bundle"), "--ca-bundle")
    if opts.get("no_ca_bundle"):
        if bundle is not None:
            raise CommandError("choose --ca-bundle or --no-ca-bundle")
        bundle = ""
    if bundle is not None:
        changes["ca_bundle"] = bundle
    for setting in SETTINGS:
        if not opts.get(setting.field):
            continue
        try:
            value = opts[setting.field]
            changes[setting.field] = setting.parse(value) if setting.parse else value
        except ValueError as err:
            raise CommandError(f"{setting.flag}: {err}") from None
    return changes


def auth_options(
    basic_auth: str | None, custom_auth: Sequence[str], secret: str | None
) -> dict[str, Any]:
    if sum(bool(x) for x in (basic_auth, custom_auth, secret)) > 1:
        raise CommandError("choose one of --basic-auth, --custom-auth and --secret")
    if basic_auth is not None:
        user, sep, password = basic_auth.partition(":")
        if not sep or not user:
            raise CommandError("--basic-auth must look like USER:PASSWORD")
        return {"auth": "basic", "basic_username": user, "basic_password": password}
    if custom_auth:
        return {"auth": "custom", "custom_auth": parse_pairs(custom_auth, "--custom-auth")}
    if secret is not None:
        return {"auth": "secret", "secret_alias": secret}
    return {}


def limits(opts: dict[str, Any]) -> dict[str, Any]:
    """Rate limit and in-flight cap changes; a value and its reset together are an error."""
    changes: dict[str, Any] = {}
    for name, reset in (
        ("rate_limit", "no_rate_limit"),
        ("max_in_flight", "default_max_in_flight"),
    ):
        if opts[name] is not None and opts[reset]:
            flag = reset.replace("_", "-")
            raise CommandError(f"choose --{name.replace('_', '-')} or --{flag}")
        if opts[name] is not None:
            changes[name] = opts[name]
        elif opts[reset]:
            changes[name] = None
    return changes


def schedule(text: str) -> list[float]:
    from activities.delivery.retry import parse_schedule

    try:
        return parse_schedule(text)
    except ValueError as err:
        raise CommandError(f"--retry-schedule: {err}") from None
