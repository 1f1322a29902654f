"""The delivery retry ladder, jitter and ``Retry-After``."""

from __future__ import annotations

import random
import re
from datetime import UTC, datetime
from email.utils import parsedate_to_datetime

# Immediately, then 5 s, 5 min, 30 min, 2 h, 5 h, 10 h, 10 h: about 27.6 hours.
DEFAULT_SCHEDULE: tuple[float, ...] = (0, 5, 300, 1800, 7200, 18000, 36000, 36000)
JITTER = 0.2
MAX_SCHEDULE_LENGTH = 20
MAX_STEP = 7 * 24 * 3600.0
# A receiver may ask for more time than the ladder gives, up to this much.
MAX_RETRY_AFTER = 10 * 3600.0

_UNITS = {"ms": 0.001, "s": 1.0, "m": 60.0, "h": 3600.0, "d": 86400.0}
# str.isdigit() also accepts "²" and other digits float() refuses.
_DELTA_SECONDS = re.compile(r"[0-9]{1,12}")
_STEP = re.compile(r"^\s*(\d+(?:\.\d+)?)\s*(ms|s|m|h|d)?\s*$")


def parse_duration(text: str) -> float:
    """Seconds in ``"90"``, ``"5s"``, ``"5m"``, ``"2h"`` or ``"1d"``."""
    match = _STEP.match(text)
    if not match:
        raise ValueError(f"not a duration: {text!r} (use e.g. 30s, 5m, 2h)")
    return float(match.group(1)) * _UNITS[match.group(2) or "s"]


def parse_schedule(text: str) -> list[float]:
    """A comma-separated retry schedule such as ``0s,5s,5m,30m``."""
    steps = [parse_duration(part) for part in text.split(",")]
    validate_schedule(steps)
    return steps


def validate_schedule(steps: list[float]) -> None:
    if not 1 <= len(steps) <= MAX_SCHEDULE_LENGTH:
        raise ValueError(f"a retry schedule has 1 to {MAX_SCHEDULE_LENGTH} steps")
    if any(step < 0 or step > MAX_STEP for step in steps):
        raise ValueError("each retry step is between 0s and 7d")


def format_schedule(steps: list[float]) -> str:
    return ",".join(_format_step(step) for step in steps)


def _format_step(seconds: float) -> str:
    for unit, size in (("d", 86400), ("h", 3600), ("m", 60)):
        if seconds >= size and seconds % size == 0:
            return f"{int(seconds // size)}{unit}"
    return f"{seconds:g}s"


def next_delay(
    steps: list[float],
    *,
    attempt: int,
    retry_after: float | None = None,
    rng: random.Random | None = None,
) -> float | None:
    """Seconds to wait after failed ``attempt`` (1-based), or None when exhausted.

    The ladder step gets +/-20% jitter so that retries of many deliveries do
    not arrive together; a ``Retry-After`` longer than the step wins, capped.
    """
    if attempt >= len(steps):
        return None
    delay = steps[attempt] * (1 + (rng or random).uniform(-JITTER, JITTER))
    if retry_after is not None:
        delay = max(delay, min(retry_after, MAX_RETRY_AFTER))
    return max(delay, 0.0)


def parse_retry_after(value: str | None, *, now: datetime | None = None) -> float | None:
    """Seconds from a ``Retry-After`` header (delta-seconds or HTTP date); anything
    else (``²``, ``1e9``, junk) is as if the header were absent."""
    if not value:
        return None
    value = value.strip()
    if _DELTA_SECONDS.fullmatch(value):
        return float(value)
    try:
        when = parsedate_to_datetime(value)
        if when.tzinfo is None:
            when = when.replace(tzinfo=UTC)
        return max((when - (now or datetime.now(UTC))).total_seconds(), 0.0)
    except (TypeError, ValueError, IndexError, OverflowError):
        return None
