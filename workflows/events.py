"""A session's events: numbered in order, each one envelope; the most recent
kept in workflow state (every delivery of older ones is in the delivery log)."""

from __future__ import annotations

from collections import deque
from collections.abc import Iterable
from typing import Any

from temporalio import workflow

with workflow.unsafe.imports_passed_through():
    from activities.contracts import Envelope, EventInfo, EventRecord, SessionInfo

# Events listed by the ``state`` query; the sequence counts them all.
KEEP_EVENTS = 100
_PARTS = frozenset(Envelope.model_fields) - {"event", "session"}


class EventLog:
    def __init__(
        self, session: SessionInfo, *, sequence: int = 0, events: Iterable[EventRecord] = ()
    ) -> None:
        self.session = session
        self.sequence = sequence
        self.events: deque[EventRecord] = deque(events, maxlen=KEEP_EVENTS)

    def new(self, event_type: str, **parts: Any) -> Envelope:
        """The next event: the next sequence number, recorded, as its envelope."""
        unknown = parts.keys() - _PARTS
        if unknown:
            raise TypeError(f"not an envelope field: {', '.join(sorted(unknown))}")
        self.sequence += 1
        event = EventInfo(
            id="evt_" + workflow.uuid4().hex,
            type=event_type,
            timestamp=workflow.now(),
            sequence=self.sequence,
        )
        self.events.append(EventRecord(**event.model_dump()))
        return Envelope(event=event, session=self.session, **parts)
