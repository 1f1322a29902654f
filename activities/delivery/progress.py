"""What a batch has delivered so far, heartbeated to Temporal.

A batch's activity heartbeats its progress: when its worker is lost, the
activity times out after its heartbeat timeout (not its whole start-to-close
time) and the next attempt starts after the events already delivered, so a
receiver gets none of them twice.
"""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Any

from pydantic import ValidationError
from temporalio import activity

from activities.contracts import DeliveryResult, SentEvent
from activities.contracts.base import Model


class _Beat(Model):
    head: DeliveryResult | None = None
    following: list[SentEvent] = []


@dataclass
class Progress:
    head: DeliveryResult | None = None
    following: list[SentEvent] = field(default_factory=list)
    beat: Callable[[], None] | None = None

    @classmethod
    def resumed(cls, details: Sequence[Any]) -> Progress:
        """The progress a lost attempt of this activity heartbeated, if any."""
        if not details:
            return cls()
        try:
            beat = _Beat.model_validate(details[0])
        except ValidationError:
            return cls()
        return cls(head=beat.head, following=list(beat.following))

    def details(self) -> dict[str, Any]:
        return _Beat(head=self.head, following=self.following).model_dump(mode="json")


def heartbeats(progress: Progress) -> asyncio.Task[None]:
    """Heartbeat ``progress`` now and then (and at once after each event, through
    ``progress.beat``; the SDK throttles what it sends) until cancelled."""
    timeout = activity.info().heartbeat_timeout
    every = timeout.total_seconds() / 3 if timeout else 10.0

    def beat() -> None:
        activity.heartbeat(progress.details())

    progress.beat = beat

    async def run() -> None:
        with contextlib.suppress(asyncio.CancelledError):
            while True:
                beat()
                await asyncio.sleep(every)

    return asyncio.create_task(run())
