from __future__ import annotations

import random
from datetime import UTC, datetime

import pytest
from hypothesis import given
from hypothesis import strategies as st

from activities.delivery.retry import (
    DEFAULT_SCHEDULE,
    format_schedule,
    next_delay,
    parse_retry_after,
    parse_schedule,
)


def test_default_ladder_is_about_27_6_hours() -> None:
    assert format_schedule(list(DEFAULT_SCHEDULE)) == "0s,5s,5m,30m,2h,5h,10h,10h"
    assert round(sum(DEFAULT_SCHEDULE) / 3600, 1) == 27.6


def test_next_delay_follows_the_ladder_with_jitter() -> None:
    rng = random.Random(7)
    steps = list(DEFAULT_SCHEDULE)
    for attempt in range(1, 8):
        delays = [next_delay(steps, attempt=attempt, rng=rng) for _ in range(200)]
        assert all(
            d is not None and 0.8 * steps[attempt] <= d <= 1.2 * steps[attempt] for d in delays
        )
        assert len(set(delays)) > 1 or steps[attempt] == 0
    assert next_delay(steps, attempt=8) is None


def test_retry_after_wins_when_longer_and_is_capped() -> None:
    assert next_delay([0, 5], attempt=1, retry_after=120) == 120
    assert next_delay([0, 5], attempt=1, retry_after=10**7) == 36000
    delay = next_delay([0, 300], attempt=1, retry_after=1)
    assert delay is not None and delay >= 240


def test_parse_retry_after() -> None:
    now = datetime(2026, 1, 1, tzinfo=UTC)
    assert parse_retry_after("30") == 30
    assert parse_retry_after("Thu, 01 Jan 2026 00:01:00 GMT", now=now) == 60
    assert parse_retry_after("soon") is None
    assert parse_retry_after(None) is None


@pytest.mark.parametrize("text", ["", "0s,", "5x", "-1s", "0s," * 21, "8d"])
def test_bad_schedules(text: str) -> None:
    with pytest.raises(ValueError):
        parse_schedule(text)


def test_schedule_units() -> None:
    assert parse_schedule("0, 500ms, 5s, 2m, 1h, 1d") == [0, 0.5, 5, 120, 3600, 86400]


@pytest.mark.parametrize(
    "junk", ["²", "１２", "٣", "1e9", "-5", "5.5", "9" * 40, "soon", "Mon, 99 Foo"]
)
def test_junk_retry_after_is_as_if_absent(junk: str) -> None:
    assert parse_retry_after(junk) is None


@given(st.text(max_size=40))
def test_retry_after_never_raises(value: str) -> None:
    seconds = parse_retry_after(value)
    assert seconds is None or 0 <= seconds < 10**13
