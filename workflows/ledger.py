"""The ledger: every delivery's record, and the envelope of each one not yet
delivered; finished records beyond a bound are forgotten (the delivery log
keeps them all)."""

from __future__ import annotations

import uuid
from collections.abc import Iterable, Iterator

from pydantic import JsonValue
from temporalio import workflow

with workflow.unsafe.imports_passed_through():
    from activities.contracts import DeliveryRecord, Envelope, WebhookTarget
    from activities.contracts.states import OPEN

# Finished deliveries kept in workflow state; older ones live in the delivery log.
KEEP_FINISHED = 100


class Ledger:
    def __init__(self) -> None:
        self._records: dict[tuple[str, uuid.UUID], DeliveryRecord] = {}
        self._envelopes: dict[str, Envelope] = {}

    def track(self, target: WebhookTarget, envelope: Envelope) -> DeliveryRecord:
        """A new pending record of ``envelope`` to ``target``."""
        record = DeliveryRecord.of(target, envelope)
        self._records[(record.event_id, target.id)] = record
        self._envelopes[envelope.event.id] = envelope
        return record

    def remember(self, records: Iterable[DeliveryRecord]) -> None:
        """Finished records handed over by continue-as-new."""
        for record in records:
            key = (record.event_id, record.webhook_id)
            if record.status not in OPEN and key not in self._records:
                self._records[key] = record

    def get(self, event_id: str, webhook_id: uuid.UUID) -> DeliveryRecord:
        return self._records[(event_id, webhook_id)]

    def envelope(self, event_id: str) -> Envelope:
        return self._envelopes[event_id]

    def has_envelope(self, event_id: str) -> bool:
        return event_id in self._envelopes

    def records(self) -> list[DeliveryRecord]:
        return list(self._records.values())

    def of(self, webhook_id: uuid.UUID) -> list[DeliveryRecord]:
        return [r for (_, w), r in self._records.items() if w == webhook_id]

    def open(self) -> Iterator[DeliveryRecord]:
        return (r for r in self._records.values() if r.status in OPEN)

    def finished(self) -> list[DeliveryRecord]:
        return [r for r in self._records.values() if r.status not in OPEN]

    def failed_aliases(self) -> list[str]:
        failed = {r.webhook_alias for r in self._records.values() if r.status == "failed"}
        return sorted(failed)

    def prune(self) -> None:
        """Forget the oldest finished records beyond ``KEEP_FINISHED``."""
        if len(self._records) <= 2 * KEEP_FINISHED:
            return
        finished = [k for k, r in self._records.items() if r.status not in OPEN]
        if len(finished) <= KEEP_FINISHED:
            return
        for key in finished[: len(finished) - KEEP_FINISHED]:
            del self._records[key]
        live = {event_id for event_id, _ in self._records}
        self._envelopes = {e: v for e, v in self._envelopes.items() if e in live}


def alert_data(record: DeliveryRecord) -> dict[str, JsonValue]:
    """What ``WHP_DELIVERY_FAILED`` says of a failed delivery."""
    return {
        "webhook": record.webhook_alias,
        "event_id": record.event_id,
        "event_type": record.event_type,
        "sequence": record.sequence,
        "error": record.error,
    }


def disabled_data(target: WebhookTarget, reason: str | None) -> dict[str, JsonValue]:
    """What ``WHP_WEBHOOK_DISABLED`` says of a webhook disabled after failing for days."""
    return {"webhook": target.alias, "webhook_id": str(target.id), "reason": reason}
