"""The ``Session`` workflow: one recipient filling one form, and its webhooks.

Signals record events in arrival order (each gets the next ``sequence``); the
main loop hands them to one queue per webhook; each queue is drained by its
own task, so a failing webhook never delays another, and events reach one
webhook in order. Expiry and retention are one timer task.
"""

from __future__ import annotations

import asyncio
import contextlib
import functools
import json
import uuid
from collections import deque
from collections.abc import Sequence
from datetime import datetime, timedelta
from typing import Any, TypeVar

from pydantic import JsonValue, ValidationError
from temporalio import workflow
from temporalio.common import RawValue, SearchAttributeUpdate
from temporalio.exceptions import ActivityError, ApplicationError

with workflow.unsafe.imports_passed_through():
    from activities.catalog import (
        ALERT,
        ARCHIVE,
        BY_SIGNAL,
        CATALOG,
        CREATED,
        DELETED,
        EXPIRED,
        FORM_LOADED,
        LOGGED_IN,
        REMOTE_DATA,
        SEND_SMS,
        STORAGE,
        SUBMITTED,
    )
    from activities.contracts import (
        DEFAULT_EXPIRES_IN,
        MAX_SIGNAL_BYTES,
        ClientSignal,
        CreateSession,
        DeliveryCarry,
        DeliveryRecord,
        DeliveryStatus,
        Envelope,
        EventInfo,
        EventRecord,
        FailureType,
        FieldChange,
        FieldValue,
        FormSubmittedSignal,
        RecipientRef,
        ResolveWebhooks,
        SessionCarry,
        SessionInfo,
        SessionState,
        SessionStatus,
        SignalPayload,
        SmsSignal,
        StationResult,
        StorageSignal,
        WebhookTarget,
    )
    from activities.store.activity import ConfigActivities
    from workflows import policies
    from workflows.delivery import deliver, one_line, settle_failure, store_files
    from workflows.names import (
        SA_FAILED,
        SA_PROCESS,
        SA_PROJECT,
        SA_SESSION,
        SA_STATUS,
        SA_TEMPLATE,
    )

P = TypeVar("P", bound=SignalPayload)


# Configuration is read again when older than this, so that a webhook added
# while a session runs gets the session's later events.
TARGETS_TTL = timedelta(minutes=5)
MAX_PROBLEMS = 50
# Before continuing as new, deliveries under way may finish for this long.
CAN_GRACE = timedelta(seconds=30)


@workflow.defn(name="Session")
class SessionWorkflow:
    @workflow.init
    def __init__(self, req: CreateSession) -> None:
        self._req = req
        carry = req.resume
        now = workflow.now()
        self._info = SessionInfo(
            id=req.id,
            reference=str(req.process_id),
            process_id=str(req.process_id),
            process_number=req.process_number or 0,
            transaction_number=req.transaction_number or 0,
            recipient=RecipientRef(id=req.recipient.id, name=req.recipient.name),
            labels=req.labels,
        )
        self._status = carry.status if carry else SessionStatus.ACTIVE
        self._sequence = carry.sequence if carry else 0
        self._seen: set[str] = set(carry.seen_event_ids) if carry else set()
        self._expires_at: datetime = (
            carry.expires_at
            if carry
            else req.expires_at or now + (req.expires_in or DEFAULT_EXPIRES_IN)
        )
        self._delete_at: datetime | None = carry.delete_at if carry else None
        self._events: list[EventRecord] = list(carry.events) if carry else []
        self._deliveries: list[DeliveryRecord] = list(carry.deliveries) if carry else []
        self._problems: list[str] = list(carry.problems) if carry else []
        self._inbox: list[Envelope] = []
        self._targets: list[WebhookTarget] = []
        self._resolved_at: datetime | None = None
        self._queues: dict[uuid.UUID, deque[Envelope]] = {}
        self._draining: dict[uuid.UUID, asyncio.Task[None]] = {}
        self._side_tasks: list[asyncio.Task[None]] = []
        self._pausing = False
        self._carried = list(carry.pending) if carry else []
        self._logged_in = carry.logged_in if carry else False
        self._reminder_at: datetime | None = (
            carry.reminder_at
            if carry
            else (now + req.reminder_after if req.reminder_after else None)
        )
        if carry is None:
            self._emit(CREATED)
            if req.recipient.phone:
                self._sms("invitation", f"Hello {req.recipient.name}, please fill in your form")

    # --- run -------------------------------------------------------------------

    @workflow.run
    async def run(self, req: CreateSession) -> SessionState:
        self._publish_status()
        for item in self._carried:
            self._enqueue(item.target, item.envelope, new=False)
        clock = asyncio.create_task(self._clock())
        while True:
            await workflow.wait_condition(
                lambda: (
                    bool(self._inbox) or (self._status == SessionStatus.DELETED and self._idle())
                )
            )
            await self._dispatch()
            if self._status == SessionStatus.DELETED and not self._inbox and self._idle():
                break
            if workflow.info().is_continue_as_new_suggested():
                await self._continue_as_new()
        await workflow.wait_condition(
            lambda: not self._draining and workflow.all_handlers_finished()
        )
        await asyncio.gather(*self._side_tasks)
        clock.cancel()
        self._describe()
        return self.state()

    async def _continue_as_new(self) -> None:
        """Hand everything pending to a fresh run. Deliveries under way get a short
        grace to finish, so that few are sent twice (a repeat keeps its
        ``webhook-id``, the receiver's idempotency key)."""
        self._pausing = True
        with contextlib.suppress(TimeoutError):
            await workflow.wait_condition(
                lambda: not self._draining, timeout=CAN_GRACE, timeout_summary="drain"
            )
        await workflow.wait_condition(workflow.all_handlers_finished)
        await self._dispatch()  # events that arrived meanwhile join the queues
        workflow.continue_as_new(self._carry_over())

    async def _clock(self) -> None:
        """Expiry, then deletion at the end of retention: one timer at a time."""
        while self._status != SessionStatus.DELETED:
            deadline = self._deadline()
            wait = (deadline - workflow.now()).total_seconds()
            if wait > 0:
                summary = "expiry" if self._status == SessionStatus.ACTIVE else "retention"
                with contextlib.suppress(TimeoutError):
                    await workflow.wait_condition(
                        functools.partial(self._deadline_moved, deadline),
                        timeout=wait,
                        timeout_summary=summary,
                    )
                continue
            if self._reminder_at is not None and self._reminder_at <= workflow.now():
                self._reminder_at = None
                if (
                    self._status == SessionStatus.ACTIVE
                    and not self._logged_in
                    and self._req.recipient.phone
                ):
                    self._sms("reminder", f"Reminder: {self._req.recipient.name}, your form waits")
            elif self._status == SessionStatus.ACTIVE:
                self._expire()
            else:
                self._delete()

    def _idle(self) -> bool:
        """No side work (storage, process notices) that could still emit an event."""
        return all(task.done() for task in self._side_tasks)

    def _deadline_moved(self, deadline: datetime) -> bool:
        return self._deadline() != deadline

    def _deadline(self) -> datetime:
        if self._status == SessionStatus.ACTIVE or self._delete_at is None:
            deadline = self._expires_at
        else:
            deadline = self._delete_at
        if self._reminder_at is not None and self._status == SessionStatus.ACTIVE:
            deadline = min(deadline, self._reminder_at)
        return deadline

    # --- signals ---------------------------------------------------------------

    @workflow.signal(name="client_logged_in")
    def client_logged_in(self, payload: JsonValue = None) -> None:
        if (data := self._accept("client_logged_in", payload, ClientSignal)) is not None:
            self._logged_in = True
            self._emit(LOGGED_IN, client=data.client)

    @workflow.signal(name="form_loaded")
    def form_loaded(self, payload: JsonValue = None) -> None:
        if (data := self._accept("form_loaded", payload, ClientSignal)) is not None:
            self._emit(FORM_LOADED, client=data.client)

    @workflow.signal(name="form_submitted")
    def form_submitted(self, payload: JsonValue = None) -> None:
        data = self._accept("form_submitted", payload, FormSubmittedSignal)
        if data is None:
            return
        self._status = SessionStatus.SUBMITTED
        self._delete_at = workflow.now() + self._req.retention
        files: dict[str, Any] = {"attachments": data.attachments, "document": data.document}
        self._emit(SUBMITTED, client=data.client, form_data=data.form_data, **files)
        station = self._station_record(data)
        if self._req.standalone:
            archive = self._emit(ARCHIVE, form_data=data.form_data, sessions=[station], **files)
            # Sessions started before storage existed go on without it (replay-safe).
            if workflow.patched("storage-after-archive"):
                self._side_tasks.append(asyncio.create_task(self._store_files(archive)))
        else:
            self._notify_process(station)
        self._publish_status()

    @workflow.signal(name="storage_completed")
    def storage_completed(self, payload: JsonValue = None) -> None:
        allowed = (SessionStatus.ACTIVE, SessionStatus.SUBMITTED, SessionStatus.EXPIRED)
        data = self._accept("storage_completed", payload, StorageSignal, allowed=allowed)
        if data is not None:
            self._emit(STORAGE, storage=data.storage)

    @workflow.signal(name="send_sms")
    def send_sms(self, payload: JsonValue = None) -> None:
        if (data := self._accept("send_sms", payload, SmsSignal)) is not None:
            self._sms(data.purpose, data.text, text_ref=data.text_ref)

    @workflow.signal(dynamic=True)
    def hook_signal(self, name: str, args: Sequence[RawValue]) -> None:
        """Signals of hook types added to the catalog (``catalog.register``)."""
        hook = BY_SIGNAL.get(name)
        if hook is None:
            self._problem(f"signal {name} ignored: no such signal")
            return
        payload = workflow.payload_converter().from_payload(args[0].payload) if args else None
        if (data := self._accept(name, payload, hook.payload)) is not None:
            extra = data.model_dump(mode="json", exclude={"event_id", "client"})
            self._emit(hook.event, client=getattr(data, "client", None), data=extra or None)

    def _sms(self, purpose: str, text: str | None, *, text_ref: str | None = None) -> None:
        phone = self._req.recipient.phone
        if not phone:
            self._problem(f"SMS ({purpose}) not sent: the recipient has no phone number")
            return
        link = self._req.link
        self._emit(
            SEND_SMS,
            to=phone,
            text=f"{text}: {link}" if link and purpose in ("invitation", "reminder") else text,
            text_ref=text_ref,
            purpose=purpose,
            link=link,
            locale=self._req.locale,
        )

    @workflow.signal(name="expire")
    def expire(self, payload: JsonValue = None) -> None:
        if self._accept("expire", payload, SignalPayload) is not None:
            self._expire()

    @workflow.signal(name="delete")
    def delete(self, payload: JsonValue = None) -> None:
        allowed = (SessionStatus.ACTIVE, SessionStatus.SUBMITTED, SessionStatus.EXPIRED)
        if self._accept("delete", payload, SignalPayload, allowed=allowed) is not None:
            self._delete()

    @workflow.update(name="field_changed")
    async def field_changed(self, req: FieldChange) -> list[FieldValue]:
        """Ask the project's remote-data webhooks for values while the form is edited.

        The event takes its place in the session's sequence; a failing endpoint
        fails this call with one clear line and the session goes on. An
        ``event_id`` is spent only when the call succeeds, so a failed call
        can be retried with the same id.
        """
        envelope = self._event(REMOTE_DATA, client=req.client, change=req.change, fields=req.fields)
        await workflow.wait_condition(lambda: self._resolved_at is not None)
        targets = [t for t in self._targets if CATALOG[t.type].event == REMOTE_DATA]
        if not targets:
            raise ApplicationError(
                f"project {self._req.project} has no remote_data webhook",
                type=FailureType.REMOTE_DATA_FAILED,
            )
        values: list[FieldValue] = []
        for target in targets:
            values += await self._remote_data(target, envelope)
        if req.event_id is not None:
            self._seen.add(req.event_id)
        return values

    @field_changed.validator
    def _validate_field_changed(self, req: FieldChange) -> None:
        if self._status != SessionStatus.ACTIVE:
            raise ValueError(f"the session is {self._status.value}")
        if req.event_id is not None and req.event_id in self._seen:
            raise ValueError(f"event {req.event_id} was already handled")

    async def _remote_data(self, target: WebhookTarget, envelope: Envelope) -> list[FieldValue]:
        record = self._new_record(target, envelope)
        try:
            result = await deliver(
                project=self._req.project, target=target, envelope=envelope, remote=True
            )
        except ActivityError as err:
            cause = err.cause
            record.status = DeliveryStatus.FAILED
            record.error = one_line(cause or err)
            reason = cause.message if isinstance(cause, ApplicationError) else record.error
            raise ApplicationError(
                f"remote data from {target.alias} failed: {reason}",
                type=FailureType.REMOTE_DATA_FAILED,
            ) from None
        record.status, record.attempts = DeliveryStatus.DELIVERED, result.attempt
        record.status_code = result.status_code
        try:
            if not isinstance(result.response, list):
                raise TypeError("not a list")
            return [FieldValue.model_validate(item) for item in result.response]
        except (ValidationError, TypeError) as err:
            record.error = f"answer is not [{{id, value}}]: {one_line(err)}"
            raise ApplicationError(
                f"remote data from {target.alias}: {record.error}",
                type=FailureType.REMOTE_DATA_FAILED,
            ) from None

    @workflow.query(name="state")
    def state(self) -> SessionState:
        return SessionState(
            id=self._req.id,
            project=self._req.project,
            status=self._status,
            sequence=self._sequence,
            expires_at=self._expires_at,
            delete_at=self._delete_at,
            webhooks=self._targets,
            events=self._events,
            deliveries=self._deliveries,
            problems=self._problems,
        )

    def _accept(
        self,
        name: str,
        payload: JsonValue,
        model: type[P],
        *,
        allowed: tuple[SessionStatus, ...] = (SessionStatus.ACTIVE,),
    ) -> P | None:
        """The signal's payload when it is valid, new and allowed in this state.

        A malformed payload is recorded as a problem: it never fails the session.
        """
        if len(json.dumps(payload, default=str)) > MAX_SIGNAL_BYTES:
            self._problem(f"signal {name} ignored: payload over {MAX_SIGNAL_BYTES // 1024} KiB")
            return None
        try:
            data = model.model_validate({} if payload is None else payload)
        except (ValidationError, ValueError, TypeError) as err:
            self._problem(f"signal {name} ignored: invalid payload: {one_line(err)}")
            return None
        if data.event_id is not None:
            if data.event_id in self._seen:
                return None
            self._seen.add(data.event_id)
        if self._status not in allowed:
            self._problem(f"signal {name} ignored: the session is {self._status.value}")
            return None
        return data

    def _expire(self) -> None:
        if self._status != SessionStatus.ACTIVE:
            return
        self._status = SessionStatus.EXPIRED
        self._delete_at = workflow.now() + self._req.retention
        self._emit(EXPIRED)
        if not self._req.standalone:
            self._notify_process(None)
        self._publish_status()

    def _delete(self) -> None:
        if self._status == SessionStatus.DELETED:
            return
        self._status = SessionStatus.DELETED
        self._emit(DELETED)
        self._publish_status()

    # --- events and deliveries ---------------------------------------------------

    def _emit(self, event_type: str, **extra: Any) -> Envelope:
        envelope = self._event(event_type, **extra)
        self._inbox.append(envelope)
        return envelope

    async def _store_files(self, archive: Envelope) -> None:
        """The storage integration, after the archive; its callback says what was stored."""
        try:
            stored = await store_files(
                project=self._req.project, template=self._req.template, envelope=archive
            )
        except ActivityError as err:
            self._problem(f"storage failed: {one_line(err.cause or err)}")
            return
        if stored is not None:
            self._emit(STORAGE, storage=stored.model_dump(mode="json"))

    def _event(self, event_type: str, **extra: Any) -> Envelope:
        """A new event of this session: the next sequence number, recorded."""
        self._sequence += 1
        event = EventInfo(
            id="evt_" + workflow.uuid4().hex,
            type=event_type,
            timestamp=workflow.now(),
            sequence=self._sequence,
        )
        self._events.append(EventRecord(**event.model_dump()))
        return Envelope(event=event, session=self._info, **extra)

    async def _dispatch(self) -> None:
        now = workflow.now()
        if self._resolved_at is None or now - self._resolved_at >= TARGETS_TTL:
            await self._resolve_targets()
        inbox, self._inbox = self._inbox, []
        for envelope in inbox:
            targets = [t for t in self._targets if CATALOG[t.type].event == envelope.event.type]
            for target in targets:
                self._enqueue(target, envelope)
            if not targets and envelope.event.type == SEND_SMS:
                self._problem(
                    f"SMS ({envelope.purpose}) not sent: project {self._req.project} "
                    "has no send_sms webhook"
                )
        self._describe()

    async def _resolve_targets(self) -> None:
        resolved = await workflow.execute_activity_method(
            ConfigActivities.resolve_webhooks,
            ResolveWebhooks(
                project=self._req.project,
                template=self._req.template,
                integrations=[i.uuid for i in self._req.integrations],
            ),
            start_to_close_timeout=policies.RESOLVE.start_to_close,
            retry_policy=policies.RESOLVE.retry,
            summary=f"resolve webhooks of {self._req.project}",
        )
        self._targets = resolved.targets
        self._resolved_at = workflow.now()
        for problem in resolved.problems:
            if problem not in self._problems:
                self._problem(problem)

    def _new_record(self, target: WebhookTarget, envelope: Envelope) -> DeliveryRecord:
        record = DeliveryRecord.of(target, envelope)
        self._deliveries.append(record)
        return record

    def _enqueue(self, target: WebhookTarget, envelope: Envelope, *, new: bool = True) -> None:
        if new:
            self._new_record(target, envelope)
        self._queues.setdefault(target.id, deque()).append(envelope)
        if target.id not in self._draining:
            self._draining[target.id] = asyncio.create_task(self._drain(target))

    async def _drain(self, target: WebhookTarget) -> None:
        queue = self._queues[target.id]
        while queue and not self._pausing:
            usable = await self._deliver(target, queue[0])
            queue.popleft()
            if not usable:
                for envelope in queue:
                    self._record(envelope, target).status = DeliveryStatus.SKIPPED
                queue.clear()
        del self._draining[target.id]
        self._describe()

    async def _deliver(self, target: WebhookTarget, envelope: Envelope) -> bool:
        """Send one event to one webhook; False when the webhook is gone for good."""
        record = self._record(envelope, target)
        try:
            result = await deliver(project=self._req.project, target=target, envelope=envelope)
        except ActivityError as err:
            return await self._delivery_failed(record, target, err, envelope)
        record.status = DeliveryStatus.DELIVERED
        record.attempts = result.attempt
        record.status_code = result.status_code
        return True

    async def _delivery_failed(
        self, record: DeliveryRecord, target: WebhookTarget, err: ActivityError, envelope: Envelope
    ) -> bool:
        """Settle a failed delivery; False when the webhook takes no more deliveries."""
        kind = await settle_failure(
            project=self._req.project, target=target, envelope=envelope, record=record, err=err
        )
        if record.status == DeliveryStatus.SKIPPED:
            return False
        if kind is None:
            return True
        failed = {d.webhook_alias for d in self._deliveries if d.status == DeliveryStatus.FAILED}
        self._upsert_attributes([SA_FAILED.value_set(sorted(failed))])
        if target.type != "delivery_failed" and self._status != SessionStatus.DELETED:
            self._emit(ALERT, data=_alert(record))
        if kind == FailureType.GONE:
            self._targets = [t for t in self._targets if t.id != target.id]
            return False
        return True

    def _record(self, envelope: Envelope, target: WebhookTarget) -> DeliveryRecord:
        for record in reversed(self._deliveries):
            if record.event_id == envelope.event.id and record.webhook_id == target.id:
                return record
        raise LookupError(f"no delivery record for {envelope.event.id} -> {target.alias}")

    # --- visibility and continue-as-new ----------------------------------------

    def _problem(self, text: str) -> None:
        workflow.logger.warning("session %s: %s", self._req.id, text)
        self._problems = [*self._problems, text][-MAX_PROBLEMS:]

    def _publish_status(self) -> None:
        pairs: list[SearchAttributeUpdate[Any]] = [
            SA_PROJECT.value_set(self._req.project),
            SA_SESSION.value_set(self._req.id),
            SA_PROCESS.value_set(str(self._req.process_id)),
            SA_STATUS.value_set(self._status.value),
        ]
        if self._req.template:
            pairs.append(SA_TEMPLATE.value_set(self._req.template))
        self._upsert_attributes(pairs)
        self._describe()

    def _upsert_attributes(self, updates: list[SearchAttributeUpdate[Any]]) -> None:
        workflow.upsert_search_attributes(updates)

    def _describe(self) -> None:
        pending = [d for d in self._deliveries if d.status == DeliveryStatus.PENDING]
        lines = [
            f"**{self._status.value}**, {self._sequence} events, "
            f"{len(self._deliveries)} deliveries, {len(pending)} pending",
        ]
        lines += [
            f"- pending: #{d.sequence} {d.event_type} -> {d.webhook_alias}" for d in pending[:20]
        ]
        failed = [d for d in self._deliveries if d.status == DeliveryStatus.FAILED]
        lines += [
            f"- failed: #{d.sequence} {d.event_type} -> {d.webhook_alias}" for d in failed[:20]
        ]
        lines += [f"- problem: {p}" for p in self._problems[-5:]]
        workflow.set_current_details("\n".join(lines))

    def _station_record(self, data: FormSubmittedSignal) -> StationResult:
        """This session as the archive lists it: author, submission and data."""
        recipient = self._req.recipient
        return StationResult(
            id=self._req.id,
            reference=str(self._req.process_id),
            transaction_number=self._req.transaction_number or 0,
            template=self._req.template,
            recipient=recipient,
            submission={
                "submitted_at": workflow.now().isoformat(timespec="microseconds"),
                **(data.client.model_dump(exclude_none=True) if data.client else {}),
            },
            form_data=data.form_data,
            attachments=data.attachments,
            document=data.document,
        )

    def _notify_process(self, station: StationResult | None) -> None:
        """Tell the BusinessProcess that started this station how it ended."""
        parent = workflow.info().parent
        if parent is None:
            self._problem("not standalone, but no process started this session")
            return
        handle = workflow.get_external_workflow_handle(parent.workflow_id)
        name = "station_submitted" if station is not None else "station_expired"
        self._side_tasks.append(asyncio.create_task(handle.signal(name, station or self._req.id)))

    def _carry_over(self) -> CreateSession:
        by_id = {t.id: t for t in self._targets}
        pending = [
            DeliveryCarry(target=by_id[webhook_id], envelope=envelope)
            for webhook_id, queue in self._queues.items()
            if webhook_id in by_id
            for envelope in queue
        ]
        carry = SessionCarry(
            sequence=self._sequence,
            status=self._status,
            seen_event_ids=sorted(self._seen),
            expires_at=self._expires_at,
            delete_at=self._delete_at,
            events=self._events,
            deliveries=self._deliveries,
            problems=self._problems,
            pending=pending,
            logged_in=self._logged_in,
            reminder_at=self._reminder_at,
        )
        return self._req.model_copy(update={"resume": carry})


def _alert(record: DeliveryRecord) -> dict[str, Any]:
    return {
        "webhook": record.webhook_alias,
        "event_id": record.event_id,
        "event_type": record.event_type,
        "sequence": record.sequence,
        "error": record.error,
    }
