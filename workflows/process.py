"""The ``BusinessProcess`` workflow: several sessions (stations) in order, one archive.

Each station is a child ``Session`` (it outlives the process: parent close
policy ABANDON) started when the previous one is submitted; each reports its
submission or expiry back with a signal. When every station is submitted, the
process posts one ``WHP_ARCHIVE`` listing all of them to the archive webhooks,
through the same outbox as a session's deliveries (held, failed, alerted).
"""

from __future__ import annotations

import asyncio

from temporalio import workflow
from temporalio.exceptions import (
    ActivityError,
)
from temporalio.workflow import ParentClosePolicy

with workflow.unsafe.imports_passed_through():
    from activities.catalog import ALERT, ARCHIVE, STORAGE, receives
    from activities.contracts import (
        CreateProcess,
        CreateSession,
        DeliveryRecord,
        Envelope,
        FailureType,
        ProcessState,
        ProcessStatus,
        RecipientRef,
        SessionInfo,
        StationResult,
        StationState,
        WebhookTarget,
        legacy_session_workflow_id,
        session_workflow_id,
    )
    from workflows import calls, visibility
    from workflows.events import EventLog
    from workflows.ledger import alert_data
    from workflows.outbox import Outbox
    from workflows.patches import DELIVERY_LOG, LOCAL_ACTIVITIES, PROJECT_IDS, takes
    from workflows.session import SessionWorkflow
    from workflows.stations import ending, merged_form_data, process_attachments


@workflow.defn(name="BusinessProcess")
class BusinessProcessWorkflow:
    @workflow.init
    def __init__(self, req: CreateProcess) -> None:
        self._req = req
        self._status = ProcessStatus.ACTIVE
        self._results: dict[str, StationResult] = {}
        self._expired: str | None = None
        self._started = 0
        self._problems: list[str] = []
        self._outbox = Outbox(project=req.project, alert=self._alert, changed=self._changed)
        self._failed = visibility.FailedWebhooks(workflow.upsert_search_attributes)
        self._alerts: list[DeliveryRecord] = []
        self._events: EventLog | None = None

    @workflow.run
    async def run(self, req: CreateProcess) -> ProcessState:
        self._outbox.local_first = takes(LOCAL_ACTIVITIES)
        self._outbox.recording = takes(DELIVERY_LOG)
        self._publish()
        for position in range(1, len(req.sessions) + 1):
            session_id = req.station_id(position)
            per_project = takes(PROJECT_IDS)  # before: one namespace for every project
            station = await workflow.start_child_workflow(
                SessionWorkflow.run,
                self._station_request(position),
                id=session_workflow_id(req.project, session_id)
                if per_project
                else legacy_session_workflow_id(session_id),
                parent_close_policy=ParentClosePolicy.ABANDON,
                static_summary=f"{req.project} process {req.id} station {position}",
            )
            self._started = position
            await workflow.wait_condition(
                lambda: self._station_done(session_id) or station.done()  # noqa: B023
            )
            if not self._station_done(session_id):  # deleted or terminated before it was submitted
                self._stopped(session_id, await ending(station))
            if self._status != ProcessStatus.ACTIVE:
                self._publish()
                return self.state()
        await self._archive()
        self._status = ProcessStatus.ARCHIVED
        self._publish()
        await workflow.wait_condition(workflow.all_handlers_finished)
        return self.state()

    def _station_done(self, session_id: str) -> bool:
        return session_id in self._results or self._expired is not None

    @workflow.signal(name="station_submitted")
    def station_submitted(self, result: StationResult) -> None:
        self._results[result.id] = result

    @workflow.signal(name="station_expired")
    def station_expired(self, session_id: str) -> None:
        self._expired = session_id
        self._status = ProcessStatus.EXPIRED
        self._problems.append(f"station {session_id} expired: the process stops")

    def _stopped(self, session_id: str, how: str) -> None:
        self._status = ProcessStatus.STOPPED
        self._problems.append(f"station {session_id} {how}: the process stops")

    @workflow.query(name="state")
    def state(self) -> ProcessState:
        stations = []
        for position, station in enumerate(self._req.sessions, start=1):
            sid = self._req.station_id(position)
            status = (
                "submitted"
                if sid in self._results
                else "expired"
                if sid == self._expired
                else "active"
                if position <= self._started
                else "waiting"
            )
            stations.append(
                StationState(
                    position=position,
                    session_id=sid,
                    template=station.template,
                    recipient=station.recipient.name,
                    status=status,
                )
            )
        return ProcessState(
            id=str(self._req.id),
            project=self._req.project,
            status=self._status,
            stations=stations,
            deliveries=self._outbox.ledger.records(),
            problems=self._problems,
        )

    def _station_request(self, position: int) -> CreateSession:
        req, station = self._req, self._req.sessions[position - 1]
        return CreateSession(
            id=req.station_id(position),
            project=req.project,
            template=station.template,
            process_id=req.id,
            process_number=req.process_number,
            transaction_number=position,
            recipient=station.recipient.model_copy(update={"id": position}),
            labels={**req.labels, **station.labels},
            expires_in=station.expires_in or req.expires_in,
            retention=req.retention,
            integrations=req.integrations,
            link=station.link,
            locale=req.locale,
            standalone=False,
        )

    # --- the archive ---------------------------------------------------------------

    async def _archive(self) -> None:
        stations = [
            self._results[self._req.station_id(n)] for n in range(1, len(self._req.sessions) + 1)
        ]
        last = stations[-1]
        self._events = EventLog(
            SessionInfo(
                id=last.id,
                reference=str(self._req.id),
                process_id=str(self._req.id),
                process_number=self._req.process_number or 0,
                transaction_number=last.transaction_number,
                recipient=RecipientRef(id=last.recipient.id, name=last.recipient.name),
                labels=self._req.labels,
            )
        )
        archive = self._events.new(
            ARCHIVE,
            form_data=merged_form_data(stations),
            attachments=process_attachments(stations),
            document=last.document,
            sessions=stations,
        )
        if takes(DELIVERY_LOG):  # storage beside the archive's delivery
            await asyncio.gather(self._deliver(ARCHIVE, archive), self._store(archive))
        else:
            await self._deliver(ARCHIVE, archive)
            await self._store(archive)

    async def _store(self, archive: Envelope) -> None:
        """The storage integration, after the archive; then its callback."""
        try:
            stored = await calls.store_files(
                project=self._req.project, template=None, envelope=archive
            )
        except ActivityError as err:
            self._problems.append(f"storage failed: {calls.one_line(err.cause or err)}")
            return
        if stored is not None and self._events is not None:
            callback = self._events.new(STORAGE, storage=stored.model_dump(mode="json"))
            await self._deliver(STORAGE, callback)

    async def _deliver(self, event: str, envelope: Envelope) -> None:
        """Send ``envelope`` to every webhook for ``event``; then the alerts its
        failures raised, to the project's ``delivery_failed`` webhooks."""
        for target in await self._targets_for(event):
            self._outbox.add(target, envelope)
        await self._outbox.flush()
        await workflow.wait_condition(self._outbox.settled)
        while self._alerts and self._events is not None:
            failed, self._alerts = self._alerts, []
            targets = await self._targets_for(ALERT)
            for record in failed:
                alert = self._events.new(ALERT, data=alert_data(record))
                for target in targets:
                    self._outbox.add(target, alert)
            await self._outbox.flush()
            await workflow.wait_condition(self._outbox.settled)

    def _alert(
        self, record: DeliveryRecord, target: WebhookTarget, _kind: FailureType | None
    ) -> None:
        if target.type != "delivery_failed":
            self._alerts.append(record)

    async def _targets_for(self, event: str) -> list[WebhookTarget]:
        """Webhooks for ``event``: the project's, any station template's, or named."""
        chosen: dict[str, WebhookTarget] = {}
        templates = list(dict.fromkeys(s.template for s in self._req.sessions)) or [None]
        for template in templates:
            resolved = await calls.resolve(
                project=self._req.project,
                template=template,
                integrations=[str(i.uuid) for i in self._req.integrations],
                summary=f"resolve {event} webhooks of {self._req.project}",
            )
            for target in resolved.targets:
                if receives(target.type, event):
                    chosen.setdefault(str(target.id), target)
            self._problems += [p for p in resolved.problems if p not in self._problems]
        return list(chosen.values())

    def _changed(self) -> None:
        self._failed.update(self._outbox.ledger.failed_aliases())
        self._describe()

    def _publish(self) -> None:
        visibility.publish(
            workflow.upsert_search_attributes,
            project=self._req.project,
            process_id=str(self._req.id),
            status=self._status.value,
        )
        self._describe()

    def _describe(self) -> None:
        visibility.describe(
            f"**{self._status.value}**, station {self._started}/{len(self._req.sessions)}, "
            f"{len(self._results)} submitted",
            self._outbox.ledger.records(),
            self._problems,
        )
