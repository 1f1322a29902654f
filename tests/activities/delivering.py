"""Running the delivery activity as a worker would, against real loopback receivers."""

from __future__ import annotations

import uuid
from collections.abc import AsyncIterator, Sequence
from contextlib import asynccontextmanager
from dataclasses import dataclass, field, replace
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

from sqlalchemy.engine import Engine
from sqlmodel import Session, col, select
from temporalio.testing import ActivityEnvironment

from activities.contracts import DeliverInput, DeliveryResult, Envelope, EventInfo, SessionInfo
from activities.delivery.activity import DeliveryActivities
from activities.delivery.bulkhead import Bulkhead
from activities.delivery.gate import Gate
from activities.delivery.guard import parse_networks
from activities.delivery.health import CircuitPolicy
from activities.delivery.http import HttpClients
from activities.delivery.tokens import TokenCache
from activities.files.documents import LocalDocumentStore
from activities.store.crypto import SecretBox
from activities.store.database import utcnow
from activities.store.tables import Attempt, Delivery


@dataclass
class Clock:
    """A wall clock the test moves by hand."""

    now: datetime = field(default_factory=lambda: datetime.now(UTC))

    def __call__(self) -> datetime:
        return self.now

    def advance(self, **delta: float) -> None:
        self.now += timedelta(**delta)


def envelope(
    sequence: int, *, session_id: str = "s1", event_type: str = "WHP_STORAGE_CALLBACK"
) -> Envelope:
    return Envelope(
        event=EventInfo(
            id=f"evt_{session_id}_{sequence}_{uuid.uuid4().hex[:6]}",
            type=event_type,
            timestamp=datetime.now(UTC),
            sequence=sequence,
        ),
        session=SessionInfo(
            id=session_id,
            reference="ref",
            process_id="ref",
            process_number=1,
            transaction_number=1,
            recipient={"id": 1, "name": "client"},  # type: ignore[arg-type]
            labels={},
        ),
        storage={"n": sequence},
    )


def request(webhook_id: uuid.UUID, *sequences: int, **fields: Any) -> DeliverInput:
    first, *rest = sequences
    fields.setdefault("retry_schedule", [0, 5, 300])
    fields.setdefault("project", "acme")
    return DeliverInput(
        webhook_id=webhook_id,
        envelope=envelope(first),
        following=[envelope(n) for n in rest],
        **fields,
    )


def activity_env(
    *,
    attempt: int = 1,
    run: str = "run-1",
    activity_id: str = "1",
    time_left: timedelta = timedelta(hours=1),
    heartbeats: list[Any] | None = None,
    resumed: Sequence[Any] = (),
    local: bool = False,
) -> ActivityEnvironment:
    """The context a worker gives one attempt of one delivery activity
    (``time_left``: until the delivery's schedule-to-close deadline;
    ``heartbeats`` collects what it heartbeats, ``resumed`` is what a lost
    attempt heartbeated before)."""
    env = ActivityEnvironment()
    if heartbeats is not None:
        env.on_heartbeat = lambda *details: heartbeats.append(details[0])
    env.info = replace(
        env.info,
        heartbeat_timeout=timedelta(seconds=30) if heartbeats is not None else None,
        heartbeat_details=list(resumed),
        attempt=attempt,
        is_local=local,
        activity_type="deliver",
        workflow_run_id=run,
        activity_id=activity_id,
        scheduled_time=datetime.now(UTC) + time_left - timedelta(hours=1),
        schedule_to_close_timeout=timedelta(hours=1),
        start_to_close_timeout=timedelta(seconds=60),
    )
    return env


async def run_deliver(
    activities: DeliveryActivities, req: DeliverInput, **env: Any
) -> DeliveryResult:
    result: DeliveryResult = await activity_env(**env).run(activities.deliver, req)
    return result


@asynccontextmanager
async def delivery_activities(
    engine: Engine,
    box: SecretBox,
    tmp_path: Path,
    *,
    clock: Clock | None = None,
    policy: CircuitPolicy | None = None,
    max_in_flight: int = 50,
    public_url: str | None = None,
    bulkhead: Bulkhead | None = None,
    transport: str = "aiohttp",
) -> AsyncIterator[DeliveryActivities]:
    http = HttpClients(allowed=parse_networks("127.0.0.0/8,::1/128"), transport=transport)
    gate = Gate(
        engine=engine,
        policy=policy,
        bulkhead=bulkhead or Bulkhead(max_in_flight),
        clock=clock or utcnow,
        cache_ttl=0,
    )
    try:
        yield DeliveryActivities(
            engine=engine,
            box=box,
            http=http,
            tokens=TokenCache(http),
            documents=LocalDocumentStore(tmp_path / "documents"),
            gate=gate,
            public_url=public_url,
        )
    finally:
        await http.aclose()


def logged(engine: Engine, webhook_id: uuid.UUID) -> list[tuple[Delivery, list[Attempt]]]:
    """The webhook's deliveries in sequence order, each with its attempts."""
    with Session(engine) as session:
        rows = session.exec(
            select(Delivery)
            .where(Delivery.webhook_id == webhook_id)
            .order_by(col(Delivery.sequence))
        )
        return [
            (
                row,
                list(
                    session.exec(
                        select(Attempt)
                        .where(Attempt.delivery_id == row.id)
                        .order_by(col(Attempt.id))
                    )
                ),
            )
            for row in rows
        ]
