"""A model-based test of the outbox and its ledger against the real delivery log.

Hypothesis drives one outbox (the code every session, process and redelivery
sends through) with a fake of its effects: deliveries that succeed, fail,
are put off, paused, exhausted, lost or dropped; redeliveries, resumptions,
time passing and continue-as-new. The fake writes the delivery log as the
delivery activity does (``record_attempts``, ``Ledger.mark``); the outbox
writes its own transitions (``record_marks``). After every step:

- each stream's first deliveries arrive in order (an event that failed may
  arrive again later, when it is redelivered);
- each event reaches its endpoint once, unless it failed and was redelivered;
- the ledger's status of every delivery not in flight equals the log's;
- no delivery has made more attempts than its ladder has steps (one held and
  released starts a new ladder, as a redelivery does);
- every transition the ledger made is one the state machine allows.
"""

from __future__ import annotations

import asyncio
import uuid
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any

from hypothesis import HealthCheck, settings
from hypothesis import strategies as st
from hypothesis.stateful import RuleBasedStateMachine, invariant, precondition, rule
from sqlalchemy import create_engine
from sqlalchemy.pool import StaticPool
from sqlmodel import Session, SQLModel, select
from temporalio.exceptions import ApplicationError

from activities.contracts import (
    DeliveryMark,
    DeliveryResult,
    DeliveryStatus,
    Envelope,
    EventInfo,
    FailureType,
    RecipientRef,
    SentEvent,
    SessionInfo,
    Waiting,
    WebhookTarget,
)
from activities.contracts.states import TRANSITIONS
from activities.log.attempts import AttemptRecord, delivery_id, record_attempts, record_marks
from activities.store.crypto import SecretBox
from activities.store.tables import Delivery
from workflows.outbox import Outbox

BOX = SecretBox("model-test-key")
LADDER = [0.0, 5.0, 60.0]
WEBHOOKS = 3


@dataclass
class Call:
    target: WebhookTarget
    envelopes: list[Envelope]
    offset: int
    local: bool
    future: asyncio.Future[DeliveryResult] = field(repr=False)


@dataclass
class Waiter:
    condition: Callable[[], bool]
    deadline: datetime | None
    future: asyncio.Future[None] = field(repr=False)


class FakeEffects:
    """The outbox's world: a clock, calls the test completes, the real log."""

    def __init__(self, engine: object) -> None:
        self.engine = engine
        self.clock = datetime(2026, 1, 1, tzinfo=UTC)
        self.calls: list[Call] = []
        self.waiters: list[Waiter] = []

    async def deliver(
        self,
        *,
        project: str,
        target: WebhookTarget,
        envelopes: Sequence[Envelope],
        attempt_offset: int,
        local: bool,
    ) -> DeliveryResult:
        future: asyncio.Future[DeliveryResult] = asyncio.get_running_loop().create_future()
        self.calls.append(Call(target, list(envelopes), attempt_offset, local, future))
        return await future

    async def failover(self, *, project: str, target: WebhookTarget, envelope: Envelope) -> bool:
        return False

    async def record(self, *, project: str, marks: Sequence[DeliveryMark]) -> None:
        with Session(self.engine) as session:  # type: ignore[call-overload]
            record_marks(session=session, project=project, marks=marks, box=BOX)

    async def wait(
        self, condition: Callable[[], bool], *, timeout: timedelta | None, summary: str
    ) -> None:
        deadline = self.clock + timeout if timeout is not None else None
        future: asyncio.Future[None] = asyncio.get_running_loop().create_future()
        self.waiters.append(Waiter(condition, deadline, future))
        await future

    def now(self) -> datetime:
        return self.clock

    def warn(self, message: str, *args: object) -> None:
        pass

    def release_behind_batch(self) -> bool:
        return True

    def wake(self) -> None:
        for waiter in list(self.waiters):
            due = waiter.deadline is not None and self.clock >= waiter.deadline
            if due or waiter.condition():
                self.waiters.remove(waiter)
                if not waiter.future.done():
                    waiter.future.set_result(None)

    # --- what the delivery activity writes -----------------------------------------

    def attempt(self, call: Call, envelope: Envelope, outcome: str, attempt: int | None) -> None:
        record = AttemptRecord(
            webhook_id=call.target.id,
            project="acme",
            envelope=envelope,
            started_at=self.clock,
            status_code=200 if outcome == "delivered" else 500,
            latency_ms=1.0,
            outcome=outcome,
            error=None if outcome == "delivered" else "HTTP 500",
            response=None,
            attempt=attempt,
        )
        with Session(self.engine) as session:  # type: ignore[call-overload]
            record_attempts(session=session, records=[record], box=BOX)

    def mark(self, call: Call, envelopes: Sequence[Envelope], status: DeliveryStatus) -> None:
        marks = [
            DeliveryMark(webhook_id=call.target.id, envelope=e, status=status, error="fake")
            for e in envelopes
        ]
        with Session(self.engine) as session:  # type: ignore[call-overload]
            record_marks(session=session, project="acme", marks=marks, box=BOX)


def _target(n: int) -> WebhookTarget:
    return WebhookTarget(
        id=uuid.UUID(int=n + 1),
        alias=f"hook{n}",
        type="form_submitted",
        host="127.0.0.1",
        timeout=5.0,
        retry_schedule=LADDER,
        reason="implicit",
    )


def _envelope(sequence: int, at: datetime) -> Envelope:
    return Envelope(
        event=EventInfo(id=f"evt_{sequence}", type="WHEF_X", timestamp=at, sequence=sequence),
        session=SessionInfo(
            id="model",
            reference="r",
            process_id="p",
            process_number=1,
            transaction_number=1,
            recipient=RecipientRef(id=1, name="client"),
            labels={},
        ),
    )


class OutboxMachine(RuleBasedStateMachine):
    def __init__(self) -> None:
        super().__init__()
        self.loop = asyncio.new_event_loop()
        self.tasks: list[asyncio.Task[object]] = []

        def task_factory(loop: asyncio.AbstractEventLoop, coro: Any, **kw: Any) -> Any:
            task = asyncio.Task(coro, loop=loop, **kw)
            self.tasks.append(task)
            return task

        self.loop.set_task_factory(task_factory)
        engine = create_engine(
            "sqlite://", connect_args={"check_same_thread": False}, poolclass=StaticPool
        )
        SQLModel.metadata.create_all(engine)
        self.engine = engine
        self.fx = FakeEffects(engine)
        self.outbox = self._new_outbox()
        self.sequence = 0
        self.deleted: set[int] = set()
        self.received: dict[uuid.UUID, list[int]] = {}  # per webhook: sequences as they arrive
        self.ever_failed: set[tuple[str, uuid.UUID]] = set()
        self.ever_held: set[tuple[str, uuid.UUID]] = set()
        self.seen: dict[tuple[str, uuid.UUID], DeliveryStatus] = {}

    def _new_outbox(self) -> Outbox:
        outbox = Outbox(
            project="acme", alert=lambda *_: None, changed=lambda: None, effects=self.fx
        )
        outbox.local_first = outbox.recording = True
        return outbox

    def teardown(self) -> None:
        for task in asyncio.all_tasks(self.loop):
            task.cancel()
        self.loop.run_until_complete(asyncio.sleep(0))
        self.loop.close()

    def settle(self, action: Callable[[], object] | None = None) -> None:
        """Do ``action`` inside the loop (the outbox starts tasks), then let every
        task run until nothing moves."""

        async def run() -> None:
            if action is not None:
                action()
            await self.outbox.flush()
            for _ in range(30):
                self.fx.wake()
                await asyncio.sleep(0)

        self.loop.run_until_complete(run())

    # --- rules ---------------------------------------------------------------------

    @rule(webhook=st.integers(0, WEBHOOKS - 1), events=st.integers(1, 3))
    def signal(self, webhook: int, events: int) -> None:
        if webhook in self.deleted:
            return

        def add() -> None:
            for _ in range(events):
                self.sequence += 1
                self.outbox.add(_target(webhook), _envelope(self.sequence, self.fx.clock))

        self.settle(add)

    @precondition(lambda self: bool(self.fx.calls))
    @rule(
        pick=st.integers(0, 10),
        outcome=st.sampled_from(
            ["ok", "ok", "ok", "partial", "fail", "exhausted", "wait", "paused", "lost", "invalid"]
        ),
        fails=st.integers(0, 2),
        wait=st.floats(0.5, 120),
    )
    def complete(self, pick: int, outcome: str, fails: int, wait: float) -> None:
        call = self.fx.calls.pop(pick % len(self.fx.calls))
        head, *following = call.envelopes
        left = len(LADDER) - call.offset  # attempts this activity may make
        fails = 0 if call.local else min(fails, left - 1)
        for n in range(fails):  # Temporal's retries inside the activity, each an attempt
            self.fx.attempt(call, head, "retrying", call.offset + n + 1)
        attempt = call.offset + fails + 1
        future = call.future
        if outcome in ("ok", "partial"):
            self.fx.attempt(call, head, "delivered", attempt)
            self._arrive(call, head)
            sent = following if outcome == "ok" else following[: len(following) // 2]
            for envelope in sent:
                self.fx.attempt(call, envelope, "delivered", None)
                self._arrive(call, envelope)
            stopped = None
            if len(sent) < len(following):
                self.fx.attempt(call, following[len(sent)], "retrying", None)
                stopped = "HTTP 500 from hook"
            future.set_result(
                DeliveryResult(
                    status_code=200,
                    attempt=attempt,
                    following=[
                        SentEvent(event_id=e.event.id, status_code=200, latency_ms=1) for e in sent
                    ],
                    stopped=stopped,
                )
            )
        elif outcome == "wait":
            self.fx.mark(call, [head], DeliveryStatus.WAITING)
            future.set_result(
                DeliveryResult(
                    waiting=Waiting(seconds=wait, reason="circuit open", attempts=attempt - 1)
                )
            )
        elif outcome == "paused":
            self.fx.mark(call, call.envelopes, DeliveryStatus.HELD)
            # Released, a held delivery starts a new ladder (as a redelivery does).
            self.ever_held.update((e.event.id, call.target.id) for e in call.envelopes)
            future.set_exception(
                ApplicationError("paused", type=FailureType.PAUSED, non_retryable=True)
            )
        elif outcome == "invalid":
            self.fx.attempt(call, head, "failed", None)
            self.ever_failed.add((head.event.id, call.target.id))
            future.set_exception(
                ApplicationError("missing", type=FailureType.INVALID, non_retryable=True)
            )
        elif outcome == "lost":  # the last attempt's worker was lost: Temporal gives up
            self.ever_failed.add((head.event.id, call.target.id))
            future.set_exception(ApplicationError("activity timed out", non_retryable=True))
        elif outcome == "fail" and call.local and len(LADDER) > 1:
            self.fx.attempt(call, head, "retrying", attempt)
            future.set_exception(ApplicationError("HTTP 500", type=FailureType.UNDELIVERED))
        else:  # every step left failed
            for n in range(attempt, len(LADDER)):
                self.fx.attempt(call, head, "retrying", n)
            self.fx.attempt(call, head, "failed", len(LADDER))
            self.ever_failed.add((head.event.id, call.target.id))
            future.set_exception(
                ApplicationError("exhausted", type=FailureType.EXHAUSTED, non_retryable=True)
            )
        self.settle()

    @rule(seconds=st.floats(1, 600))
    def time_passes(self, seconds: float) -> None:
        self.fx.clock += timedelta(seconds=seconds)
        self.settle()

    @rule(webhook=st.integers(0, WEBHOOKS - 1))
    def redeliver(self, webhook: int) -> None:
        self.settle(lambda: self.outbox.redeliver(_target(webhook).id))

    @rule(webhook=st.integers(0, WEBHOOKS - 1))
    def resume(self, webhook: int) -> None:
        self.settle(lambda: self.outbox.resume(_target(webhook).id))

    @precondition(lambda self: bool(self.fx.calls))
    @rule(pick=st.integers(0, 10))
    def webhook_deleted(self, pick: int) -> None:
        call = self.fx.calls.pop(pick % len(self.fx.calls))
        self.deleted.add(int(call.target.id) - 1)
        call.future.set_exception(
            ApplicationError("deleted", type=FailureType.UNAVAILABLE, non_retryable=True)
        )
        self.settle()

    @rule()
    def continue_as_new(self) -> None:
        """As the session does: pause, and hand over only once nothing is under way."""
        self.outbox.pausing = True
        self.settle()
        if self.outbox.busy() or self.fx.calls:
            self.settle(self.outbox.unpause)
            return
        carried, finished = self.outbox.carry(), self.outbox.ledger.finished()
        self.outbox = self._new_outbox()

        def hand_over() -> None:
            self.outbox.ledger.remember(finished)
            self.outbox.restore(carried)

        self.settle(hand_over)

    def _arrive(self, call: Call, envelope: Envelope) -> None:
        self.received.setdefault(call.target.id, []).append(envelope.event.sequence)

    # --- invariants ---------------------------------------------------------------

    @invariant()
    def no_stream_crashed(self) -> None:
        crashed = [
            t.exception()
            for t in self.tasks
            if t.done() and not t.cancelled() and t.exception() is not None
        ]
        assert not crashed, crashed

    @invariant()
    def first_arrivals_in_order(self) -> None:
        for webhook_id, arrived in self.received.items():
            first = [
                s
                for s in dict.fromkeys(arrived)
                if (f"evt_{s}", webhook_id) not in self.ever_failed
            ]
            assert first == sorted(first), (webhook_id, arrived)

    @invariant()
    def delivered_once_unless_failed(self) -> None:
        for webhook_id, arrived in self.received.items():
            for sequence in set(arrived):
                if (f"evt_{sequence}", webhook_id) not in self.ever_failed:
                    assert arrived.count(sequence) == 1, (webhook_id, arrived)

    @invariant()
    def the_ledger_and_the_log_agree(self) -> None:
        in_flight = {(e.event.id, c.target.id) for c in self.fx.calls for e in c.envelopes}
        with Session(self.engine) as session:
            logged = {row.id: row for row in session.exec(select(Delivery))}
        for record in self.outbox.ledger.records():
            key = (record.event_id, record.webhook_id)
            row = logged.get(delivery_id(event_id=record.event_id, webhook_id=record.webhook_id))
            if key in in_flight:
                continue
            assert row is not None, record
            assert row.status == record.status, (record, row.status)

    @invariant()
    def attempts_within_the_ladder(self) -> None:
        for call in self.fx.calls:
            assert call.offset < len(LADDER), call
        with Session(self.engine) as session:
            for row in session.exec(select(Delivery)):
                key = (row.event_id, row.webhook_id)
                if key not in self.ever_failed and key not in self.ever_held:
                    assert row.attempts <= len(LADDER), row

    @invariant()
    def transitions_are_allowed(self) -> None:
        for record in self.outbox.ledger.records():
            key = (record.event_id, record.webhook_id)
            before = self.seen.get(key, DeliveryStatus.PENDING)
            assert record.status == before or record.status in TRANSITIONS[before], (
                before,
                record,
            )
            self.seen[key] = record.status


OutboxMachine.TestCase.settings = settings(
    max_examples=60,
    stateful_step_count=40,
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow],
)
test_outbox_model = OutboxMachine.TestCase
