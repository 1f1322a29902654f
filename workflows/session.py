"""The ``Session`` workflow: one recipient filling one form, and its webhooks.

Signals become events in arrival order (``workflows.lifecycle``); the main
loop hands them to the outbox, one ordered stream per webhook
(``workflows.outbox``); the clock expires, reminds and deletes.
"""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import Sequence
from datetime import datetime, timedelta
from typing import Any

from pydantic import JsonValue
from temporalio import workflow
from temporalio.common import RawValue, SearchAttributeUpdate

with workflow.unsafe.imports_passed_through():
    from activities.catalog import (
        ALERT,
        CATALOG,
        REDELIVER_SIGNAL,
        RESUME_SIGNAL,
        SEND_SMS,
        WEBHOOK_DISABLED,
        receives,
    )
    from activities.contracts import (
        CreateSession,
        DeliveryRecord,
        FailureType,
        FieldChange,
        FieldValue,
        RedeliverSignal,
        ResumeSignal,
        SessionState,
        SessionStatus,
        WebhookTarget,
    )
    from workflows import calls, visibility
    from workflows.intake import Rejected
    from workflows.ledger import alert_data, disabled_data
    from workflows.lifecycle import Lifecycle
    from workflows.outbox import Outbox
    from workflows.patches import (
        DELIVERY_LOG,
        HANDOVER_AFTER_DRAIN,
        LEAN_START,
        LOCAL_ACTIVITIES,
        takes,
    )
    from workflows.remote import ask_remote_data
    from workflows.ticking import Ticking

# (Sessions started before ``DELIVERY_LOG``) configuration is read again when
# older than this, so that a webhook added while a session runs gets later events.
TARGETS_TTL = timedelta(minutes=5)
# Before continuing as new, deliveries under way may finish for this long.
CAN_GRACE = timedelta(seconds=30)
# What a run may hand to the next (below the server's payload limit, and
# ``hookflow up``'s 1.5 MiB): beyond it, the streams drain first.
MAX_CARRIED = 1000
MAX_CARRY_BYTES = 1024 * 1024


@workflow.defn(name="Session")
class SessionWorkflow(Lifecycle, Ticking):
    @workflow.init
    def __init__(self, req: CreateSession) -> None:
        super().__init__(req)
        self._lean = takes(LEAN_START)
        self._targets: list[WebhookTarget] = []
        self._resolved_at: datetime | None = None
        self._outbox = Outbox(project=req.project, alert=self._alert, changed=self._changed)
        self._failed = visibility.FailedWebhooks(self._upsert_attributes)
        self._local = False
        self._blocked_at: int | None = None  # a handover did not fit: again below this
        self._legacy_blocked = False  # (before HANDOVER_AFTER_DRAIN: on the next signal)

    # --- run -------------------------------------------------------------------

    @workflow.run
    async def run(self, req: CreateSession) -> SessionState:
        # Sessions started before local activities go on without them (replay-safe).
        self._local = self._outbox.local_first = self._lean or workflow.patched(LOCAL_ACTIVITIES)
        self._outbox.recording = self._lean or workflow.patched(DELIVERY_LOG)
        self._publish()
        if req.resume is not None:
            self._outbox.ledger.remember(req.resume.deliveries)
            self._outbox.restore(req.resume.pending)
        clock = asyncio.create_task(self._run_clock())
        while True:
            await workflow.wait_condition(
                lambda: bool(self._inbox) or self._finished() or self._handover_due()
            )
            await self._dispatch()
            if self._finished():
                break
            if workflow.info().is_continue_as_new_suggested() and self._may_hand_over():
                await self._continue_as_new()
        await workflow.wait_condition(workflow.all_handlers_finished)
        clock.cancel()
        self._describe()
        return self.state()

    def _handover_due(self) -> bool:  # a burst, then quiet: hand over once drained
        ready = not self._outbox.busy() and self._may_hand_over() and not self._legacy_blocked
        return ready and workflow.info().is_continue_as_new_suggested()

    def _may_hand_over(self) -> bool:
        return self._blocked_at is None or self._outbox.open_count() < self._blocked_at

    def _finished(self) -> bool:
        return (
            self._status == SessionStatus.DELETED
            and not self._inbox
            and self._idle()
            and self._outbox.settled()
        )

    async def _continue_as_new(self) -> None:
        """Hand what is pending to a fresh run if it fits in one payload; deliveries
        under way get a short grace, so few are sent twice (same ``webhook-id``)."""
        if self._outbox.open_count() > MAX_CARRIED:
            return
        self._blocked_at, self._legacy_blocked = None, False
        self._outbox.pausing = True
        with contextlib.suppress(TimeoutError):
            await workflow.wait_condition(
                lambda: not self._outbox.busy(), timeout=CAN_GRACE, timeout_summary="drain"
            )
        await workflow.wait_condition(workflow.all_handlers_finished)
        await self._dispatch()  # events that arrived meanwhile join the carry
        carry = self._carry(pending=self._outbox.carry(), deliveries=self._outbox.ledger.finished())
        if len(carry.model_dump_json()) > MAX_CARRY_BYTES:
            self._outbox.unpause()
            if self._lean or workflow.patched(HANDOVER_AFTER_DRAIN):
                self._blocked_at = self._outbox.open_count()
            else:
                self._legacy_blocked = True
            return
        workflow.continue_as_new(carry)

    # --- signals, updates, queries ------------------------------------------------

    @workflow.signal(dynamic=True)
    def signal(self, name: str, args: Sequence[RawValue]) -> None:
        """Every signal, by name: lifecycle signals of the catalog, redelivery and
        resumption. Whatever arrives, the worst outcome is a recorded problem."""
        try:
            payload = self._intake.payload(name, args)
            if name == REDELIVER_SIGNAL:
                self._redeliver(payload)
            elif name == RESUME_SIGNAL:
                data = self._intake.validate(name, payload, ResumeSignal)
                self._outbox.resume(data.webhook_id)
            else:
                self.on_signal(name, payload)
        except Rejected as err:
            self._problem(str(err))

    def _redeliver(self, payload: JsonValue) -> None:
        data = self._intake.validate(REDELIVER_SIGNAL, payload, RedeliverSignal)
        event_ids = set(data.event_ids) if data.event_ids is not None else None
        if self._outbox.redeliver(data.webhook_id, event_ids) == 0:
            raise Rejected(f"redeliver: nothing failed or held for webhook {data.webhook_id}")

    @workflow.update(name="field_changed")
    async def field_changed(self, req: FieldChange) -> list[FieldValue]:
        """Ask the project's remote-data webhooks for values while the form is
        edited (the event takes its place in the sequence). A failure is one line
        and the session goes on; an ``event_id`` is spent only on success."""
        envelope = self._new_event(
            CATALOG["remote_data"].event, client=req.client, change=req.change, fields=req.fields
        )
        await workflow.wait_condition(lambda: self._resolved_at is not None)
        values = await ask_remote_data(
            project=self._req.project,
            targets=[t for t in self._targets if t.type == "remote_data"],
            envelope=envelope,
            outbox=self._outbox,
        )
        if req.event_id is not None:
            self._intake.first_time(req.event_id)
        return values

    @field_changed.validator
    def _validate_field_changed(self, req: FieldChange) -> None:
        if self._status != SessionStatus.ACTIVE:
            raise ValueError(f"the session is {self._status.value}")
        if req.event_id is not None and req.event_id in self._intake.seen:
            raise ValueError(f"event {req.event_id} was already handled")

    @workflow.query(name="state")
    def state(self) -> SessionState:
        return SessionState(
            id=self._req.id,
            project=self._req.project,
            status=self._status,
            sequence=self._events.sequence,
            expires_at=self._clock.expires_at,
            delete_at=self._clock.delete_at,
            webhooks=self._targets,
            events=list(self._events.events),
            deliveries=self._outbox.ledger.records(),
            problems=self._problems,
        )

    # --- deliveries -----------------------------------------------------------------

    async def _dispatch(self) -> None:
        if self._resolved_at is None or self._stale_targets():
            await self._resolve_targets()
        inbox, self._inbox = self._inbox, []
        for envelope in inbox:
            targets = [t for t in self._targets if receives(t.type, envelope.event.type)]
            for target in targets:
                self._outbox.add(target, envelope)
            if not targets and envelope.event.type == SEND_SMS:
                self._problem(
                    f"SMS ({envelope.purpose}) not sent: project {self._req.project} "
                    "has no send_sms webhook"
                )
        for note in self._outbox.dropped:
            self._problem(note)
        self._outbox.dropped.clear()
        self._describe()
        await self._outbox.flush()

    def _stale_targets(self) -> bool:
        """Webhooks are read again for every batch of new events (a webhook added,
        changed or deleted is seen by the next event); sessions started before
        that read them again after ``TARGETS_TTL``."""
        if self._outbox.recording:
            return bool(self._inbox)
        assert self._resolved_at is not None
        return workflow.now() - self._resolved_at >= TARGETS_TTL

    async def _resolve_targets(self) -> None:
        resolved = await calls.resolve(
            project=self._req.project,
            template=self._req.template,
            integrations=[str(i.uuid) for i in self._req.integrations],
            summary=f"resolve webhooks of {self._req.project}",
            local=self._local,
        )
        self._targets = resolved.targets
        self._resolved_at = workflow.now()
        self._outbox.retarget(resolved.targets)
        for problem in resolved.problems:
            if problem not in self._problems:
                self._problem(problem)

    def _alert(
        self, record: DeliveryRecord, target: WebhookTarget, kind: FailureType | None
    ) -> None:
        """An exhausted delivery: the project's ``delivery_failed`` webhooks are told."""
        if target.type == "delivery_failed" or self._status == SessionStatus.DELETED:
            return
        self._emit(ALERT, data=alert_data(record))
        if kind == FailureType.DISABLED:
            self._emit(WEBHOOK_DISABLED, data=disabled_data(target, record.error))

    def _changed(self) -> None:
        self._failed.update(self._outbox.ledger.failed_aliases())
        self._describe()

    # --- visibility ---------------------------------------------------------------
    def _publish(self) -> None:
        visibility.publish(
            self._upsert_attributes,
            project=self._req.project,
            session_id=self._req.id,
            process_id=str(self._req.process_id),
            status=self._status.value,
            template=self._req.template,
        )
        self._describe()

    def _upsert_attributes(self, updates: list[SearchAttributeUpdate[Any]]) -> None:
        visibility.upsert(updates, lean=self._lean)

    def _describe(self) -> None:
        visibility.describe(
            f"**{self._status.value}**, {self._events.sequence} events",
            self._outbox.ledger.records(),
            self._problems,
        )
