"""The ``Redeliver`` workflow: deliveries sent again, visible in the UI like any other.

Each item keeps its envelope, so the receiver sees the same ``webhook-id``;
items to one webhook go in order, webhooks in parallel.
"""

from __future__ import annotations

import asyncio
import uuid

from temporalio import workflow
from temporalio.exceptions import ActivityError

with workflow.unsafe.imports_passed_through():
    from activities.contracts import DeliveryCarry, Redeliver, RedeliverProgress
    from workflows.delivery import deliver, one_line


@workflow.defn(name="Redeliver")
class RedeliverWorkflow:
    @workflow.init
    def __init__(self, req: Redeliver) -> None:
        self._progress = RedeliverProgress(total=len(req.items))

    @workflow.run
    async def run(self, req: Redeliver) -> RedeliverProgress:
        queues: dict[uuid.UUID, list[DeliveryCarry]] = {}
        for item in req.items:
            queues.setdefault(item.target.id, []).append(item)
        await asyncio.gather(*(self._send(req.project, items) for items in queues.values()))
        return self._progress

    @workflow.query(name="progress")
    def progress(self) -> RedeliverProgress:
        return self._progress

    async def _send(self, project: str, items: list[DeliveryCarry]) -> None:
        for item in items:
            try:
                await deliver(project=project, target=item.target, envelope=item.envelope)
            except ActivityError as err:
                self._progress.failed += 1
                self._progress.errors.append(one_line(err.cause or err))
            else:
                self._progress.delivered += 1
            workflow.set_current_details(
                f"{self._progress.done}/{self._progress.total} sent, {self._progress.failed} failed"
            )
