"""The session's clock, as pure logic: what is due when."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from activities.contracts import SessionStatus
from workflows.clock import Clock, Tick

T0 = datetime(2026, 1, 26, 9, 0, tzinfo=UTC)


def test_an_active_session_expires_at_its_expiry() -> None:
    clock = Clock(T0 + timedelta(days=7))
    assert clock.deadline(SessionStatus.ACTIVE) == T0 + timedelta(days=7)
    assert clock.tick(SessionStatus.ACTIVE, T0 + timedelta(days=7)) == Tick.EXPIRE


def test_a_reminder_before_expiry_comes_first() -> None:
    clock = Clock(T0 + timedelta(days=7), reminder_at=T0 + timedelta(hours=1))
    assert clock.deadline(SessionStatus.ACTIVE) == T0 + timedelta(hours=1)
    assert clock.tick(SessionStatus.ACTIVE, T0 + timedelta(hours=1)) == Tick.REMIND
    clock.reminder_at = None
    assert clock.deadline(SessionStatus.ACTIVE) == T0 + timedelta(days=7)


def test_a_reminder_after_expiry_never_comes() -> None:
    clock = Clock(T0 + timedelta(hours=1), reminder_at=T0 + timedelta(days=2))
    assert clock.deadline(SessionStatus.ACTIVE) == T0 + timedelta(hours=1)
    assert clock.tick(SessionStatus.ACTIVE, T0 + timedelta(hours=1)) == Tick.EXPIRE


def test_a_submitted_or_expired_session_is_deleted_at_the_end_of_retention() -> None:
    for status in (SessionStatus.SUBMITTED, SessionStatus.EXPIRED):
        clock = Clock(
            T0 + timedelta(days=7),
            delete_at=T0 + timedelta(days=30),
            reminder_at=T0 + timedelta(days=40),
        )
        assert clock.deadline(status) == T0 + timedelta(days=30)
        assert clock.tick(status, T0 + timedelta(days=30)) == Tick.DELETE


def test_the_timer_is_named_for_what_it_waits_for() -> None:
    assert Clock.summary(SessionStatus.ACTIVE) == "expiry"
    assert Clock.summary(SessionStatus.SUBMITTED) == "retention"
