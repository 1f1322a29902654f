"""The session's clock: the SMS reminder, expiry, and deletion at the end of
retention. Pure logic: the workflow waits for what ``due`` says and acts on it."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from enum import StrEnum

from temporalio import workflow

with workflow.unsafe.imports_passed_through():
    from activities.contracts import SessionStatus


class Tick(StrEnum):
    REMIND = "remind"
    EXPIRE = "expire"
    DELETE = "delete"


@dataclass
class Clock:
    expires_at: datetime
    delete_at: datetime | None = None
    reminder_at: datetime | None = None

    def deadline(self, status: SessionStatus) -> datetime:
        """When the session's next step is due: an active session expires at
        ``expires_at`` (reminded first, if the reminder comes before); a
        submitted or expired one is deleted at ``delete_at``."""
        if status == SessionStatus.ACTIVE or self.delete_at is None:
            deadline = self.expires_at
        else:
            deadline = self.delete_at
        if self.reminder_at is not None and status == SessionStatus.ACTIVE:
            deadline = min(deadline, self.reminder_at)
        return deadline

    def tick(self, status: SessionStatus, now: datetime) -> Tick:
        """What to do once the deadline has passed."""
        if self.reminder_at is not None and self.reminder_at <= now:
            return Tick.REMIND
        return Tick.EXPIRE if status == SessionStatus.ACTIVE else Tick.DELETE

    @staticmethod
    def summary(status: SessionStatus) -> str:
        """The timer's name in the Web UI."""
        return "expiry" if status == SessionStatus.ACTIVE else "retention"
