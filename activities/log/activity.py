"""The delivery log's activity: transitions a session decides itself."""

from __future__ import annotations

import asyncio

from sqlalchemy.engine import Engine
from sqlmodel import Session
from temporalio import activity

from activities.contracts import ActivityName, RecordDeliveries
from activities.log.attempts import record_marks
from activities.store.crypto import SecretBox


class DeliveryLogActivities:
    def __init__(self, *, engine: Engine, box: SecretBox) -> None:
        self._engine = engine
        self._box = box

    @activity.defn(name=ActivityName.RECORD_DELIVERIES)
    async def record_deliveries(self, req: RecordDeliveries) -> None:
        """Held, released, skipped or failed by the session: into the delivery log."""

        def write() -> None:
            with Session(self._engine) as session:
                record_marks(session=session, project=req.project, marks=req.marks, box=self._box)

        await asyncio.to_thread(write)
