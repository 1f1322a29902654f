"""The delivery activity: one POST per attempt, the retry ladder raised to Temporal."""

from __future__ import annotations

import asyncio
import dataclasses
import uuid
from datetime import datetime, timedelta
from typing import Any
from urllib.parse import urlsplit

from sqlalchemy.engine import Engine
from sqlmodel import Session
from temporalio import activity
from temporalio.exceptions import ApplicationError

from activities.contracts import (
    ActivityName,
    DeliverInput,
    DeliveryResult,
    Envelope,
    FailoverInput,
    FailureType,
)
from activities.delivery.endpoint import Endpoint, EndpointCache, load_endpoint
from activities.delivery.http import HttpClients
from activities.delivery.retry import format_schedule, next_delay, parse_retry_after
from activities.delivery.sender import Sender, Verdict
from activities.delivery.tokens import TokenCache
from activities.errors import DocumentNotFound, EndpointUnavailable, SealedTextMissing
from activities.files.documents import DocumentStore, embed_files
from activities.files.sealed import open_text
from activities.log.attempts import AttemptLog, AttemptRecord
from activities.store.crypto import SecretBox
from activities.store.database import utcnow
from activities.store.webhooks import disable_webhook


class DeliveryActivities:
    """Activities that send webhooks; built once per worker with its shared clients."""

    def __init__(
        self,
        *,
        engine: Engine,
        box: SecretBox,
        http: HttpClients,
        tokens: TokenCache,
        documents: DocumentStore,
    ) -> None:
        self._engine = engine
        self._box = box
        self._sender = Sender(http=http, tokens=tokens)
        self._documents = documents
        self._log = AttemptLog(engine, box=box)
        self._endpoints = EndpointCache(engine=engine, box=box)

    @activity.defn(name=ActivityName.DELIVER)
    async def deliver(self, req: DeliverInput) -> DeliveryResult:
        attempt = activity.info().attempt + req.attempt_offset
        try:
            endpoint = await self._endpoints.get(req.webhook_id)
        except EndpointUnavailable as err:
            raise ApplicationError(
                str(err), type=FailureType.UNAVAILABLE, non_retryable=True
            ) from None
        if req.timeout is not None and req.timeout < endpoint.timeout:
            endpoint = dataclasses.replace(endpoint, timeout=max(req.timeout, 0.1))
        started_at = utcnow()
        try:
            body = await self._body(endpoint, req.envelope)
        except ApplicationError as err:  # a document is missing: logged, then failed at once
            await self._log.record(_unsendable(req, started_at=started_at, error=err.message))
            raise
        verdict = await self._sender.attempt(endpoint, body=body, msg_id=req.envelope.event.id)
        latency, status = verdict.latency_ms, verdict.status_code
        delay = None
        if verdict.outcome == "retrying":
            retry_after = parse_retry_after(
                verdict.reply.headers.get("retry-after") if verdict.reply else None
            )
            delay = next_delay(req.retry_schedule, attempt=attempt, retry_after=retry_after)
        outcome = "failed" if verdict.outcome == "retrying" and delay is None else verdict.outcome
        record = AttemptRecord(
            webhook_id=req.webhook_id,
            project=req.project,
            envelope=req.envelope,
            started_at=started_at,
            status_code=status,
            latency_ms=latency,
            outcome=outcome,
            error=verdict.error,
            response=verdict.reply.body if verdict.reply else None,
            attempt=attempt,
        )
        await self._log.record(record)
        if verdict.outcome == "gone":
            await asyncio.to_thread(self._disable, req.webhook_id)
        if verdict.outcome == "delivered":
            return DeliveryResult(
                status_code=status or 0,
                attempt=attempt,
                latency_ms=round(latency, 2),
                response=verdict.response,
            )
        raise self._failure(endpoint, req, verdict, attempt=attempt, delay=delay)

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
        body = await self._body(endpoint, req.envelope)
        verdict = await self._sender.attempt(endpoint, body=body, msg_id=req.envelope.event.id)
        if verdict.outcome != "delivered":
            host = urlsplit(endpoint.url).hostname
            raise ApplicationError(
                f"failover to {host}: {verdict.error}", type=FailureType.UNDELIVERED
            )
        return True

    async def _body(self, endpoint: Endpoint, envelope: Envelope) -> dict[str, Any]:
        body = envelope.body()
        if envelope.text_ref is not None:
            body.pop("text_ref")
            body["text"] = await asyncio.to_thread(self._open_text, envelope.text_ref)
        if endpoint.type != "archive":
            return body
        try:
            return await asyncio.to_thread(embed_files, self._documents, body)
        except DocumentNotFound as err:
            raise ApplicationError(str(err), type=FailureType.INVALID, non_retryable=True) from None

    def _failure(
        self,
        endpoint: Endpoint,
        req: DeliverInput,
        verdict: Verdict,
        *,
        attempt: int,
        delay: float | None,
    ) -> ApplicationError:
        where = f"{endpoint.alias} ({urlsplit(endpoint.url).hostname})"
        message = f"{verdict.error} from {where}, attempt {attempt}/{len(req.retry_schedule)}"
        if verdict.outcome == "gone":
            return ApplicationError(
                f"{message}; webhook disabled", type=FailureType.GONE, non_retryable=True
            )
        if verdict.outcome == "refused":
            return ApplicationError(message, type=FailureType.REFUSED, non_retryable=True)
        if delay is None:
            schedule = format_schedule(req.retry_schedule)
            return ApplicationError(
                f"{message}; retries exhausted ({schedule})",
                type=FailureType.EXHAUSTED,
                non_retryable=True,
            )
        return ApplicationError(
            f"{message}; next attempt in {delay:.0f}s",
            type=FailureType.UNDELIVERED,
            next_retry_delay=timedelta(seconds=delay),
        )

    def _open_text(self, ref: str) -> str:
        with Session(self._engine) as session:
            try:
                return open_text(session=session, box=self._box, ref=ref)
            except SealedTextMissing as err:
                raise ApplicationError(
                    str(err), type=FailureType.INVALID, non_retryable=True
                ) from None

    def _disable(self, webhook_id: uuid.UUID) -> None:
        with Session(self._engine) as session:
            disable_webhook(
                session=session, webhook_id=webhook_id, reason="the endpoint answered 410 Gone"
            )
        self._endpoints.forget(webhook_id)


def _unsendable(req: DeliverInput, *, started_at: datetime, error: str) -> AttemptRecord:
    """The log's row for a delivery that could not even be built."""
    return AttemptRecord(
        webhook_id=req.webhook_id,
        project=req.project,
        envelope=req.envelope,
        started_at=started_at,
        status_code=None,
        latency_ms=0.0,
        outcome="failed",
        error=error,
        response=None,
    )
