"""What a redelivery sends: one delivery, a session's stream, or a window of a
webhook's deliveries, planned from the delivery log as one ``Redeliver``
request per (session, webhook) stream, its events in order."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import UTC, datetime, timedelta
from typing import Literal

from sqlalchemy.engine import Engine
from sqlmodel import Session

from activities.contracts import DeliveryCarry, DeliveryStatus, Envelope, Redeliver
from activities.delivery.retry import parse_duration
from activities.errors import ConfigError, Conflict, NotFound
from activities.log.attempts import deliveries_from, deliveries_in_window, envelope_of
from activities.store.crypto import SecretBox
from activities.store.tables import Delivery, Webhook
from activities.store.webhooks import find_webhook, target_of

WindowStatus = Literal["failed", "held"]


def _still_sending(row: Delivery) -> str:
    due = (
        f"next attempt at {row.next_attempt_at:%Y-%m-%d %H:%M:%S} UTC"
        if row.next_attempt_at
        else "an attempt is under way"
    )
    return (
        f"delivery {row.id} is still being delivered by its session ({row.status}, "
        f"{row.attempts} attempts so far; {due}): it is not redelivered"
    )


def parse_when(text: str, *, now: datetime | None = None) -> datetime:
    """An ISO 8601 time (UTC if no zone is given), or a duration ago (``24h``, ``30m``)."""
    now = now or datetime.now(UTC)
    try:
        return now - timedelta(seconds=parse_duration(text))
    except ValueError:
        pass
    try:
        when = datetime.fromisoformat(text)
    except ValueError:
        raise ConfigError(f"{text!r} is neither a time (ISO 8601) nor a duration (24h)") from None
    return when if when.tzinfo else when.replace(tzinfo=UTC)


def _usable(webhook: Webhook) -> Webhook:
    if not webhook.enabled:
        raise Conflict(
            f"webhook {webhook.alias} is disabled ({webhook.disabled_reason}): "
            "enable it with `hookflow webhooks update --enable` first"
        )
    return webhook


def streams_of(webhook: Webhook, rows: Sequence[Delivery], box: SecretBox) -> list[Redeliver]:
    """One request per session stream, its events in sequence order. A delivery
    its session is still sending (pending: its ladder is on it) is refused: a
    redelivery would be a second ladder for it; a waiting one is tried now by
    its session."""
    pending = [row for row in rows if row.status == DeliveryStatus.PENDING]
    if pending:
        raise Conflict(_still_sending(pending[0]))
    target = target_of(webhook, "redelivery")
    by_session: dict[str, list[DeliveryCarry]] = {}
    for row in sorted(rows, key=lambda r: (r.session_id, r.sequence)):
        envelope = Envelope.model_validate(envelope_of(row, box=box))
        carry = DeliveryCarry(
            target=target,
            envelope=envelope,
            status=DeliveryStatus(row.status),
            attempts=row.attempts,
        )
        by_session.setdefault(row.session_id, []).append(carry)
    return [Redeliver(project=webhook.project, items=items) for items in by_session.values()]


def plan_one(
    *, engine: Engine, box: SecretBox, delivery_id: str, project: str | None = None
) -> list[Redeliver]:
    """A delivery (of ``project`` when given: another project's is not found)."""
    with Session(engine) as session:
        row = session.get(Delivery, delivery_id)
        if row is None or (project and row.project != project):
            raise NotFound(f"no delivery {delivery_id}")
        webhook = session.get(Webhook, row.webhook_id)
        if webhook is None:
            raise Conflict(f"the webhook of delivery {delivery_id} was deleted")
        return streams_of(_usable(webhook), [row], box)


def plan_stream(
    *,
    engine: Engine,
    box: SecretBox,
    session_id: str,
    webhook: str,
    from_sequence: int,
    project: str | None,
) -> list[Redeliver]:
    """A session's stream to one webhook, from a sequence on."""
    with Session(engine) as session:
        found = _usable(find_webhook(session=session, ref=webhook, project=project))
        rows = deliveries_from(
            session=session, session_id=session_id, webhook_id=found.id, from_sequence=from_sequence
        )
        if not rows:
            raise NotFound(
                f"no deliveries of session {session_id} to {found.alias} "
                f"from sequence {from_sequence}"
            )
        return streams_of(found, rows, box)


def plan_window(
    *,
    engine: Engine,
    box: SecretBox,
    webhook: str,
    project: str | None,
    status: WindowStatus,
    since: datetime | None,
    until: datetime | None,
) -> list[Redeliver]:
    """A webhook's failed (or held) deliveries created in [since, until)."""
    if since and until and since >= until:
        raise ConfigError("since must be before until")
    with Session(engine) as session:
        found = _usable(find_webhook(session=session, ref=webhook, project=project))
        rows = deliveries_in_window(
            session=session, webhook_id=found.id, statuses=[status], since=since, until=until
        )
        if not rows:
            raise NotFound(f"no {status} deliveries to {found.alias} in that window")
        return streams_of(found, rows, box)
