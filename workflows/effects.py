"""What the outbox does to the world, behind one seam.

In a workflow these are Temporal commands (activities, timers); the outbox's
model-based test drives the same outbox with a fake of its own, so every
path of the state machine is exercised without a server.
"""

from __future__ import annotations

import contextlib
from collections.abc import Callable, Sequence
from datetime import datetime, timedelta
from typing import Protocol

from temporalio import workflow

with workflow.unsafe.imports_passed_through():
    from activities.contracts import DeliveryMark, DeliveryResult, Envelope, WebhookTarget
    from workflows import calls
    from workflows.patches import RELEASE_BEHIND_BATCH, takes


class Effects(Protocol):
    async def deliver(
        self,
        *,
        project: str,
        target: WebhookTarget,
        envelopes: Sequence[Envelope],
        attempt_offset: int,
        local: bool,
    ) -> DeliveryResult: ...

    async def failover(
        self, *, project: str, target: WebhookTarget, envelope: Envelope
    ) -> bool: ...

    async def record(self, *, project: str, marks: Sequence[DeliveryMark]) -> None: ...

    async def wait(
        self, condition: Callable[[], bool], *, timeout: timedelta | None, summary: str
    ) -> None:
        """Until ``condition`` holds or ``timeout`` has passed."""

    def now(self) -> datetime: ...

    def warn(self, message: str, *args: object) -> None: ...

    def release_behind_batch(self) -> bool:
        """Whether this run takes ``patches.RELEASE_BEHIND_BATCH``."""


class TemporalEffects:
    """In a workflow: the activities of ``calls``, the workflow's timers and clock."""

    deliver = staticmethod(calls.deliver)
    failover = staticmethod(calls.failover)
    record = staticmethod(calls.record_deliveries)

    async def wait(
        self, condition: Callable[[], bool], *, timeout: timedelta | None, summary: str
    ) -> None:
        with contextlib.suppress(TimeoutError):
            await workflow.wait_condition(condition, timeout=timeout, timeout_summary=summary)

    def now(self) -> datetime:
        return workflow.now()

    def release_behind_batch(self) -> bool:
        return takes(RELEASE_BEHIND_BATCH)

    def warn(self, message: str, *args: object) -> None:
        workflow.logger.warning(message, *args)
