"""The database work of the delivery activity beside its attempt log, off the event loop."""

from __future__ import annotations

import asyncio
import uuid
from collections.abc import Sequence
from datetime import datetime

from sqlalchemy.engine import Engine
from sqlmodel import Session

from activities.contracts import DeliveryMark, DeliveryStatus, Envelope
from activities.log.attempts import AttemptLog
from activities.store.health import disable_after
from activities.store.webhooks import disable_webhook


class Ledger:
    def __init__(self, engine: Engine, *, log: AttemptLog) -> None:
        self._engine = engine
        self._log = log

    async def mark(
        self,
        *,
        project: str,
        webhook_id: uuid.UUID,
        envelopes: Sequence[Envelope],
        status: DeliveryStatus,
        reason: str,
        next_attempt_at: datetime | None = None,
    ) -> None:
        """Deliveries that get no attempt now: held while paused, or waiting."""
        marks = [
            DeliveryMark(
                webhook_id=webhook_id,
                envelope=envelope,
                status=status,
                error=reason,
                next_attempt_at=next_attempt_at,
            )
            for envelope in envelopes
        ]

        await self._log.mark(project, marks)

    async def disable(self, webhook_id: uuid.UUID, reason: str) -> bool:
        """Disable the webhook; True when this call did it."""

        def disable() -> bool:
            with Session(self._engine) as session:
                return disable_webhook(session=session, webhook_id=webhook_id, reason=reason)

        return await asyncio.to_thread(disable)

    async def disable_after(self, project: str) -> float | None:
        def read() -> float | None:
            with Session(self._engine) as session:
                return disable_after(session=session, project=project)

        return await asyncio.to_thread(read)
