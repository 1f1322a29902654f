"""The outbox: one ordered stream per webhook, each drained by its own task.

``Session``, ``BusinessProcess`` and ``Redeliver`` all deliver through it.
A stream sends its head, then the events queued behind it in the same
activity. A put-off (rate limit, open circuit, bulkhead) is waited out here,
without using an attempt. A disabled webhook's stream is held (paused) until
it is enabled; behind a delivery that exhausts its ladder, the rest of the
stream is held until it is redelivered: order holds through both. A deleted
webhook's stream is dropped. Streams never wait for each other.

Each delivery moves through ``activities.contracts.states``; the transitions
decided here are recorded in the delivery log (``Effects.record``), those of
attempts by the delivery activity, so the log and the ledger agree. What
becomes of a send (delivered, retried, failed, held) is in ``workflows.streams``.
"""

from __future__ import annotations

import asyncio
import uuid
from collections import deque
from collections.abc import Callable, Iterable
from datetime import timedelta

from temporalio import workflow
from temporalio.exceptions import ActivityError, ApplicationError

with workflow.unsafe.imports_passed_through():
    from activities.contracts import (
        DeliveryCarry,
        DeliveryMark,
        DeliveryRecord,
        DeliveryStatus,
        Envelope,
        WebhookTarget,
    )
    from workflows import calls
    from workflows.effects import Effects, TemporalEffects
    from workflows.ledger import Ledger
    from workflows.streams import Alert, Outcomes, Stream

# Events of one stream one activity sends, in order.
MAX_BATCH = 50
# A paused stream asks again this often whether its webhook is enabled.
RECHECK = timedelta(minutes=10)


class Outbox(Outcomes):
    def __init__(
        self,
        *,
        project: str,
        alert: Alert,
        changed: Callable[[], None],
        effects: Effects | None = None,
    ) -> None:
        self._project = project
        self._alert = alert
        self._changed = changed
        self._fx: Effects = effects or TemporalEffects()
        self.ledger = Ledger()
        self._streams: dict[uuid.UUID, Stream] = {}
        self.pausing = False
        self.local_first = False  # first attempts as local activities (set by the owner)
        self.recording = False  # transitions into the delivery log (set by the owner)
        self.dropped: list[str] = []
        self._prior: dict[str, int] = {}  # attempts of a redelivered event before its redelivery
        self._marks: list[DeliveryMark] = []
        self._flushing = False

    # --- in ---------------------------------------------------------------------

    def add(self, target: WebhookTarget, envelope: Envelope) -> DeliveryRecord:
        """Queue ``envelope`` for ``target``, behind the events queued before it.
        One that is not sent at once (its stream is busy or held) is logged as
        it stands (``flush``)."""
        record = self.ledger.track(target, envelope)
        stream = self._stream(target)
        stream.queue.append(envelope.event.id)
        if stream.held is not None:
            self._set(record, DeliveryStatus.HELD, stream.held)
        elif stream.task is not None:
            self._set(record, DeliveryStatus.PENDING, None)
        self._kick(stream)
        return record

    def restore(self, carried: Iterable[DeliveryCarry]) -> None:
        """Deliveries handed over by continue-as-new, with their status (the log has them)."""
        for item in carried:
            record = self.ledger.track(item.target, item.envelope)
            record.status, record.error = item.status, item.error
            record.attempts = item.attempts
            stream = self._stream(item.target)
            if item.status == DeliveryStatus.FAILED:
                continue
            if not stream.queue:
                stream.offset = item.offset
            stream.queue.append(item.envelope.event.id)
            if item.status == DeliveryStatus.HELD and stream.held is None:
                behind = any(r.status == "failed" for r in self.ledger.of(item.target.id))
                stream.held = "held behind a failed delivery" if behind else "webhook paused"
                stream.paused = not behind
        self.unpause()

    def retarget(self, targets: Iterable[WebhookTarget]) -> None:
        """Fresh settings (timeout, ladder, alias) for these webhooks' streams."""
        for target in targets:
            if (stream := self._streams.get(target.id)) is not None:
                stream.target = target

    # --- release ------------------------------------------------------------------

    def resume(self, webhook_id: uuid.UUID) -> int:
        """The webhook was enabled: its paused stream goes on, in order."""
        stream = self._streams.get(webhook_id)
        return self._release(stream, []) if stream is not None and stream.paused else 0

    def redeliver(self, webhook_id: uuid.UUID, event_ids: set[str] | None = None) -> int:
        """Failed deliveries to this webhook (those named, or all) go again, in
        sequence order with the ones held behind them; returns how many. A
        delivery named that is waiting out a put-off is tried now instead (no
        second ladder)."""
        if (stream := self._streams.get(webhook_id)) is None:
            return 0
        records = self.ledger.of(webhook_id)
        waiting = [
            r
            for r in records
            if r.status == DeliveryStatus.WAITING and r.event_id in (event_ids or ())
        ]
        if waiting and stream.held is None:
            stream.nudged = True
            return len(waiting)
        again = [
            r.event_id
            for r in records
            if r.status == DeliveryStatus.FAILED
            and self.ledger.has_envelope(r.event_id)
            and (event_ids is None or r.event_id in event_ids)
        ]
        return self._release(stream, again) if again or stream.held else 0

    def _release(self, stream: Stream, again: list[str]) -> int:
        # A batch under way stays at the head (its outcome is read off the head);
        # the rest go in sequence order behind it.
        front = [e for e in stream.sending if e in stream.queue]
        if front and not self._fx.release_behind_batch():
            front = []  # (runs before the change: re-sorted as they ran)
        rest = (set(stream.queue) | set(again)) - set(front)
        order = sorted(rest, key=lambda e: self.ledger.envelope(e).event.sequence)
        stream.queue = deque(front + order)
        stream.held, stream.paused, stream.offset = None, False, 0
        for event_id in stream.queue:
            record = self.ledger.get(event_id, stream.target.id)
            if record.status == DeliveryStatus.FAILED:  # its attempts so far count on
                self._prior[event_id] = record.attempts
            self._set(record, DeliveryStatus.PENDING, None)
        self._kick(stream)
        self._changed()
        return len(stream.queue)

    # --- out ----------------------------------------------------------------------

    def settled(self) -> bool:
        """Nothing is being sent: every stream is empty or held (held deliveries
        are in the delivery log, where a redelivery finds them)."""
        return not self._marks and all(
            s.task is None or s.held is not None for s in self._streams.values()
        )

    def open_count(self) -> int:
        return sum(len(s.queue) for s in self._streams.values())

    def unpause(self) -> None:
        """Drain on after a handover that did not happen."""
        self.pausing = False
        for stream in self._streams.values():
            if stream.queue:
                self._kick(stream)

    def busy(self) -> bool:
        return self._flushing or any(s.task is not None for s in self._streams.values())

    def carry(self) -> list[DeliveryCarry]:
        """What continue-as-new hands over: every delivery not yet delivered."""
        heads = {s.queue[0]: s.offset for s in self._streams.values() if s.queue}
        return [
            DeliveryCarry(
                target=self._streams[r.webhook_id].target,
                envelope=self.ledger.envelope(r.event_id),
                status=r.status,
                attempts=r.attempts,
                error=r.error,
                offset=heads.get(r.event_id, 0),
            )
            for r in self.ledger.open()
            if r.webhook_id in self._streams and self.ledger.has_envelope(r.event_id)
        ]

    async def flush(self) -> None:
        """Record the transitions decided so far in the delivery log, in order."""
        if self._flushing:
            return
        self._flushing = True
        try:
            while self._marks:
                marks, self._marks = self._marks, []
                await self._fx.record(project=self._project, marks=marks)
        finally:
            self._flushing = False

    # --- draining -----------------------------------------------------------------

    def _stream(self, target: WebhookTarget) -> Stream:
        stream = self._streams.get(target.id)
        if stream is None:
            stream = self._streams[target.id] = Stream(target)
        return stream

    def _kick(self, stream: Stream) -> None:
        if stream.task is None:
            stream.task = asyncio.create_task(self._drain(stream))
        else:
            stream.nudged = True

    async def _drain(self, stream: Stream) -> None:
        while stream.queue and not self.pausing:
            if stream.held is not None and not await self._wait(stream):
                break
            if stream.held is not None and not stream.paused:
                continue
            await self._send(stream)
            await self.flush()
            self._changed()
        stream.task = None

    async def _send(self, stream: Stream) -> None:
        batch = [self.ledger.envelope(e) for e in list(stream.queue)[:MAX_BATCH]]
        # A lone event's first attempt runs locally (no round trip); a backlog
        # goes in regular activities, whose completions the server records
        # one by one (a crashed worker re-sends little).
        local = self.local_first and len(batch) == 1 and not stream.offset and not stream.held
        stream.sending = tuple(e.event.id for e in batch)
        try:
            result = await self._fx.deliver(
                project=self._project,
                target=stream.target,
                envelopes=batch,
                attempt_offset=stream.offset,
                local=local,
            )
        except (ActivityError, ApplicationError) as err:
            stream.sending = ()
            cause = calls.cause_of(err)
            if local and calls.retryable(err):
                delay = cause.next_retry_delay if isinstance(cause, ApplicationError) else None
                await self._retry_later(stream, calls.one_line(cause), delay)
            else:
                await self._settle(stream, cause)
        else:
            stream.sending = ()
            if result.waiting is not None:
                await self._wait_out(stream, result)
            else:
                await self._delivered(stream, result)

    async def _wait(self, stream: Stream) -> bool:
        """Wait for a release (a paused stream asks again now and then); False
        when the workflow hands over to its next run."""
        stream.nudged = False
        await self._fx.wait(
            lambda: stream.held is None or stream.nudged or self.pausing,
            timeout=RECHECK if stream.paused else None,
            summary=f"{stream.target.alias} paused",
        )
        return not self.pausing
