"""The ``BusinessProcess`` workflow: several sessions (stations) in order, one archive.

Each station is a child ``Session`` (it outlives the process: parent close
policy ABANDON) started when the previous one is submitted; each reports its
submission or expiry back with a signal. When every station is submitted, the
process posts one ``WHP_ARCHIVE`` listing all of them to the archive webhooks.
"""

from __future__ import annotations

import asyncio
import functools
from typing import Any

from temporalio import workflow
from temporalio.common import SearchAttributeUpdate
from temporalio.exceptions import ActivityError
from temporalio.workflow import ParentClosePolicy

with workflow.unsafe.imports_passed_through():
    from activities.catalog import ARCHIVE, CATALOG, STORAGE
    from activities.contracts import (
        CreateProcess,
        CreateSession,
        DeliveryRecord,
        DeliveryStatus,
        Envelope,
        EventInfo,
        ProcessState,
        ProcessStatus,
        RecipientRef,
        ResolveWebhooks,
        SessionInfo,
        StationResult,
        StationState,
        WebhookTarget,
    )
    from activities.store.activity import ConfigActivities
    from workflows import policies
    from workflows.delivery import deliver, one_line, settle_failure, store_files
    from workflows.names import SA_PROCESS, SA_PROJECT, SA_STATUS
    from workflows.session import SessionWorkflow


@workflow.defn(name="BusinessProcess")
class BusinessProcessWorkflow:
    @workflow.init
    def __init__(self, req: CreateProcess) -> None:
        self._req = req
        self._status = ProcessStatus.ACTIVE
        self._results: dict[str, StationResult] = {}
        self._expired: str | None = None
        self._started = 0
        self._deliveries: list[DeliveryRecord] = []
        self._problems: list[str] = []

    @workflow.run
    async def run(self, req: CreateProcess) -> ProcessState:
        self._publish()
        for position in range(1, len(req.sessions) + 1):
            session_id = req.station_id(position)
            await workflow.start_child_workflow(
                SessionWorkflow.run,
                self._station_request(position),
                id=f"session-{session_id}",
                parent_close_policy=ParentClosePolicy.ABANDON,
                static_summary=f"{req.project} process {req.id} station {position}",
            )
            self._started = position
            await workflow.wait_condition(functools.partial(self._station_done, session_id))
            if self._expired is not None:
                self._status = ProcessStatus.EXPIRED
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
        self._problems.append(f"station {session_id} expired: the process stops")

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
            deliveries=self._deliveries,
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

    async def _archive(self) -> None:
        targets = await self._targets_for(ARCHIVE)
        stations = [
            self._results[self._req.station_id(n)] for n in range(1, len(self._req.sessions) + 1)
        ]
        last = stations[-1]
        form_data: dict[str, Any] = {}
        for station in stations:
            form_data.update(station.form_data)
        envelope = Envelope(
            event=EventInfo(
                id="evt_" + workflow.uuid4().hex, type=ARCHIVE, timestamp=workflow.now(), sequence=1
            ),
            session=SessionInfo(
                id=last.id,
                reference=str(self._req.id),
                process_id=str(self._req.id),
                process_number=self._req.process_number or 0,
                transaction_number=last.transaction_number,
                recipient=RecipientRef(id=last.recipient.id, name=last.recipient.name),
                labels=self._req.labels,
            ),
            form_data=form_data,
            attachments=[a for s in stations for a in s.attachments],
            document=last.document,
            sessions=stations,
        )
        await asyncio.gather(*(self._send(target, envelope) for target in targets))
        await self._store(envelope)

    async def _store(self, archive: Envelope) -> None:
        """The storage integration, after the archive; then its callback."""
        try:
            stored = await store_files(project=self._req.project, template=None, envelope=archive)
        except ActivityError as err:
            self._problems.append(f"storage failed: {one_line(err.cause or err)}")
            return
        if stored is None:
            return
        callback = archive.model_copy(
            update={
                "event": archive.event.model_copy(
                    update={
                        "id": "evt_" + workflow.uuid4().hex,
                        "type": STORAGE,
                        "sequence": 2,
                        "timestamp": workflow.now(),
                    }
                ),
                "form_data": None,
                "attachments": None,
                "document": None,
                "sessions": None,
                "storage": stored.model_dump(mode="json"),
            }
        )
        targets = await self._targets_for(STORAGE)
        await asyncio.gather(*(self._send(target, callback) for target in targets))

    async def _send(self, target: WebhookTarget, envelope: Envelope) -> None:
        record = DeliveryRecord.of(target, envelope)
        self._deliveries.append(record)
        try:
            result = await deliver(project=self._req.project, target=target, envelope=envelope)
        except ActivityError as err:
            if await settle_failure(
                project=self._req.project, target=target, envelope=envelope, record=record, err=err
            ):
                self._publish(failed=target.alias)
            return
        record.status, record.attempts = DeliveryStatus.DELIVERED, result.attempt
        record.status_code = result.status_code

    async def _targets_for(self, event: str) -> list[WebhookTarget]:
        """Webhooks for ``event``: the project's, any station template's, or named."""
        chosen: dict[str, WebhookTarget] = {}
        templates = list(dict.fromkeys(s.template for s in self._req.sessions)) or [None]
        for template in templates:
            resolved = await workflow.execute_activity_method(
                ConfigActivities.resolve_webhooks,
                ResolveWebhooks(
                    project=self._req.project,
                    template=template,
                    integrations=[i.uuid for i in self._req.integrations],
                ),
                start_to_close_timeout=policies.RESOLVE.start_to_close,
                retry_policy=policies.RESOLVE.retry,
                summary=f"resolve {event} webhooks of {self._req.project}",
            )
            for target in resolved.targets:
                if CATALOG[target.type].event == event:
                    chosen.setdefault(str(target.id), target)
            self._problems += [p for p in resolved.problems if p not in self._problems]
        return list(chosen.values())

    def _publish(self, failed: str | None = None) -> None:
        updates: list[SearchAttributeUpdate[Any]] = [
            SA_PROJECT.value_set(self._req.project),
            SA_PROCESS.value_set(str(self._req.id)),
            SA_STATUS.value_set(self._status.value),
        ]
        workflow.upsert_search_attributes(updates)
        workflow.set_current_details(
            f"**{self._status.value}**, station {self._started}/{len(self._req.sessions)}, "
            f"{len(self._results)} submitted" + (f"; archive to {failed} failed" if failed else "")
        )
