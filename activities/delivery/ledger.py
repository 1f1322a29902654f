"""The database work of the delivery activity beside its attempt log, off the event loop."""

from __future__ import annotations

import asyncio
import uuid

from sqlalchemy.engine import Engine
from sqlmodel import Session

from activities.store.health import disable_after
from activities.store.webhooks import disable_webhook


class Ledger:
    def __init__(self, engine: Engine) -> None:
        self._engine = engine

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
