"""The delivery log's activity: transitions a session decides itself."""

from __future__ import annotations

from temporalio import activity

from activities.contracts import ActivityName, RecordDeliveries
from activities.log.attempts import AttemptLog


class DeliveryLogActivities:
    def __init__(self, *, log: AttemptLog) -> None:
        self._log = log

    @activity.defn(name=ActivityName.RECORD_DELIVERIES)
    async def record_deliveries(self, req: RecordDeliveries) -> None:
        """Held, released, skipped or failed by the session: into the delivery log,
        committed with the attempts and marks that come at the same time."""
        await self._log.mark(req.project, req.marks)
