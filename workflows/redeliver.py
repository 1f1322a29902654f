"""The ``Redeliver`` workflow: deliveries of ended sessions sent again, visible
in the UI like any other.

A running session redelivers through its own ``redeliver`` signal; this
workflow covers the rest. Each item keeps its envelope, so the receiver sees
the same ``webhook-id``; items to one webhook go in order through the same
outbox as a session's, webhooks in parallel.
"""

from __future__ import annotations

from temporalio import workflow

with workflow.unsafe.imports_passed_through():
    from activities.contracts import (
        DeliveryRecord,
        DeliveryStatus,
        FailureType,
        Redeliver,
        RedeliverProgress,
        WebhookTarget,
    )
    from activities.contracts.states import SENDING
    from workflows.outbox import Outbox
    from workflows.patches import DELIVERY_LOG, LOCAL_ACTIVITIES, takes


@workflow.defn(name="Redeliver")
class RedeliverWorkflow:
    @workflow.init
    def __init__(self, req: Redeliver) -> None:
        self._progress = RedeliverProgress(total=len(req.items))
        self._outbox = Outbox(project=req.project, alert=self._alert, changed=self._changed)

    @workflow.run
    async def run(self, req: Redeliver) -> RedeliverProgress:
        self._outbox.local_first = takes(LOCAL_ACTIVITIES)
        self._outbox.recording = takes(DELIVERY_LOG)
        for item in req.items:
            self._outbox.add(item.target, item.envelope)
        await self._outbox.flush()
        await workflow.wait_condition(self._outbox.settled)
        self._changed()
        return self._progress

    @workflow.query(name="progress")
    def progress(self) -> RedeliverProgress:
        return self._progress

    def _alert(
        self, record: DeliveryRecord, _target: WebhookTarget, _kind: FailureType | None
    ) -> None:
        if record.error:
            self._progress.errors.append(record.error)

    def _changed(self) -> None:
        records = self._outbox.ledger.records()
        self._progress.delivered = sum(1 for r in records if r.status == DeliveryStatus.DELIVERED)
        self._progress.failed = sum(
            1 for r in records if r.status not in (DeliveryStatus.DELIVERED, *SENDING)
        )
        workflow.set_current_details(
            f"{self._progress.done}/{self._progress.total} sent, {self._progress.failed} failed"
        )
