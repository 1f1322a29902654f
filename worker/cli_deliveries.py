"""``hookflow deliveries``: the delivery log."""

from __future__ import annotations

import uuid

import click
from sqlmodel import Session

from activities.deliveries import attempts_of, list_deliveries
from activities.tables import Delivery
from worker.context import AppContext, pass_app
from worker.output import CommandError, print_fields, print_json, print_table


@click.group()
def deliveries() -> None:
    """Read the delivery log: every event sent to every webhook, every attempt."""


@deliveries.command("list")
@click.option("--session", "session_id", help="Only this session.")
@click.option("--webhook", "webhook_id", type=click.UUID, help="Only this webhook (UUID).")
@click.option("--status", type=click.Choice(["pending", "delivered", "failed"]))
@click.option("--limit", type=click.IntRange(1, 10_000), default=100, show_default=True)
@click.option("--json", "as_json", is_flag=True)
@pass_app
def list_(
    app: AppContext,
    session_id: str | None,
    webhook_id: uuid.UUID | None,
    status: str | None,
    limit: int,
    as_json: bool,
) -> None:
    """List deliveries, newest first."""
    engine, _box = app.store()
    with Session(engine) as session:
        rows = list_deliveries(
            session=session,
            session_id=session_id,
            webhook_id=webhook_id,
            status=status,
            limit=limit,
        )
    if as_json:
        print_json([row.model_dump(mode="json", exclude={"envelope"}) for row in rows])
        return
    print_table(
        ["ID", "SESSION", "SEQ", "EVENT", "STATUS", "ATTEMPTS", "HTTP", "UPDATED"],
        [
            [
                r.id,
                r.session_id,
                r.sequence,
                r.event_type,
                r.status,
                r.attempts,
                r.status_code,
                f"{r.updated_at:%Y-%m-%d %H:%M:%S}",
            ]
            for r in rows
        ],
    )


@deliveries.command("show")
@click.argument("delivery_id", metavar="ID")
@click.option("--json", "as_json", is_flag=True)
@pass_app
def show(app: AppContext, delivery_id: str, as_json: bool) -> None:
    """Show a delivery and every attempt."""
    engine, _box = app.store()
    with Session(engine) as session:
        delivery = session.get(Delivery, delivery_id)
        if delivery is None:
            raise CommandError(f"no delivery {delivery_id}")
        attempts = attempts_of(session=session, delivery=delivery_id)
    if as_json:
        print_json(
            {
                **delivery.model_dump(mode="json"),
                "attempt_log": [a.model_dump(mode="json") for a in attempts],
            }
        )
        return
    print_fields(
        [
            ("id", delivery.id),
            ("session", delivery.session_id),
            ("webhook", delivery.webhook_id),
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
                (a.response_excerpt or "")[:80].replace("\n", " "),
            ]
            for a in attempts
        ],
    )
