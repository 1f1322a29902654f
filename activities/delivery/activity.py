"""The delivery activity: an event, then the events behind it in its stream.

Each event is one attempt (one POST, one attempt-log row). The first event's
retry ladder is raised to Temporal (``next_retry_delay``); the events that
follow it are sent only while each succeeds. Before an attempt, the gate may
put the delivery off (the webhook's rate limit, its open circuit, its
bulkhead on this worker): the activity then returns ``waiting`` and the
session waits (no step of the ladder, no Temporal attempt, no attempt row).
The bulkhead caps the webhook's requests under way, each held only while its
request is; an event behind the first that finds no place ends the batch. A
batch heartbeats what it delivered, so a worker lost mid-batch costs the
stream its heartbeat timeout and nothing delivered is sent again.
"""

from __future__ import annotations

import asyncio
import dataclasses
import time
from datetime import timedelta
from typing import Any
from urllib.parse import urlsplit

from sqlalchemy.engine import Engine
from temporalio import activity
from temporalio.exceptions import ApplicationError

from activities.contracts import (
    ActivityName,
    DeliverInput,
    DeliveryResult,
    DeliveryStatus,
    Envelope,
    FailoverInput,
    FailureType,
    SentEvent,
)
from activities.delivery import filters, remote
from activities.delivery.bodies import Bodies
from activities.delivery.endpoint import Endpoint, EndpointCache, load_endpoint
from activities.delivery.failures import Sent, failure, where
from activities.delivery.gate import Gate
from activities.delivery.http import HttpClients
from activities.delivery.ledger import Ledger
from activities.delivery.marks import LedgerSteps
from activities.delivery.progress import Progress, heartbeats
from activities.delivery.retry import next_delay, parse_retry_after
from activities.delivery.sender import Sender, Verdict
from activities.delivery.tokens import TokenCache
from activities.errors import EndpointPaused, EndpointUnavailable
from activities.files.documents import DocumentStore
from activities.files.links import PURPOSE, DocumentLinks
from activities.log.attempts import AttemptLog, AttemptRecord
from activities.log.headers import received, sent_headers
from activities.store.crypto import SecretBox
from activities.store.database import utcnow

# The longest wait for a place or a rate slot worth spending inside the activity.
INLINE_WAIT = 2.0
# Of a batch's start-to-close time, kept for logging and returning its result.
BATCH_MARGIN = 5.0


class _Busy(Exception):
    """No place in the webhook's bulkhead came free in time: nothing was sent."""


class DeliveryActivities(LedgerSteps):
    """Activities that send webhooks; built once per worker with its shared clients."""

    def __init__(
        self,
        *,
        engine: Engine,
        box: SecretBox,
        http: HttpClients,
        tokens: TokenCache,
        documents: DocumentStore,
        gate: Gate | None = None,
        public_url: str | None = None,
        log: AttemptLog | None = None,
    ) -> None:
        self._engine = engine
        self._box = box
        self._sender = Sender(http=http, tokens=tokens)
        links = DocumentLinks(key=box.derive(PURPOSE), base_url=public_url)
        self._bodies = Bodies(engine=engine, box=box, documents=documents, links=links)
        self._log = log or AttemptLog(engine, box=box)
        self._endpoints = EndpointCache(engine=engine, box=box)
        self._gate = gate or Gate(engine=engine)
        self._ledger = Ledger(engine)

    @activity.defn(name=ActivityName.DELIVER)
    async def deliver(self, req: DeliverInput) -> DeliveryResult:
        info = activity.info()
        deadline = time.monotonic() + _seconds(info.start_to_close_timeout, 60.0) - BATCH_MARGIN
        endpoint = await self._endpoint(req)
        key = f"{info.workflow_run_id}/{info.activity_id}"
        # Put-offs end the activity with a result, so Temporal's attempt is the ladder's step.
        attempt = info.attempt + req.attempt_offset
        progress = Progress.resumed(info.heartbeat_details)
        beating = heartbeats(progress) if info.heartbeat_timeout and not info.is_local else None
        try:
            return await self._deliver(
                req, endpoint, key, attempt=attempt, deadline=deadline, progress=progress
            )
        except EndpointUnavailable as err:  # deleted while its health was being read
            raise ApplicationError(
                str(err), type=FailureType.UNAVAILABLE, non_retryable=True
            ) from None
        finally:
            if beating is not None:
                beating.cancel()

    async def _deliver(
        self,
        req: DeliverInput,
        endpoint: Endpoint,
        key: str,
        *,
        attempt: int,
        deadline: float,
        progress: Progress,
    ) -> DeliveryResult:
        head = progress.head
        if head is None and (skipped := await self._filtered(req, endpoint, req.envelope)):
            head = progress.head = DeliveryResult(attempt=attempt, skipped=skipped)
        if head is None:  # (else a lost worker delivered it already: not sent twice)
            admission = await self._gate.admit(endpoint, inline=INLINE_WAIT)
            if not admission.send:
                return await self._put_off(
                    req, endpoint, admission.delay, admission.reason, attempt
                )
            await asyncio.sleep(admission.sleep)
            try:
                sent = await self._send(
                    req, endpoint, req.envelope, key=key, probe=admission.probe, attempt=attempt
                )
            except _Busy as busy:
                delay = self._gate.bulkhead.put_off(
                    endpoint.id, key=key, limit=endpoint.max_in_flight
                )
                return await self._put_off(req, endpoint, delay, str(busy), attempt)
            verdict = sent.verdict
            if verdict.outcome != "delivered":
                raise await self._failure(endpoint, req, sent, attempt=attempt)
            head = progress.head = DeliveryResult(
                status_code=verdict.status_code or 0,
                attempt=attempt,
                latency_ms=round(verdict.latency_ms, 2),
                response=verdict.response,
            )
            if progress.beat is not None:
                progress.beat()
        stopped = await self._following(req, endpoint, key, deadline=deadline, progress=progress)
        return head.model_copy(update={"following": list(progress.following), "stopped": stopped})

    async def _following(
        self,
        req: DeliverInput,
        endpoint: Endpoint,
        key: str,
        *,
        deadline: float,
        progress: Progress,
    ) -> str | None:
        """Send the events behind the first, in order, while each succeeds (those a
        lost worker delivered already are not sent again); why the rest were not."""
        for envelope in req.following[len(progress.following) :]:
            if skipped := await self._filtered(req, endpoint, envelope):
                progress.following.append(
                    SentEvent(
                        event_id=envelope.event.id, status_code=0, latency_ms=0, skipped=skipped
                    )
                )
                continue
            left = deadline - time.monotonic() - endpoint.timeout
            if left <= 0:
                return "not sent: the time of this batch is used up"
            admission = await self._gate.admit(endpoint, inline=min(INLINE_WAIT, left))
            if not admission.send:
                return f"not sent: {admission.reason} of {where(endpoint)}"
            await asyncio.sleep(admission.sleep)
            try:
                tried = await self._send(
                    req, endpoint, envelope, key=key, probe=admission.probe, attempt=None
                )
            except _Busy as busy:
                return f"not sent: {busy} to {where(endpoint)}"
            verdict = tried.verdict
            if verdict.outcome != "delivered":
                disabled = f"; webhook disabled: {tried.disabled}" if tried.disabled else ""
                return f"{verdict.error} from {where(endpoint)}{disabled}"
            progress.following.append(
                SentEvent(
                    event_id=envelope.event.id,
                    status_code=verdict.status_code or 0,
                    latency_ms=round(verdict.latency_ms, 2),
                )
            )
            if progress.beat is not None:
                progress.beat()
        return None

    async def _filtered(
        self, req: DeliverInput, endpoint: Endpoint, envelope: Envelope
    ) -> str | None:
        """Why the webhook's filter leaves ``envelope`` out, recorded as ``skipped``."""
        reason = filters.skip_reason(endpoint.filter, envelope)
        if reason is not None:
            await self._mark(req, [envelope], DeliveryStatus.SKIPPED, reason)
        return reason

    async def _send(
        self,
        req: DeliverInput,
        endpoint: Endpoint,
        envelope: Envelope,
        *,
        key: str,
        probe: bool,
        attempt: int | None,
    ) -> Sent:
        """One attempt, logged and counted in the webhook's health.

        ``attempt``: its step on the ladder (None: a following event, which the
        workflow schedules again if it fails)."""
        started_at = utcnow()
        try:
            body = await self._bodies.build(endpoint, envelope, req.project)
        except ApplicationError as err:  # a document is missing: logged, then failed at once
            await self._log.record(
                AttemptRecord.unsent(req, envelope, started_at=started_at, error=err.message)
            )
            raise
        try:
            verdict = await self._request(endpoint, key, body=body, msg_id=envelope.event.id)
        except _Busy:  # nothing sent: the circuit's probe goes to the next attempt at once
            if probe:
                await self._gate.settle(endpoint, outcome="refused", probe=True)
            raise
        verdict = remote.checked(verdict) if req.remote else verdict
        outcome, delay = verdict.outcome, None
        if outcome == "retrying" and attempt is not None:
            retry_after = parse_retry_after(
                verdict.reply.headers.get("retry-after") if verdict.reply else None
            )
            delay = next_delay(req.retry_schedule, attempt=attempt, retry_after=retry_after)
            outcome = "retrying" if delay is not None else "failed"
        next_at = utcnow() + timedelta(seconds=delay) if delay is not None else None
        redact = self._sender.redactor(endpoint)
        await self._log.record(
            AttemptRecord(
                webhook_id=req.webhook_id,
                project=req.project,
                envelope=envelope,
                started_at=started_at,
                status_code=verdict.status_code,
                latency_ms=verdict.latency_ms,
                outcome=outcome,
                error=verdict.error,
                response=verdict.reply.body if verdict.reply else None,
                attempt=attempt,
                next_attempt_at=next_at,
                request_headers=sent_headers(
                    verdict.request.headers, secret=endpoint.secret_headers, redact=redact
                ),
                response_headers=received(verdict.reply, redact=redact),
                redelivery=req.redelivery,
            )
        )
        if verdict.outcome == "gone":
            await self._disable(endpoint, "the endpoint answered 410 Gone")
        health = await self._gate.settle(endpoint, outcome=verdict.outcome, probe=probe)
        if verdict.outcome != "retrying":
            return Sent(verdict, delay)
        return Sent(verdict, delay, await self._auto_disable(req, endpoint, health))

    async def _request(
        self, endpoint: Endpoint, key: str, *, body: dict[str, Any], msg_id: str
    ) -> Verdict:
        """One request, with a place among the webhook's requests under way on
        this worker (``_Busy`` when none came free in time)."""
        bulkhead, cap = self._gate.bulkhead, endpoint.max_in_flight
        if not await bulkhead.acquire(endpoint.id, key=key, limit=cap, wait=INLINE_WAIT):
            raise _Busy(bulkhead.refusal(endpoint.id, cap))
        started = time.monotonic()
        try:
            return await self._sender.attempt(endpoint, body=body, msg_id=msg_id)
        finally:
            await bulkhead.release(endpoint.id, seconds=time.monotonic() - started)

    async def _endpoint(self, req: DeliverInput) -> Endpoint:
        try:
            endpoint = await self._endpoints.get(req.webhook_id)
        except EndpointPaused as err:
            held = [req.envelope, *req.following]
            await self._mark(req, held, DeliveryStatus.HELD, str(err))
            raise ApplicationError(
                f"{err}; {len(held)} held until it is enabled",
                type=FailureType.PAUSED,
                non_retryable=True,
            ) from None
        except EndpointUnavailable as err:
            raise ApplicationError(
                str(err), type=FailureType.UNAVAILABLE, non_retryable=True
            ) from None
        if req.timeout is not None and req.timeout < endpoint.timeout:
            endpoint = dataclasses.replace(endpoint, timeout=max(req.timeout, 0.1))
        return endpoint

    @activity.defn(name=ActivityName.FAILOVER)
    async def failover(self, req: FailoverInput) -> bool:
        """Send an exhausted delivery to its webhook's failover URL; False when it has none."""
        try:
            endpoint = await asyncio.to_thread(
                load_endpoint,
                engine=self._engine,
                box=self._box,
                webhook_id=req.webhook_id,
                allow_disabled=True,
            )
        except EndpointUnavailable:
            return False
        if not endpoint.failover_url:
            return False
        endpoint = dataclasses.replace(endpoint, url=endpoint.failover_url)
        body = await self._bodies.build(endpoint, req.envelope, req.project)
        verdict = await self._sender.attempt(endpoint, body=body, msg_id=req.envelope.event.id)
        if verdict.outcome != "delivered":
            host = urlsplit(endpoint.url).hostname
            raise ApplicationError(
                f"failover to {host}: {verdict.error}", type=FailureType.UNDELIVERED
            )
        return True

    async def _failure(
        self, endpoint: Endpoint, req: DeliverInput, sent: Sent, *, attempt: int
    ) -> ApplicationError:
        if sent.disabled:
            held = [req.envelope, *req.following]
            await self._mark(req, held, DeliveryStatus.HELD, f"webhook disabled: {sent.disabled}")
        return failure(endpoint=endpoint, req=req, sent=sent, attempt=attempt)


def _seconds(value: timedelta | None, default: float) -> float:
    return value.total_seconds() if value else default
