"""``hookflow deliveries``: the delivery log."""

from __future__ import annotations

import uuid

import click
from sqlmodel import Session, col, select
from temporalio.client import Client

from activities.contracts import DeliveryCarry, Envelope, Redeliver, RedeliverProgress
from activities.log.attempts import (
    attempts_of,
    deliveries_from,
    envelope_of,
    excerpt_of,
    list_deliveries,
)
from activities.store.tables import Delivery, Webhook
from activities.store.webhooks import find_webhook, target_of
from worker.cli_sessions import run_with_client
from worker.context import AppContext, pass_app
from worker.output import CommandError, follow, plural, print_fields, print_json, print_table
from workflows.redeliver import RedeliverWorkflow


@click.group()
def deliveries() -> None:
    """Read the delivery log: every event sent to every webhook, every attempt."""


@deliveries.command("list")
@click.option("--session", "session_id", help="Only this session.")
@click.option("--webhook", "webhook_ref", metavar="UUID|ALIAS", help="Only this webhook.")
@click.option("--status", type=click.Choice(["pending", "delivered", "failed"]))
@click.option("--limit", type=click.IntRange(1, 10_000), default=100, show_default=True)
@click.option("--json", "as_json", is_flag=True)
@pass_app
def list_(
    app: AppContext,
    session_id: str | None,
    webhook_ref: str | None,
    status: str | None,
    limit: int,
    as_json: bool,
) -> None:
    """List deliveries, newest first."""
    engine, _box = app.store()
    with Session(engine) as session:
        webhook_id = find_webhook(session=session, ref=webhook_ref).id if webhook_ref else None
        rows = list_deliveries(
            session=session,
            session_id=session_id,
            webhook_id=webhook_id,
            status=status,
            limit=limit,
        )
        aliases = _aliases(session, {row.webhook_id for row in rows})
    if as_json:
        print_json([row.model_dump(mode="json", exclude={"envelope"}) for row in rows])
        return
    print_table(
        ["ID", "SESSION", "SEQ", "EVENT", "WEBHOOK", "STATUS", "ATTEMPTS", "HTTP", "UPDATED"],
        [
            [
                r.id,
                r.session_id,
                r.sequence,
                r.event_type,
                aliases.get(r.webhook_id, "(deleted)"),
                r.status,
                r.attempts,
                r.status_code,
                f"{r.updated_at:%Y-%m-%d %H:%M:%S}",
            ]
            for r in rows
        ],
    )


def _aliases(session: Session, ids: set[uuid.UUID]) -> dict[uuid.UUID, str]:
    found = session.exec(select(Webhook.id, Webhook.alias).where(col(Webhook.id).in_(ids)))
    return dict(found.all())


@deliveries.command("redeliver")
@click.argument("delivery_id", metavar="ID", required=False)
@click.option("--session", "session_id", help="Replay a session's stream to --webhook.")
@click.option("--webhook", "webhook_ref", metavar="UUID|ALIAS", help="With --session.")
@click.option("--from-sequence", type=click.IntRange(1), default=1, show_default=True)
@click.option("--no-wait", is_flag=True, help="Start the redelivery and return.")
@pass_app
def redeliver(
    app: AppContext,
    delivery_id: str | None,
    session_id: str | None,
    webhook_ref: str | None,
    from_sequence: int,
    no_wait: bool,
) -> None:
    """Send a delivery (or a session's stream) again, with the same webhook-id.

    It runs as a Redeliver workflow on Temporal, with the webhook's retry
    ladder, and shows in the UI and in the delivery log.
    """
    engine, box = app.store()
    with Session(engine) as session:
        rows, webhook = _redelivery_rows(
            session, delivery_id, session_id, webhook_ref, from_sequence
        )
        if not webhook.enabled:
            raise CommandError(
                f"webhook {webhook.alias} is disabled ({webhook.disabled_reason}): "
                "enable it with `hookflow webhooks update --enable` first"
            )
        target = target_of(webhook, "redelivery")
        items = [
            DeliveryCarry(
                target=target, envelope=Envelope.model_validate(envelope_of(row, box=box))
            )
            for row in rows
        ]
    req = Redeliver(project=webhook.project, items=items)
    workflow_id = f"redeliver-{uuid.uuid4().hex[:12]}"
    progress = run_with_client(
        app.settings, lambda client: _run_redelivery(client, app, req, workflow_id, no_wait)
    )
    if progress is None:
        click.echo(
            f"started {workflow_id}: {plural(len(items), 'delivery', 'deliveries')} "
            f"to {webhook.alias}"
        )
        return
    click.echo(f"{progress.delivered} delivered, {progress.failed} failed ({workflow_id})")
    for error in progress.errors:
        click.echo(f"  {error}")
    if progress.failed:
        raise CommandError(f"{progress.failed} of {progress.total} redeliveries failed")


def _redelivery_rows(
    session: Session,
    delivery_id: str | None,
    session_id: str | None,
    webhook_ref: str | None,
    from_sequence: int,
) -> tuple[list[Delivery], Webhook]:
    if delivery_id and (session_id or webhook_ref):
        raise CommandError("give a delivery ID, or --session with --webhook, not both")
    if delivery_id:
        row = session.get(Delivery, delivery_id)
        if row is None:
            raise CommandError(f"no delivery {delivery_id}")
        rows = [row]
        webhook = session.get(Webhook, row.webhook_id)
        if webhook is None:
            raise CommandError(f"the webhook of delivery {delivery_id} was deleted")
        return rows, webhook
    if not (session_id and webhook_ref):
        raise CommandError("give a delivery ID, or --session and --webhook")
    webhook = find_webhook(session=session, ref=webhook_ref)
    rows = deliveries_from(
        session=session, session_id=session_id, webhook_id=webhook.id, from_sequence=from_sequence
    )
    if not rows:
        raise CommandError(
            f"no deliveries of session {session_id} to {webhook.alias} "
            f"from sequence {from_sequence}"
        )
    return rows, webhook


async def _run_redelivery(
    client: Client, app: AppContext, req: Redeliver, workflow_id: str, no_wait: bool
) -> RedeliverProgress | None:
    handle = await client.start_workflow(
        RedeliverWorkflow.run,
        req,
        id=workflow_id,
        task_queue=app.settings.task_queue,
        static_summary=f"redeliver {plural(len(req.items), 'event')} "
        f"to {req.items[0].target.alias}",
    )
    if no_wait:
        return None
    return await follow(
        handle.result(),
        lambda: handle.query(RedeliverWorkflow.progress),
        lambda p: f"redelivering: {p.done}/{p.total} ({p.failed} failed)",
    )


@deliveries.command("show")
@click.argument("delivery_id", metavar="ID")
@click.option("--json", "as_json", is_flag=True)
@pass_app
def show(app: AppContext, delivery_id: str, as_json: bool) -> None:
    """Show a delivery and every attempt."""
    engine, box = app.store()
    with Session(engine) as session:
        delivery = session.get(Delivery, delivery_id)
        if delivery is None:
            raise CommandError(f"no delivery {delivery_id}")
        attempts = attempts_of(session=session, delivery=delivery_id)
        webhook = session.get(Webhook, delivery.webhook_id)
    named = f"{webhook.alias} ({webhook.id})" if webhook else f"{delivery.webhook_id} (deleted)"
    excerpts = [excerpt_of(a, box=box) for a in attempts]
    if as_json:
        print_json(
            {
                **delivery.model_dump(mode="json"),
                "envelope": envelope_of(delivery, box=box),
                "attempt_log": [
                    {**a.model_dump(mode="json"), "response_excerpt": excerpt}
                    for a, excerpt in zip(attempts, excerpts, strict=True)
                ],
            }
        )
        return
    print_fields(
        [
            ("id", delivery.id),
            ("session", delivery.session_id),
            ("webhook", named),
            ("event", f"#{delivery.sequence} {delivery.event_type} ({delivery.event_id})"),
            ("status", delivery.status),
            ("attempts", delivery.attempts),
        ]
    )
    print_table(
        ["#", "STARTED", "OUTCOME", "HTTP", "LATENCY", "ERROR", "RESPONSE"],
        [
            [
                a.attempt,
                f"{a.started_at:%Y-%m-%d %H:%M:%S}",
                a.outcome,
                a.status_code,
                f"{a.latency_ms:.0f} ms",
                a.error,
                (excerpt or "")[:80].replace("\n", " "),
            ]
            for a, excerpt in zip(attempts, excerpts, strict=True)
        ],
    )
