"""``hookflow webhooks``: configure, inspect and delete webhooks."""

from __future__ import annotations

import json
from collections.abc import Sequence
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any

import click

from worker.cli.context import AppContext, pass_app
from worker.cli.lazy import HOOK_TYPES
from worker.cli.output import paged, parse_pairs, print_fields, print_json, print_list, print_next
from worker.cli.webhook_options import (
    FORMATS,
    SIGNATURES,
    auth_options,
    public_of,
    receiver_changes,
    receiver_options,
    schedule,
)
from worker.cli.webhook_probe import example, test
from worker.cli.webhook_update import update

__all__ = ["SIGNATURES", "webhooks"]

# The store, Temporal and the services are imported in the commands that use
# them: `webhooks --help`, `list` and `show` load the store only.
if TYPE_CHECKING:
    from activities.store.webhooks import WebhookPublic


@click.group()
def webhooks() -> None:
    """Configure the webhooks a project's sessions call."""


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
@receiver_options
@click.option("--json", "as_json", is_flag=True, help="Print the record as JSON.")
@pass_app
def add(
    app: AppContext,
    /,
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
    **receiver: Any,
) -> None:
    """Add a webhook; prints its alias and UUID (the UUID last, for scripts)."""
    from sqlmodel import Session

    from activities.store.webhooks import WebhookCreate, create_webhook

    ladder = schedule(retry_schedule) if retry_schedule else None
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
        retry_schedule=ladder,
        signing_secret=signing_secret,
        signature=signature if signature == "ed25519" else None,
        rate_limit=rate_limit,
        max_in_flight=max_in_flight,
        failover_url=failover_url,
        filter=filter_,
        **auth_options(basic_auth, custom_auth, secret),
        **receiver_changes(receiver),
    )
    engine, box = app.store()
    with Session(engine) as session:
        webhook = create_webhook(
            session=session, data=data, box=box, limits=app.settings.webhook_limits
        )
        shown = public_of(session, webhook, box)
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


def _limits_shown(shown: WebhookPublic) -> list[tuple[str, str]]:
    from activities.contracts.limits import DEFAULT_MAX_IN_FLIGHT

    rate = f"{shown.rate_limit:g} requests/s (all workers)" if shown.rate_limit else "none"
    cap = f"{shown.max_in_flight} per worker" if shown.max_in_flight else "worker default"
    if not shown.max_in_flight:
        cap += f" ({DEFAULT_MAX_IN_FLIGHT})"
    return [("rate limit", rate), ("max in flight", cap)]


@webhooks.command("list")
@click.option("--project", help="Only this project.")
@paged
@click.option("--json", "as_json", is_flag=True)
@pass_app
def list_(
    app: AppContext, project: str | None, limit: int, after: str | None, as_json: bool
) -> None:
    """List webhooks by project and alias; a full page ends with the --after
    CURSOR of the next one (on stderr)."""
    from sqlmodel import Session

    from worker.services.webhook_pages import webhook_page

    engine, box = app.store()
    with Session(engine) as session:
        page = webhook_page(session=session, project=project, limit=limit, after=after)
        shown = [public_of(session, w, box) for w in page.rows]
    print_list(
        shown,
        as_json=as_json,
        headers=["UUID", "PROJECT", "ALIAS", "TYPE", "MODE", "ENABLED", "URL"],
        row=lambda w: [
            w.id,
            w.project,
            w.alias,
            w.type,
            "explicit" if w.explicit else "implicit",
            "yes" if w.enabled else f"no ({w.disabled_reason})",
            w.url,
        ],
    )
    print_next(page.next)


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
        shown = public_of(session, find_webhook(session=session, ref=ref, project=project), box)
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
            *_receiver_shown(shown),
            *_limits_shown(shown),
            ("enabled", "yes" if shown.enabled else f"no ({shown.disabled_reason})"),
        ]
    )
    if shown.explicit:
        click.echo("\nIntegration code (add to the integrations array of create-session):")
        click.echo(json.dumps(shown.integration_code))


def _receiver_shown(shown: WebhookPublic) -> list[tuple[str, str]]:
    """Mutual TLS and documents: a client certificate by its subject and expiry only."""
    from activities.contracts.limits import size_text

    cert = shown.client_certificate
    client = f"set: {cert.subject}, expires {cert.expires_at:%Y-%m-%d %H:%M}Z" if cert else "-"
    if cert and cert.expires_at <= datetime.now(UTC):
        client += " (EXPIRED: deliveries to an endpoint that checks it fail)"
    bundle = (
        f"{len(shown.ca_bundle)} certificate(s): " + "; ".join(shown.ca_bundle)
        if shown.ca_bundle
        else "-"
    )
    return [
        ("client certificate", client),
        ("ca bundle", bundle),
        ("documents", f"{shown.documents} (max body {size_text(shown.max_body_size)})"),
    ]


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


webhooks.add_command(update)
webhooks.add_command(example)
webhooks.add_command(test)
