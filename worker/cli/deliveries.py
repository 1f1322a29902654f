"""``hookflow deliveries``: the delivery log."""

from __future__ import annotations

import asyncio
import uuid
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

import click
from sqlalchemy.engine import Engine
from sqlmodel import Session, col, select

from activities.contracts import DeliveryStatus, Redeliver
from activities.log.attempts import attempts_of, envelope_of, excerpt_of
from activities.log.headers import open_headers
from activities.store.crypto import SecretBox
from activities.store.tables import Delivery, Webhook
from activities.store.webhooks import find_webhook
from worker.cli.context import AppContext, connector, pass_app
from worker.cli.output import CommandError, paged, print_fields, print_json, print_next, print_table
from worker.cli.redeliver_watch import Watch, report
from worker.services.delivery_pages import DeliveryFilter, delivery_page
from worker.services.redelivery import redeliver_planned
from worker.services.redelivery_plans import (
    WindowStatus,
    parse_when,
    plan_one,
    plan_stream,
    plan_window,
)


@click.group()
def deliveries() -> None:
    """Read the delivery log: every event sent to every webhook, every attempt."""


@deliveries.command("list")
@click.option("--session", "session_id", help="Only this session.")
@click.option("--webhook", "webhook_ref", metavar="UUID|ALIAS", help="Only this webhook.")
@click.option("--project", help="Only this project (and the project of --webhook's alias).")
@click.option("--status", type=click.Choice([s.value for s in DeliveryStatus]))
@paged
@click.option("--json", "as_json", is_flag=True)
@pass_app
def list_(
    app: AppContext,
    session_id: str | None,
    webhook_ref: str | None,
    project: str | None,
    status: str | None,
    limit: int,
    after: str | None,
    as_json: bool,
) -> None:
    """List deliveries, newest first; a full page ends with the --after CURSOR
    of the next one (on stderr)."""
    engine, _box = app.store()
    with Session(engine) as session:
        webhook_id = (
            find_webhook(session=session, ref=webhook_ref, project=project).id
            if webhook_ref
            else None
        )
        where = DeliveryFilter(
            project=project, session_id=session_id, webhook_id=webhook_id, status=status
        )
        page = delivery_page(session=session, where=where, limit=limit, after=after)
        aliases = _aliases(session, {row.webhook_id for row in page.rows})
    if as_json:
        print_json([row.model_dump(mode="json", exclude={"envelope"}) for row in page.rows])
    else:
        _print_rows(page.rows, aliases)
    print_next(page.next)


def _print_rows(rows: Sequence[Delivery], aliases: dict[uuid.UUID, str]) -> None:
    print_table(
        [
            "ID",
            "SESSION",
            "SEQ",
            "EVENT",
            "WEBHOOK",
            "STATUS",
            "ATTEMPTS",
            "HTTP",
            "NEXT",
            "UPDATED",
        ],
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
                _when(r.next_attempt_at),
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
@click.option("--webhook", "webhook_ref", metavar="UUID|ALIAS", help="The webhook to send to.")
@click.option("--project", help="Project of --webhook's alias.")
@click.option("--session", "session_id", help="Replay a session's stream to --webhook.")
@click.option("--from-sequence", type=click.IntRange(1), default=1, show_default=True)
@click.option(
    "--status",
    type=click.Choice(["failed", "held"]),
    help="Window: which deliveries of --webhook (default failed).",
)
@click.option("--since", metavar="TIME", help="Window start: ISO 8601, or a duration ago (24h).")
@click.option("--until", metavar="TIME", help="Window end: ISO 8601, or a duration ago.")
@click.option("--no-wait", is_flag=True, help="Start the redelivery and return.")
@click.option(
    "--idempotency-key", metavar="KEY", help="The same key again redelivers once (retried scripts)."
)
@pass_app
def redeliver(app: AppContext, /, no_wait: bool, idempotency_key: str | None, **asked: Any) -> None:
    """Send a delivery, a session's stream or a window of a webhook's failed
    (or held) deliveries again, with the same webhook-id.

    \b
    hookflow deliveries redeliver ID
    hookflow deliveries redeliver --session S --webhook W [--from-sequence N]
    hookflow deliveries redeliver --webhook W [--project P] [--status failed|held]
                                  [--since T] [--until T]

    Each runs on Temporal with the webhook's retry ladder, each (session,
    webhook) stream in event order, and shows in the UI and in the delivery log.
    """
    target = _Target(**asked)
    target.check()
    engine, box = app.store()
    streams = target.plan(engine, box)
    watch = Watch(engine, streams) if not no_wait else None
    work = redeliver_planned(
        streams,
        temporal=connector(app.settings),
        settings=app.settings,
        wait=not no_wait,
        on_progress=watch.progress if watch else None,
        idempotency_key=idempotency_key,
    )
    if watch is None:
        report(asyncio.run(work))
        return
    try:
        summary = asyncio.run(watch.follow(work))
    except KeyboardInterrupt:
        if not watch.started:
            raise
        click.echo(
            "stopped waiting: the redelivery goes on on Temporal "
            "(see `hookflow deliveries list --status pending` or the Web UI)",
            err=True,
        )
        raise SystemExit(130) from None
    report(summary)


@dataclass(frozen=True)
class _Target:
    """What ``deliveries redeliver`` is asked to send again (its options)."""

    delivery_id: str | None
    webhook_ref: str | None
    project: str | None
    session_id: str | None
    from_sequence: int
    status: WindowStatus | None
    since: str | None
    until: str | None

    def check(self) -> None:
        """One delivery, a session's stream or a window: exactly one of them."""
        windowed = self.status is not None or self.since is not None or self.until is not None
        if self.delivery_id and (self.session_id or self.webhook_ref or windowed):
            raise CommandError(
                "give a delivery ID, or --webhook with a session or a window, not both"
            )
        if not self.delivery_id and not self.webhook_ref:
            raise CommandError("give a delivery ID, or --webhook (with --session, or a window)")
        if self.session_id and windowed:
            raise CommandError("--session replays a stream: --status/--since/--until do not apply")

    def plan(self, engine: Engine, box: SecretBox) -> list[Redeliver]:
        """What the redelivery sends, planned once (the watch shows these deliveries)."""
        if self.delivery_id:
            return plan_one(engine=engine, box=box, delivery_id=self.delivery_id)
        assert self.webhook_ref is not None  # check() made sure
        if self.session_id:
            return plan_stream(
                engine=engine,
                box=box,
                session_id=self.session_id,
                webhook=self.webhook_ref,
                from_sequence=self.from_sequence,
                project=self.project,
            )
        return plan_window(
            engine=engine,
            box=box,
            webhook=self.webhook_ref,
            project=self.project,
            status=self.status or "failed",
            since=parse_when(self.since) if self.since else None,
            until=parse_when(self.until) if self.until else None,
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
                    {
                        **a.model_dump(mode="json"),
                        "response_excerpt": excerpt,
                        "request_headers": open_headers(a.request_headers, box),
                        "response_headers": open_headers(a.response_headers, box),
                    }
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
            ("next attempt", _when(delivery.next_attempt_at) or "-"),
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
    for a in attempts:  # each attempt's headers: sent (credentials masked), then received
        for side, stored in (("request", a.request_headers), ("response", a.response_headers)):
            if headers := open_headers(stored, box):
                click.echo(f"\nattempt {a.attempt} {side} headers:")
                click.echo("\n".join(f"  {name}: {value}" for name, value in headers.items()))


def _when(at: datetime | None) -> str:
    return f"{at:%Y-%m-%d %H:%M:%S} UTC" if at else ""
