"""``hookflow webhooks update``: change a webhook, its UUID kept; enabling it
again releases its held deliveries in order."""

from __future__ import annotations

import uuid
from typing import TYPE_CHECKING, Any

import click

from worker.cli.context import AppContext, pass_app, run_with_client
from worker.cli.output import CommandError, parse_pairs, print_json
from worker.cli.webhook_options import (
    FORMATS,
    SIGNATURES,
    auth_options,
    limits,
    public_of,
    receiver_changes,
    receiver_options,
    schedule,
)

if TYPE_CHECKING:
    from sqlalchemy.engine import Engine


@click.command("update")
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
@receiver_options
@click.option("--no-client-cert", is_flag=True, help="Stop presenting a client certificate.")
@click.option("--no-ca-bundle", is_flag=True, help="Trust the system's CAs again.")
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
            session=session,
            webhook=webhook,
            data=WebhookSettings(**changes),
            box=box,
            limits=app.settings.webhook_limits,
        )
        shown = public_of(session, webhook, box)
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
    changes.update(auth_options(opts["basic_auth"], opts["custom_auth"], opts["secret"]))
    if opts["no_auth"]:
        if "auth" in changes:
            raise CommandError("--no-auth cannot be combined with other authentication")
        changes["auth"] = "none"
    if opts["retry_schedule"] and opts["default_retry_schedule"]:
        raise CommandError("choose --retry-schedule or --default-retry-schedule")
    if opts["retry_schedule"]:
        changes["retry_schedule"] = schedule(opts["retry_schedule"])
    elif opts["default_retry_schedule"]:
        changes["retry_schedule"] = None
    changes.update(limits(opts))
    changes.update(receiver_changes(opts))
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
