"""A stream of the outbox, and what becomes of its head after a send.

``Outbox`` (``workflows.outbox``) queues and drains the streams; this base
of it settles a send's outcome: delivered, skipped, put off, to be retried,
failed (with a failover), or the stream held, paused or dropped.
"""

from __future__ import annotations

import asyncio
import uuid
from collections import deque
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import timedelta

from temporalio import workflow

with workflow.unsafe.imports_passed_through():
    from activities.contracts import (
        DeliveryMark,
        DeliveryRecord,
        DeliveryResult,
        DeliveryStatus,
        FailureType,
        WebhookTarget,
    )
    from activities.contracts.states import move
    from workflows import calls
    from workflows.effects import Effects
    from workflows.ledger import Ledger

Alert = Callable[[DeliveryRecord, WebhookTarget, FailureType | None], None]


@dataclass(eq=False)
class Stream:
    """The queue of one webhook: event ids in order, and why it waits, if it does."""

    target: WebhookTarget
    queue: deque[str] = field(default_factory=deque)
    held: str | None = None
    paused: bool = False  # held because the webhook is disabled: enabling releases it
    offset: int = 0  # attempts of the head made on its ladder by earlier activities
    nudged: bool = False
    task: asyncio.Task[None] | None = None
    sending: tuple[str, ...] = ()  # the batch under way: the queue's head, in order


class Outcomes:
    """The outbox's handling of a send's outcome (state set up by ``Outbox``)."""

    _project: str
    _alert: Alert
    _changed: Callable[[], None]
    _fx: Effects
    ledger: Ledger
    _streams: dict[uuid.UUID, Stream]
    recording: bool
    pausing: bool
    dropped: list[str]
    _prior: dict[str, int]
    _marks: list[DeliveryMark]

    async def _wait_out(self, stream: Stream, result: DeliveryResult) -> None:
        """The head was put off without an attempt: wait (a redelivery of it, or
        a handover, ends the wait early), then try again where its ladder was."""
        waiting = result.waiting
        assert waiting is not None
        record = self.ledger.get(stream.queue[0], stream.target.id)
        record.status, record.error = move(record.status, DeliveryStatus.WAITING), waiting.reason
        record.next_attempt_at = self._fx.now() + timedelta(seconds=waiting.seconds)
        stream.offset = waiting.attempts
        self._changed()
        stream.nudged = False
        await self._fx.wait(
            lambda: stream.nudged or self.pausing,
            timeout=timedelta(seconds=waiting.seconds),
            summary=f"{stream.target.alias}: {waiting.reason}"[:200],
        )

    async def _delivered(self, stream: Stream, result: DeliveryResult) -> None:
        head = stream.queue[0]
        sent = [(result.attempt + self._prior.pop(head, 0), result.status_code, result.skipped)]
        sent += [(0, event.status_code, event.skipped) for event in result.following]
        for attempts, status_code, skipped in sent:
            record = self.ledger.get(stream.queue.popleft(), stream.target.id)
            if skipped is not None:  # left out by the webhook's filter (the activity logged it)
                record.status, record.error = move(record.status, DeliveryStatus.SKIPPED), skipped
                record.next_attempt_at = None
                continue
            record.status = move(record.status, DeliveryStatus.DELIVERED)
            record.error, record.status_code, record.next_attempt_at = None, status_code, None
            record.attempts = attempts or record.attempts + 1
        stream.offset = 0
        stopped = result.stopped  # "not sent: ...": throttled or out of time, no attempt
        if stopped is not None and stream.queue and not stopped.startswith("not sent"):
            await self._retry_later(stream, stopped, None)
        self.ledger.prune()

    async def _retry_later(self, stream: Stream, error: str, delay: timedelta | None) -> None:
        """The head failed its first attempt outside the ladder's activity (a local
        attempt, or inside a batch): it goes on from the ladder's second step."""
        record = self.ledger.get(stream.queue[0], stream.target.id)
        record.attempts, record.error = record.attempts + 1, error
        record.status = move(record.status, DeliveryStatus.PENDING)
        stream.offset = 1
        schedule = stream.target.retry_schedule
        if delay is None and len(schedule) > 1:
            delay = timedelta(seconds=schedule[1])
        if delay:
            record.next_attempt_at = self._fx.now() + delay
            await self._fx.wait(
                lambda: False, timeout=delay, summary=f"retry {stream.target.alias}"
            )

    async def _settle(self, stream: Stream, cause: BaseException) -> None:
        kind = calls.failure_type(cause)
        error = calls.one_line(cause)
        target = stream.target
        if kind == FailureType.PAUSED:
            self._hold(stream, error, paused=True)
            return
        if kind == FailureType.UNAVAILABLE:
            for event_id in stream.queue:
                self._set(self.ledger.get(event_id, target.id), DeliveryStatus.SKIPPED, error)
            stream.queue.clear()
            self._streams.pop(target.id, None)
            self.dropped.append(f"webhook {target.alias} was deleted: its deliveries are skipped")
            return
        envelope = self.ledger.envelope(stream.queue.popleft())
        record = self.ledger.get(envelope.event.id, target.id)
        stream.offset = 0
        if kind == FailureType.EXHAUSTED:
            record.attempts = len(target.retry_schedule) + self._prior.pop(record.event_id, 0)
            if await self._fx.failover(project=self._project, target=target, envelope=envelope):
                # The failover URL took it: no alert, and the stream goes on.
                self._set(record, DeliveryStatus.FAILED, f"{error}; sent to the failover URL")
                return
        self._set(record, DeliveryStatus.FAILED, error)
        self._fx.warn(
            "ALERT delivery failed: %s -> %s: %s", record.event_type, target.alias, record.error
        )
        if kind != FailureType.INVALID and stream.queue:
            paused = kind in (FailureType.GONE, FailureType.DISABLED)
            self._hold(stream, f"held behind failed #{record.sequence}", paused=paused)
        self._alert(record, target, kind)
        self.ledger.prune()

    def _hold(self, stream: Stream, why: str, *, paused: bool) -> None:
        stream.held, stream.paused = why, paused
        for event_id in stream.queue:
            self._set(self.ledger.get(event_id, stream.target.id), DeliveryStatus.HELD, why)

    def _set(self, record: DeliveryRecord, status: DeliveryStatus, error: str | None) -> None:
        """A transition decided here: made in the ledger, and noted for the log."""
        record.status, record.error = move(record.status, status), error
        record.next_attempt_at = None
        if self.recording and self.ledger.has_envelope(record.event_id):
            envelope = self.ledger.envelope(record.event_id)
            self._marks.append(
                DeliveryMark(
                    webhook_id=record.webhook_id, envelope=envelope, status=status, error=error
                )
            )
