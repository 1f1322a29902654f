"""What the delivery activity writes besides attempts: its marks in the
delivery log (waiting, held), and a failing webhook's automatic disabling.

A base of ``DeliveryActivities``, which builds the stores it uses.
"""

from __future__ import annotations

from datetime import datetime, timedelta

from temporalio import activity

from activities.contracts import (
    DeliverInput,
    DeliveryMark,
    DeliveryResult,
    DeliveryStatus,
    Envelope,
    Waiting,
)
from activities.delivery.endpoint import Endpoint, EndpointCache
from activities.delivery.failures import where
from activities.delivery.gate import Gate
from activities.delivery.health import Health, describe_duration, failing_for
from activities.delivery.ledger import Ledger
from activities.log.attempts import AttemptLog
from activities.store.database import utcnow


class LedgerSteps:
    """The delivery log's writes of the delivery activity."""

    _ledger: Ledger
    _log: AttemptLog
    _endpoints: EndpointCache
    _gate: Gate

    async def _auto_disable(
        self, req: DeliverInput, endpoint: Endpoint, health: Health | None
    ) -> str | None:
        """Disable a webhook that has failed every attempt for its project's limit
        (5 days unless set); the reason when this attempt did it."""
        if health is None or health.failing_since is None:
            return None
        failing = failing_for(health, now=self._gate.clock())
        limit = await self._ledger.disable_after(req.project)
        if limit is None or failing < limit:
            return None
        since = f"{health.failing_since:%Y-%m-%d %H:%M} UTC"
        reason = f"failed every attempt for {describe_duration(failing)} (since {since})"
        if not await self._disable(endpoint, reason):
            return None
        activity.logger.warning(
            "webhook %s (%s, project %s) disabled: %s",
            endpoint.alias,
            endpoint.id,
            req.project,
            reason,
        )
        return reason

    async def _put_off(
        self, req: DeliverInput, endpoint: Endpoint, delay: float, reason: str, attempt: int
    ) -> DeliveryResult:
        """Nothing sent: the stream waits ``delay`` seconds in its session. Waiting
        is not failing: no step of the ladder, no Temporal attempt, no attempt row."""
        seconds = max(delay, 0.1)
        reason = f"{reason} of {where(endpoint)}"
        await self._mark(
            req,
            [req.envelope],
            DeliveryStatus.WAITING,
            reason,
            next_attempt_at=utcnow() + timedelta(seconds=seconds),
        )
        return DeliveryResult(waiting=Waiting(seconds=seconds, reason=reason, attempts=attempt - 1))

    async def _mark(
        self,
        req: DeliverInput,
        envelopes: list[Envelope],
        status: DeliveryStatus,
        reason: str,
        *,
        next_attempt_at: datetime | None = None,
    ) -> None:
        """Deliveries that get no attempt now (held while paused, waiting, skipped)."""
        marks = [
            DeliveryMark(
                webhook_id=req.webhook_id,
                envelope=envelope,
                status=status,
                error=reason,
                next_attempt_at=next_attempt_at,
            )
            for envelope in envelopes
        ]
        await self._log.mark(req.project, marks)

    async def _disable(self, endpoint: Endpoint, reason: str) -> bool:
        done = await self._ledger.disable(endpoint.id, reason)
        self._endpoints.forget(endpoint.id)
        return done
