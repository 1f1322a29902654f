"""Signals in: whatever a caller sends, a signal becomes a valid payload or a
recorded problem; it never fails a workflow task.

Every signal of a session arrives here as raw payloads (one dynamic
handler), so a wrong number of inputs, an undecodable or oversized payload,
or a payload of the wrong shape is one line in the session's problems.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from typing import TypeVar

from pydantic import BaseModel, JsonValue, ValidationError
from temporalio import workflow
from temporalio.common import RawValue

with workflow.unsafe.imports_passed_through():
    from activities.contracts import MAX_SIGNAL_BYTES

P = TypeVar("P", bound=BaseModel)

# Event ids remembered to drop a repeated signal; the oldest are forgotten.
MAX_SEEN = 2000


class Rejected(Exception):
    """The signal is dropped; the message says why, in one line."""


class Intake:
    def __init__(self, seen: Iterable[str] = ()) -> None:
        self._seen: dict[str, None] = dict.fromkeys(seen)

    @property
    def seen(self) -> list[str]:
        return list(self._seen)

    def payload(self, name: str, args: Sequence[RawValue]) -> JsonValue:
        """The signal's one input as JSON (None when it has none)."""
        if len(args) > 1:
            raise Rejected(f"signal {name} ignored: {len(args)} inputs, expected one")
        if not args:
            return None
        raw = args[0].payload
        if len(raw.data) > MAX_SIGNAL_BYTES:
            raise Rejected(f"signal {name} ignored: payload over {MAX_SIGNAL_BYTES // 1024} KiB")
        try:
            value: JsonValue = workflow.payload_converter().from_payload(raw)
        except Exception as err:  # any undecodable input is the caller's problem, not ours
            raise Rejected(
                f"signal {name} ignored: unreadable payload ({type(err).__name__})"
            ) from None
        return value

    def validate(self, name: str, payload: JsonValue, model: type[P]) -> P:
        try:
            return model.model_validate({} if payload is None else payload)
        except ValidationError as err:
            raise Rejected(f"signal {name} ignored: invalid payload: {describe(err)}") from None
        except (ValueError, TypeError, RecursionError) as err:
            raise Rejected(
                f"signal {name} ignored: invalid payload ({type(err).__name__})"
            ) from None

    def first_time(self, event_id: str | None) -> bool:
        """False for an event id seen before: the signal is a repeat."""
        if event_id is None:
            return True
        if event_id in self._seen:
            return False
        self._seen[event_id] = None
        while len(self._seen) > MAX_SEEN:
            del self._seen[next(iter(self._seen))]
        return True


def describe(err: ValidationError) -> str:
    """A validation error as one line, without the input (it may be personal
    data, or a one-time password given in the clear)."""
    parts = []
    for item in err.errors(include_input=False, include_url=False)[:3]:
        where = ".".join(str(p) for p in item["loc"]) or "payload"
        parts.append(f"{where}: {item['msg']}")
    return "; ".join(parts)[:300]
