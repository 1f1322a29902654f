"""``hookflow webhooks``: configure, inspect and delete webhooks."""

from __future__ import annotations

import json
import uuid
from collections.abc import Sequence
from typing import TYPE_CHECKING, Any

import click

from worker.cli.context import AppContext, pass_app, run_with_client
from worker.cli.lazy import HOOK_TYPES
from worker.cli.output import CommandError, parse_pairs, print_fields, print_json, print_table
from worker.cli.webhook_probe import example, test

# The store, Temporal and the services are imported in the commands that use
# them: `webhooks --help`, `list` and `show` load the store only.
if TYPE_CHECKING:
    from sqlalchemy.engine import Engine
    from sqlmodel import Session

    from activities.store.crypto import SecretBox
    from activities.store.tables import Webhook
    from activities.store.webhooks import WebhookPublic

FORMATS = click.Choice(["json", "xml"])
SIGNATURES = click.Choice(["hmac", "ed25519"])  # activities.delivery.signing.KINDS


@click.group()
def webhooks() -> None:
    """Configure the webhooks a project's sessions call."""


def _public(session: Session, webhook: Webhook, box: SecretBox) -> WebhookPublic:
    from activities.store.webhooks import public, templates_of

    return public(webhook, templates=templates_of(session, webhook.id), box=box)


def _auth_options(
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


@webhooks.command("add")
@click.option("--project", required=True, help="Project (tenant) the webhook belongs to.")
@click.option("--alias", required=True, help="Readable name, unique in the project.")
@click.option("--type", "type_", required=True, type=HOOK_TYPES)
@click.option("--url", required=True, help="Endpoint URL (http or https).")
@click.option("--explicit", is_flag=True, help="Fire only where coupled or named in integrations.")
@click.option("--template", "templates", multiple=True, help="Couple to a template (explicit).")
@click.option("--timeout", type=float, default=30.0, show_default=True, help="Seconds.")
@click.option("--no-verify-ssl", is_flag=True, help="Do not verify the TLS certificate.")
@click.option("--header", "headers", multiple=True, metavar="K=V", help="Extra header.")
@click.option("--basic-auth", metavar="USER:PASSWORD", help="Basic authentication.")
@click.option("--custom-auth", multiple=True, metavar="K=V", help="Custom auth header.")
@click.option("--secret", metavar="ALIAS", help="Bearer token from a configured secret.")
@click.option("--content-type", type=FORMATS, default="json", show_default=True)
@click.option("--accept", type=FORMATS, default="json", show_default=True)
@click.option("--retry-schedule", metavar="0s,5s,5m,...", help="Override the retry ladder.")
@click.option("--signing-secret", metavar="whsec_...", help="Sign deliveries (Standard Webhooks).")
@click.option(
    "--signature",
    type=SIGNATURES,
    default="hmac",
    show_default=True,
    help="hmac: v1 with --signing-secret; ed25519: v1a with a key made now (whpk_ in show).",
)
@click.option("--rate-limit", type=float, metavar="N", help="Requests per second, all workers.")
@click.option("--max-in-flight", type=int, metavar="N", help="Attempts at once per worker.")
@click.option("--failover-url", help="Where a delivery goes once its retries are exhausted.")
@click.option(
    "--filter",
    "filter_",
    metavar="EXPR",
    help="Deliver only events this JMESPath expression on the envelope is truthy for.",
)
@click.option("--json", "as_json", is_flag=True, help="Print the record as JSON.")
@pass_app
def add(
    app: AppContext,
    project: str,
    alias: str,
    type_: str,
    url: str,
    explicit: bool,
    templates: Sequence[str],
    timeout: float,
    no_verify_ssl: bool,
    headers: Sequence[str],
    basic_auth: str | None,
    custom_auth: Sequence[str],
    secret: str | None,
    content_type: str,
    accept: str,
    retry_schedule: str | None,
    signing_secret: str | None,
    signature: str,
    rate_limit: float | None,
    max_in_flight: int | None,
    failover_url: str | None,
    filter_: str | None,
    as_json: bool,
) -> None:
    """Add a webhook; prints its alias and UUID (the UUID last, for scripts)."""
    from sqlmodel import Session

    from activities.store.webhooks import WebhookCreate, create_webhook

    schedule = _schedule(retry_schedule) if retry_schedule else None
    data = WebhookCreate(
        project=project,
        alias=alias,
        type=type_,
        url=url,
        explicit=explicit,
        templates=list(templates),
        timeout=timeout,
        verify_ssl=not no_verify_ssl,
        headers=parse_pairs(headers, "--header"),
        content_type=content_type,
        accept=accept,
        retry_schedule=schedule,
        signing_secret=signing_secret,
        signature=signature if signature == "ed25519" else None,
        rate_limit=rate_limit,
        max_in_flight=max_in_flight,
        failover_url=failover_url,
        filter=filter_,
        **_auth_options(basic_auth, custom_auth, secret),
    )
    engine, box = app.store()
    with Session(engine) as session:
        webhook = create_webhook(session=session, data=data, box=box)
        shown = _public(session, webhook, box)
    if as_json:
        print_json(shown)
    else:
        if shown.public_key:
            click.echo(f"public key (receivers verify with it): {shown.public_key}", err=True)
        click.echo(f"created webhook {shown.alias} in {shown.project}: {shown.id}")


def _signing(shown: WebhookPublic) -> str:
    if not shown.signing_secret:
        return "-"
    what = shown.signing_secret
    if shown.public_key:
        what = f"ed25519 (v1a), public key {shown.public_key}"
    if shown.signing_rotation_until:
        until = f"{shown.signing_rotation_until:%Y-%m-%d %H:%M}Z"
        if shown.previous_public_key:
            return f"{what} (previous key {shown.previous_public_key} also signs until {until})"
        return f"{what} (previous secret also signs until {until})"
    return what


@webhooks.command("update")
@click.argument("ref", metavar="UUID|ALIAS")
@click.option("--project", help="Project, when an alias is used in several.")
@click.option("--alias", "new_alias", help="New alias.")
@click.option("--url")
@click.option("--explicit/--implicit", default=None)
@click.option("--template", "templates", multiple=True, help="Replace the template couplings.")
@click.option("--no-templates", is_flag=True, help="Remove every template coupling.")
@click.option("--timeout", type=float)
@click.option("--verify-ssl/--no-verify-ssl", default=None)
@click.option("--header", "headers", multiple=True, metavar="K=V", help="Replace the headers.")
@click.option("--no-headers", is_flag=True, help="Remove every configured header.")
@click.option("--basic-auth", metavar="USER:PASSWORD")
@click.option("--custom-auth", multiple=True, metavar="K=V")
@click.option("--secret", metavar="ALIAS")
@click.option("--no-auth", is_flag=True, help="Send no authentication.")
@click.option("--content-type", type=FORMATS)
@click.option("--accept", type=FORMATS)
@click.option("--retry-schedule", metavar="0s,5s,5m,...")
@click.option("--default-retry-schedule", is_flag=True, help="Back to the default ladder.")
@click.option("--signing-secret", metavar="whsec_...", help="New signing secret (rotates).")
@click.option("--rotate-signing-secret", is_flag=True, help="Generate a new signing secret.")
@click.option("--no-signing", is_flag=True, help="Stop signing at once.")
@click.option(
    "--signature", type=SIGNATURES, help="Sign with hmac (v1) or ed25519 (v1a, a new key)."
)
@click.option(
    "--grace", default="24h", show_default=True, help="How long the old secret signs too."
)
@click.option("--failover-url", help="Where an exhausted archive is sent ('' to remove).")
@click.option("--rate-limit", type=float, metavar="N", help="Requests per second, all workers.")
@click.option("--no-rate-limit", is_flag=True, help="Remove the rate limit.")
@click.option("--max-in-flight", type=int, metavar="N", help="Attempts at once per worker.")
@click.option("--default-max-in-flight", is_flag=True, help="Back to the worker's default cap.")
@click.option("--filter", "filter_", metavar="EXPR", help="JMESPath on the envelope.")
@click.option("--no-filter", is_flag=True, help="Deliver every event again.")
@click.option("--enable/--disable", "enabled", default=None)
@click.option("--reason", help="Why it is disabled.")
@click.option("--json", "as_json", is_flag=True)
@pass_app
def update(app: AppContext, /, ref: str, project: str | None, **opts: Any) -> None:
    """Change a webhook; its UUID stays the same."""
    from sqlmodel import Session

    from activities.delivery.signing import new_secret
    from activities.store.webhooks import (
        WebhookSettings,
        find_webhook,
        signing_kind,
        update_webhook,
    )

    changes = _update_changes(opts)
    as_json = opts["as_json"]
    engine, box = app.store()
    with Session(engine) as session:
        webhook = find_webhook(session=session, ref=ref, project=project)
        if opts["rotate_signing_secret"]:  # a new secret of the kind it signs with
            kind = opts["signature"] or signing_kind(webhook, box) or "hmac"
            changes["signing_secret"] = new_secret(kind)
        webhook = update_webhook(
            session=session, webhook=webhook, data=WebhookSettings(**changes), box=box
        )
        shown = _public(session, webhook, box)
    if as_json:
        print_json(shown)
    else:
        click.echo(f"updated {shown.id} ({shown.project}/{shown.alias})")
    if opts["enabled"]:
        _resume(app, engine, shown.id)
    if opts["rotate_signing_secret"] and shown.signature == "ed25519":
        click.echo(f"new public key: {shown.public_key}", err=True)
    elif opts["rotate_signing_secret"]:
        click.echo(f"new signing secret: {changes['signing_secret']}", err=True)


def _update_changes(opts: dict[str, Any]) -> dict[str, Any]:
    """The fields an update sets, from the options given; conflicts are errors."""
    from activities.delivery.retry import parse_duration
    from activities.delivery.signing import new_secret

    pick = {
        "alias": opts["new_alias"],
        "url": opts["url"],
        "explicit": opts["explicit"],
        "timeout": opts["timeout"],
        "verify_ssl": opts["verify_ssl"],
        "content_type": opts["content_type"],
        "accept": opts["accept"],
        "failover_url": opts["failover_url"],
        "enabled": opts["enabled"],
        "disabled_reason": opts["reason"],
    }
    changes: dict[str, Any] = {k: v for k, v in pick.items() if v is not None}
    if opts["templates"] or opts["no_templates"]:
        changes["templates"] = list(opts["templates"])
    if opts["headers"] or opts["no_headers"]:
        changes["headers"] = parse_pairs(opts["headers"], "--header")
    changes.update(_auth_options(opts["basic_auth"], opts["custom_auth"], opts["secret"]))
    if opts["no_auth"]:
        if "auth" in changes:
            raise CommandError("--no-auth cannot be combined with other authentication")
        changes["auth"] = "none"
    if opts["retry_schedule"] and opts["default_retry_schedule"]:
        raise CommandError("choose --retry-schedule or --default-retry-schedule")
    if opts["retry_schedule"]:
        changes["retry_schedule"] = _schedule(opts["retry_schedule"])
    elif opts["default_retry_schedule"]:
        changes["retry_schedule"] = None
    changes.update(_limits(opts))
    if opts["filter_"] is not None and opts["no_filter"]:
        raise CommandError("choose --filter or --no-filter")
    if opts["filter_"] is not None or opts["no_filter"]:
        changes["filter"] = opts["filter_"] or ""
    signing = [opts["signing_secret"], opts["rotate_signing_secret"], opts["no_signing"]]
    if sum(bool(x) for x in signing) > 1:
        raise CommandError("choose one of --signing-secret, --rotate-signing-secret, --no-signing")
    if opts["rotate_signing_secret"]:
        changes["signing_secret"] = new_secret()
    elif opts["signing_secret"] or opts["no_signing"]:
        changes["signing_secret"] = opts["signing_secret"] or ""
    if opts["signature"]:
        changes["signature"] = opts["signature"]
    if "signing_secret" in changes or opts["signature"]:
        try:
            changes["signing_grace"] = parse_duration(opts["grace"])
        except ValueError as err:
            raise CommandError(f"--grace: {err}") from None
    if not changes:
        raise CommandError("nothing to change: give at least one option")
    return changes


def _limits(opts: dict[str, Any]) -> dict[str, Any]:
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


def _limits_shown(shown: WebhookPublic) -> list[tuple[str, str]]:
    from activities.delivery.bulkhead import DEFAULT_MAX_IN_FLIGHT

    rate = f"{shown.rate_limit:g} requests/s (all workers)" if shown.rate_limit else "none"
    cap = f"{shown.max_in_flight} per worker" if shown.max_in_flight else "worker default"
    if not shown.max_in_flight:
        cap += f" ({DEFAULT_MAX_IN_FLIGHT})"
    return [("rate limit", rate), ("max in flight", cap)]


def _schedule(text: str) -> list[float]:
    from activities.delivery.retry import parse_schedule

    try:
        return parse_schedule(text)
    except ValueError as err:
        raise CommandError(f"--retry-schedule: {err}") from None


@webhooks.command("list")
@click.option("--project", help="Only this project.")
@click.option("--json", "as_json", is_flag=True)
@pass_app
def list_(app: AppContext, project: str | None, as_json: bool) -> None:
    """List webhooks."""
    from sqlmodel import Session

    from activities.store.webhooks import list_webhooks

    engine, box = app.store()
    with Session(engine) as session:
        shown = [_public(session, w, box) for w in list_webhooks(session=session, project=project)]
    if as_json:
        print_json([w.model_dump(mode="json") for w in shown])
        return
    print_table(
        ["UUID", "PROJECT", "ALIAS", "TYPE", "MODE", "ENABLED", "URL"],
        [
            [
                w.id,
                w.project,
                w.alias,
                w.type,
                "explicit" if w.explicit else "implicit",
                "yes" if w.enabled else f"no ({w.disabled_reason})",
                w.url,
            ]
            for w in shown
        ],
    )


@webhooks.command("show")
@click.argument("ref", metavar="UUID|ALIAS")
@click.option("--project", help="Project, when an alias is used in several.")
@click.option("--json", "as_json", is_flag=True)
@pass_app
def show(app: AppContext, ref: str, project: str | None, as_json: bool) -> None:
    """Show one webhook; an explicit one with its integration code."""
    from sqlmodel import Session

    from activities.delivery.retry import format_schedule
    from activities.store.webhooks import find_webhook

    engine, box = app.store()
    with Session(engine) as session:
        shown = _public(session, find_webhook(session=session, ref=ref, project=project), box)
    if as_json:
        print_json(shown)
        return
    auth = shown.auth
    if shown.basic_username:
        auth = f"basic ({shown.basic_username}:{shown.basic_password})"
    elif shown.custom_auth:
        auth = "custom (" + ", ".join(f"{k}: {v}" for k, v in shown.custom_auth.items()) + ")"
    elif shown.secret_alias:
        auth = f"secret ({shown.secret_alias})"
    print_fields(
        [
            ("uuid", shown.id),
            ("project", shown.project),
            ("alias", shown.alias),
            ("type", f"{shown.type} ({shown.event})"),
            ("mode", "explicit" if shown.explicit else "implicit"),
            ("templates", ", ".join(shown.templates) or "-"),
            ("url", shown.url),
            ("timeout", f"{shown.timeout:g}s"),
            ("verify ssl", "yes" if shown.verify_ssl else "no"),
            ("headers", ", ".join(f"{k}: {v}" for k, v in shown.headers.items()) or "-"),
            ("auth", auth),
            ("content type", shown.content_type),
            ("accept", shown.accept),
            ("retry schedule", format_schedule(shown.retry_schedule)),
            ("signing secret", _signing(shown)),
            ("failover url", shown.failover_url or "-"),
            ("filter", shown.filter or "-"),
            *_limits_shown(shown),
            ("enabled", "yes" if shown.enabled else f"no ({shown.disabled_reason})"),
        ]
    )
    if shown.explicit:
        click.echo("\nIntegration code (add to the integrations array of create-session):")
        click.echo(json.dumps(shown.integration_code))


@webhooks.command("delete")
@click.argument("ref", metavar="UUID|ALIAS")
@click.option("--project", help="Project, when an alias is used in several.")
@pass_app
def delete(app: AppContext, ref: str, project: str | None) -> None:
    """Delete a webhook; sessions that name it record the problem and go on."""
    from sqlmodel import Session

    from activities.store.webhooks import delete_webhook, find_webhook

    engine, _box = app.store()
    with Session(engine) as session:
        webhook = find_webhook(session=session, ref=ref, project=project)
        shown = f"{webhook.id} ({webhook.project}/{webhook.alias})"
        delete_webhook(session=session, webhook=webhook)
    click.echo(f"deleted {shown}")


def _resume(app: AppContext, engine: Engine, webhook_id: uuid.UUID) -> None:
    """Enabled again: the sessions holding its deliveries go on, in order (they
    also find out by themselves within ``RECHECK``, should Temporal not answer now)."""
    from sqlmodel import Session
    from temporalio.client import Client
    from temporalio.service import RPCError

    from activities.errors import HookflowError
    from activities.log.attempts import deliveries_in_window
    from worker.services.webhooks import release_held
    from workflows.outbox import RECHECK

    with Session(engine) as session:
        if not deliveries_in_window(session=session, webhook_id=webhook_id, statuses=["held"]):
            return

    async def resume(client: Client) -> int:
        async def connected() -> Client:
            return client

        return await release_held(
            temporal=connected, settings=app.settings, engine=engine, webhook_id=webhook_id
        )

    try:
        told = run_with_client(app.settings, resume)
    except (RuntimeError, RPCError, HookflowError) as err:
        click.echo(f"held deliveries go on within {RECHECK}: Temporal did not answer ({err})")
        return
    click.echo(f"released held deliveries of {told} session{'' if told == 1 else 's'}")


webhooks.add_command(example)
webhooks.add_command(test)
