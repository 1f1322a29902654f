"""Bounds on what a tenant controls: every count, length and duration of a
request is limited here, so that no project can make the stack slow or fail
for the others (and a value accepted here can be stored, timed and sent).
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Annotated

from pydantic import AfterValidator, Field, StringConstraints

MIB = 1 << 20
DEFAULT_MAX_REQUEST = 1 * MIB
"""A request body to the API (``HOOKFLOW_MAX_REQUEST_SIZE``)."""
DEFAULT_MAX_UPLOAD = 25 * MIB
"""One uploaded document (``HOOKFLOW_MAX_UPLOAD_SIZE``)."""
DEFAULT_DOCUMENT_QUOTA = 1024 * MIB
"""The documents of one project together (``HOOKFLOW_DOCUMENT_QUOTA``)."""
MAX_LABELS = 100
MAX_LABEL_KEY = 128
MAX_LABEL_VALUE = 1024
MAX_DURATION = timedelta(days=3660)
"""Expiry, retention and reminders: ten years (a timer further away overflows)."""
LATEST_DATETIME = datetime(9000, 1, 1, tzinfo=UTC)
"""No deadline after this one: its retention is added without overflow."""


def _duration(value: timedelta) -> timedelta:
    if value.total_seconds() < 0:
        raise ValueError("must not be negative")
    if value > MAX_DURATION:
        raise ValueError(f"must be at most {MAX_DURATION.days} days")
    return value


def _deadline(value: datetime) -> datetime:
    if value >= LATEST_DATETIME:
        raise ValueError(f"must be before {LATEST_DATETIME.year}")
    return value


Duration = Annotated[timedelta, AfterValidator(_duration)]
"""A duration a request sets (seconds or ISO 8601): 0 to ten years."""

Deadline = AfterValidator(_deadline)

LabelKey = Annotated[str, StringConstraints(min_length=1, max_length=MAX_LABEL_KEY)]
LabelValue = Annotated[str, StringConstraints(max_length=MAX_LABEL_VALUE)]
Labels = Annotated[dict[LabelKey, LabelValue], Field(max_length=MAX_LABELS)]
"""A session's labels: up to 100, keys up to 128 characters, values up to 1 KiB."""


def size_text(limit: int) -> str:
    """``25 MiB``, ``512 KiB``, ``100 bytes``."""
    if limit >= MIB and limit % (MIB // 4) == 0:
        return f"{limit / MIB:g} MiB"
    if limit >= 1024 and limit % 1024 == 0:
        return f"{limit // 1024} KiB"
    return f"{limit} bytes"


# A webhook's attempts at once on one worker, unless it says: a tenth of the
# worker's 200 activity slots (worker.runtime.assembly.MAX_ACTIVITIES), enough for
# about 200 deliveries a second to an endpoint that answers in 100 ms.
DEFAULT_MAX_IN_FLIGHT = 20
# The highest --max-in-flight a webhook may be given (HOOKFLOW_MAX_IN_FLIGHT_CEILING):
# a quarter of a worker's 200 activity slots.
DEFAULT_MAX_IN_FLIGHT_CEILING = 50
# Webhooks one project may have (HOOKFLOW_WEBHOOKS_PER_PROJECT).
DEFAULT_WEBHOOKS_PER_PROJECT = 100


@dataclass(frozen=True)
class WebhookLimits:
    """The server's limits on a project's webhooks (the operator's settings,
    passed down to the store by whoever configures a webhook)."""

    max_in_flight_ceiling: int = DEFAULT_MAX_IN_FLIGHT_CEILING
    webhooks_per_project: int = DEFAULT_WEBHOOKS_PER_PROJECT


def parse_size(text: str) -> int:
    """``25MiB``, ``25M``, ``512k``, ``1G`` or a number of bytes."""
    match = re.fullmatch(r"\s*(\d+)\s*([kmg]?)(i?b)?\s*", text.lower())
    if not match:
        raise ValueError(f"{text!r} is not a size (like 25MiB, 512KiB or 1048576)")
    return int(match[1]) * {"": 1, "k": 1024, "m": MIB, "g": 1024 * MIB}[match[2]]
