"""The database work of the delivery activity beside its attempt log, off the event loop."""

from __future__ import annotations

import asyncio
import uuid
from collections.abc import Sequence

from sqlalchemy.engine import Engine
from sqlmodel import Session

from activities.contracts import DeliveryStatus, Envelope
from activities.log.attempts import mark_deliveries
from activities.store.crypto import SecretBox
from activities.store.health import add_wait, clear_waits, count_waits, disable_after
from activities.store.webhooks import disable_webhook


class Ledger:
    def __init__(self, engine: Engine, *, box: SecretBox) -> None:
        self._engine = engine
        self._box = box

    async def mark(
        self,
        *,
        project: str,
        webhook_id: uuid.UUID,
        envelopes: Sequence[Envelope],
        status: DeliveryStatus,
        reason: str,
    ) -> None:
        """Deliveries that get no attempt now: held, or failed when out of time."""

        def mark() -> None:
            with Session(self._engine) as session:
                mark_deliveries(
                    session=session,
                    project=project,
                    webhook_id=webhook_id,
                    envelopes=envelopes,
                    status=status,
                    reason=reason,
                    box=self._box,
                )

        await asyncio.to_thread(mark)

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

    async def waits(self, key: str) -> int:
        """How often the delivery activity ``key`` was put off without an attempt."""

        def read() -> int:
            with Session(self._engine) as session:
                return count_waits(session=session, key=key)

        return await asyncio.to_thread(read)

    async def add_wait(self, key: str) -> None:
        await asyncio.to_thread(add_wait, engine=self._engine, key=key)

    async def clear_waits(self, key: str) -> None:
        await asyncio.to_thread(clear_waits, engine=self._engine, key=key)
