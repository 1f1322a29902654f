"""What the Web UI shows of a session or process: search attributes (ids and
statuses only: they are stored unencrypted) and the current details."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any

from temporalio import workflow
from temporalio.common import SearchAttributeUpdate

with workflow.unsafe.imports_passed_through():
    from activities.contracts import DeliveryRecord, DeliveryStatus
    from workflows.names import (
        SA_FAILED,
        SA_PROCESS,
        SA_PROJECT,
        SA_SESSION,
        SA_STATUS,
        SA_TEMPLATE,
    )

# Deliveries of each kind listed in the details; the rest is counted.
LISTED = 20

Upsert = Callable[[list[SearchAttributeUpdate[Any]]], None]


def publish(
    upsert: Upsert,
    *,
    project: str,
    status: str,
    process_id: str,
    session_id: str | None = None,
    template: str | None = None,
) -> None:
    """Set the searchable ids and the status."""
    updates: list[SearchAttributeUpdate[Any]] = [
        SA_PROJECT.value_set(project),
        SA_PROCESS.value_set(process_id),
        SA_STATUS.value_set(status),
    ]
    if session_id is not None:
        updates.insert(1, SA_SESSION.value_set(session_id))
    if template:
        updates.append(SA_TEMPLATE.value_set(template))
    upsert(updates)


def upsert(updates: list[SearchAttributeUpdate[Any]], *, lean: bool) -> None:
    """Upsert ``updates`` (not on the time-skipping server). ``lean`` (``LEAN_START``):
    only those that change what the run holds (the start set the ids, and the
    SDK keeps the run's search attributes up to date with each upsert)."""
    if lean:
        held = workflow.info().typed_search_attributes
        updates = [u for u in updates if held.get(u.key) != u.value]
    if updates:
        workflow.upsert_search_attributes(updates)


class FailedWebhooks:
    """``HookflowFailedWebhooks``: upserted only when the set changes, dropped when empty."""

    def __init__(self, upsert: Upsert) -> None:
        self._upsert = upsert
        self._published: list[str] = []

    def update(self, aliases: list[str]) -> None:
        if aliases == self._published:
            return
        self._published = aliases
        update = SA_FAILED.value_set(aliases) if aliases else SA_FAILED.value_unset()
        self._upsert([update])


def describe(headline: str, records: Sequence[DeliveryRecord], problems: Sequence[str]) -> None:
    """The current details: a headline with the deliveries counted, those not
    delivered listed, recent problems."""
    pending = sum(1 for r in records if r.status == DeliveryStatus.PENDING)
    lines = [f"{headline}, {len(records)} deliveries, {pending} pending"]
    for status in (DeliveryStatus.PENDING, DeliveryStatus.HELD, DeliveryStatus.FAILED):
        of_status = [r for r in records if r.status == status]
        lines += [
            f"- {status.value}: #{r.sequence} {r.event_type} -> {r.webhook_alias}"
            for r in of_status[:LISTED]
        ]
        if len(of_status) > LISTED:
            lines.append(f"- {status.value}: {len(of_status) - LISTED} more")
    lines += [f"- problem: {p}" for p in problems[-5:]]
    workflow.set_current_details("\n".join(lines))
