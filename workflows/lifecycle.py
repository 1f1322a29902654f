"""What each lifecycle signal of a session does: the events it fires, the
status it moves to, the SMS it sends, what it tells its process.

The ``Session`` workflow inherits this; it owns the run loop, delivery and
visibility (``workflows.session``).
"""

from __future__ import annotations

import asyncio
from typing import Any

from pydantic import JsonValue
from temporalio import workflow
from temporalio.exceptions import ActivityError

with workflow.unsafe.imports_passed_through():
    from activities.catalog import (
        ARCHIVE,
        BY_SIGNAL,
        CREATED,
        DELETED,
        EXPIRED,
        SEND_SMS,
        STORAGE,
        SUBMITTED,
        HookType,
    )
    from activities.contracts import (
        DEFAULT_EXPIRES_IN,
        ClientSignal,
        CreateSession,
        DeliveryCarry,
        DeliveryRecord,
        Envelope,
        FormSubmittedSignal,
        RecipientRef,
        SessionCarry,
        SessionInfo,
        SessionStatus,
        SignalPayload,
        SmsSignal,
        StationResult,
        StorageSignal,
    )
    from workflows import calls
    from workflows.clock import Clock
    from workflows.events import EventLog
    from workflows.intake import Intake, Rejected
    from workflows.patches import STORAGE_AFTER_ARCHIVE

MAX_PROBLEMS = 50
_LIVE = (SessionStatus.ACTIVE, SessionStatus.SUBMITTED, SessionStatus.EXPIRED)


class Lifecycle:
    _lean = False
    """A lean start (``LEAN_START``): the patches before it hold without markers."""

    def __init__(self, req: CreateSession) -> None:
        self._req = req
        carry = req.resume
        now = workflow.now()
        self._status = carry.status if carry else SessionStatus.ACTIVE
        self._events = EventLog(
            SessionInfo(
                id=req.id,
                reference=str(req.process_id),
                process_id=str(req.process_id),
                process_number=req.process_number or 0,
                transaction_number=req.transaction_number or 0,
                recipient=RecipientRef(id=req.recipient.id, name=req.recipient.name),
                labels=req.labels,
            ),
            sequence=carry.sequence if carry else 0,
            events=carry.events if carry else (),
        )
        self._intake = Intake(carry.seen_event_ids if carry else ())
        if carry is not None:
            self._clock = Clock(carry.expires_at, carry.delete_at, carry.reminder_at)
        else:
            expires_at = req.expires_at or now + (req.expires_in or DEFAULT_EXPIRES_IN)
            reminder_at = now + req.reminder_after if req.reminder_after else None
            self._clock = Clock(expires_at, None, reminder_at)
        self._problems: list[str] = list(carry.problems) if carry else []
        self._logged_in = carry.logged_in if carry else False
        self._inbox: list[Envelope] = []
        self._side_tasks: list[asyncio.Task[None]] = []
        if carry is None:
            self._emit(CREATED)
            if req.recipient.phone:
                self._sms("invitation", f"Hello {req.recipient.name}, please fill in your form")

    def _publish(self) -> None:
        raise NotImplementedError

    def _carry(
        self, *, pending: list[DeliveryCarry], deliveries: list[DeliveryRecord]
    ) -> CreateSession:
        """This session's input for its next run (continue-as-new)."""
        carry = SessionCarry(
            sequence=self._events.sequence,
            status=self._status,
            seen_event_ids=self._intake.seen,
            expires_at=self._clock.expires_at,
            delete_at=self._clock.delete_at,
            events=list(self._events.events),
            deliveries=deliveries,
            problems=self._problems,
            pending=pending,
            logged_in=self._logged_in,
            reminder_at=self._clock.reminder_at,
        )
        return self._req.model_copy(update={"resume": carry})

    # --- signals ---------------------------------------------------------------

    def on_signal(self, name: str, payload: JsonValue) -> None:
        """A lifecycle signal of the catalog; Rejected when it does nothing."""
        hook = BY_SIGNAL.get(name)
        if hook is None:
            raise Rejected(f"signal {name} ignored: no such signal")
        data = self._intake.validate(name, payload, hook.payload)
        if not self._intake.first_time(data.event_id):
            return
        allowed = _LIVE if hook.name in ("storage_callback", "session_deleted") else _ACTIVE
        if self._status not in allowed:
            raise Rejected(f"signal {name} ignored: the session is {self._status.value}")
        handler = _HANDLERS.get(hook.name)
        if handler is not None:
            handler(self, data)
        else:
            self._added_type(hook, data)

    def _logged_in_signal(self, data: ClientSignal) -> None:
        self._logged_in = True
        self._emit(BY_SIGNAL["client_logged_in"].event, client=data.client)

    def _form_loaded(self, data: ClientSignal) -> None:
        self._emit(BY_SIGNAL["form_loaded"].event, client=data.client)

    def _form_submitted(self, data: FormSubmittedSignal) -> None:
        self._status = SessionStatus.SUBMITTED
        self._clock.delete_at = workflow.now() + self._req.retention
        files: dict[str, Any] = {"attachments": data.attachments, "document": data.document}
        self._emit(SUBMITTED, client=data.client, form_data=data.form_data, **files)
        station = self._station_record(data)
        if self._req.standalone:
            archive = self._emit(ARCHIVE, form_data=data.form_data, sessions=[station], **files)
            # Sessions started before storage existed go on without it (replay-safe).
            if self._lean or workflow.patched(STORAGE_AFTER_ARCHIVE):
                self._side_tasks.append(asyncio.create_task(self._store_files(archive)))
        else:
            self._notify_process(station)
        self._publish()

    def _storage_completed(self, data: StorageSignal) -> None:
        self._emit(STORAGE, storage=data.storage)

    def _send_sms(self, data: SmsSignal) -> None:
        self._sms(data.purpose, data.text, text_ref=data.text_ref)

    def _expire(self, _data: SignalPayload | None = None) -> None:
        if self._status != SessionStatus.ACTIVE:
            return
        self._status = SessionStatus.EXPIRED
        self._clock.delete_at = workflow.now() + self._req.retention
        self._emit(EXPIRED)
        if not self._req.standalone:
            self._notify_process(None)
        self._publish()

    def _delete(self, _data: SignalPayload | None = None) -> None:
        if self._status == SessionStatus.DELETED:
            return
        self._status = SessionStatus.DELETED
        self._emit(DELETED)
        self._publish()

    def _added_type(self, hook: HookType, data: SignalPayload) -> None:
        """A hook type added to the catalog: its payload reaches the receiver under ``data``."""
        extra = data.model_dump(mode="json", exclude={"event_id", "client"})
        self._emit(hook.event, client=getattr(data, "client", None), data=extra or None)

    # --- SMS -------------------------------------------------------------------------

    def _remind(self) -> None:
        if not self._logged_in and self._req.recipient.phone:
            self._sms("reminder", f"Reminder: {self._req.recipient.name}, your form waits")

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

    # --- events ----------------------------------------------------------------------

    def _new_event(self, event_type: str, **parts: Any) -> Envelope:
        return self._events.new(event_type, **parts)

    def _emit(self, event_type: str, **parts: Any) -> Envelope:
        """A new event, delivered by the main loop."""
        envelope = self._events.new(event_type, **parts)
        self._inbox.append(envelope)
        return envelope

    def _problem(self, text: str) -> None:
        workflow.logger.warning("session %s: %s", self._req.id, text)
        self._problems = [*self._problems, text][-MAX_PROBLEMS:]

    def _idle(self) -> bool:
        """No side work (storage, process notices) that could still emit an event."""
        return all(task.done() for task in self._side_tasks)

    # --- archive, storage and the process --------------------------------------------

    async def _store_files(self, archive: Envelope) -> None:
        """The storage integration, after the archive; its callback says what was stored."""
        try:
            stored = await calls.store_files(
                project=self._req.project, template=self._req.template, envelope=archive
            )
        except ActivityError as err:
            self._problem(f"storage failed: {calls.one_line(err.cause or err)}")
            return
        if stored is not None:
            self._emit(STORAGE, storage=stored.model_dump(mode="json"))

    def _station_record(self, data: FormSubmittedSignal) -> StationResult:
        """This session as the archive lists it: author, submission and data."""
        return StationResult(
            id=self._req.id,
            reference=str(self._req.process_id),
            transaction_number=self._req.transaction_number or 0,
            template=self._req.template,
            recipient=self._req.recipient,
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


_ACTIVE = (SessionStatus.ACTIVE,)
_HANDLERS: dict[str, Any] = {
    "client_logged_in": Lifecycle._logged_in_signal,
    "form_loaded": Lifecycle._form_loaded,
    "form_submitted": Lifecycle._form_submitted,
    "storage_callback": Lifecycle._storage_completed,
    "send_sms": Lifecycle._send_sms,
    "session_expired": Lifecycle._expire,
    "session_deleted": Lifecycle._delete,
}
