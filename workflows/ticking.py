"""The session's clock, run: one timer at a time, to the reminder, the expiry,
then deletion at the end of retention (``workflows.clock`` says which is due).

A base of the ``Session`` workflow; ``Lifecycle`` does what each tick means.
"""

from __future__ import annotations

import contextlib
import functools
from datetime import datetime

from temporalio import workflow

with workflow.unsafe.imports_passed_through():
    from activities.contracts import SessionStatus
    from workflows.clock import Clock, Tick


class Ticking:
    """Runs the session's clock (state and steps from ``Lifecycle``)."""

    _clock: Clock
    _status: SessionStatus

    def _remind(self) -> None:
        raise NotImplementedError

    def _expire(self) -> None:
        raise NotImplementedError

    def _delete(self) -> None:
        raise NotImplementedError

    async def _run_clock(self) -> None:
        """Reminder, expiry, then deletion at the end of retention: one timer at a time."""
        while self._status != SessionStatus.DELETED:
            deadline = self._clock.deadline(self._status)
            wait = (deadline - workflow.now()).total_seconds()
            if wait > 0:
                with contextlib.suppress(TimeoutError):
                    await workflow.wait_condition(
                        functools.partial(self._deadline_moved, deadline),
                        timeout=wait,
                        timeout_summary=Clock.summary(self._status),
                    )
                continue
            self._on_tick(self._clock.tick(self._status, workflow.now()))

    def _deadline_moved(self, deadline: datetime) -> bool:
        return self._clock.deadline(self._status) != deadline

    def _on_tick(self, tick: Tick) -> None:
        if tick == Tick.REMIND:
            self._clock.reminder_at = None
            self._remind()
        elif tick == Tick.EXPIRE:
            self._expire()
        else:
            self._delete()
