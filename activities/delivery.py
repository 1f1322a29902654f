"""The delivery activity: one POST per attempt, the retry ladder raised to Temporal."""

from __future__ import annotations

import asyncio
import time
from dataclasses import dataclass
from datetime import timedelta
from urllib.parse import urlsplit

import httpx
from sqlalchemy.engine import Engine
from sqlmodel import Session
from temporalio import activity
from temporalio.exceptions import ApplicationError

from activities import catalog
from activities.contracts import DeliverInput, DeliveryError, DeliveryResult
from activities.crypto import SecretBox
from activities.database import utcnow
from activities.deliveries import AttemptRecord, record_attempt
from activities.endpoint import Endpoint, EndpointUnavailable, load_endpoint
from activities.formats import decode, encode
from activities.guard import DestinationRefused
from activities.http import HttpClients, HttpReply
from activities.retry import format_schedule, next_delay, parse_retry_after
from activities.tokens import TokenCache, TokenError
from activities.webhooks import disable_webhook

ERR_UNDELIVERED = DeliveryError.UNDELIVERED.value
ERR_EXHAUSTED = DeliveryError.EXHAUSTED.value
ERR_GONE = DeliveryError.GONE.value
ERR_REFUSED = DeliveryError.REFUSED.value
ERR_UNAVAILABLE = DeliveryError.UNAVAILABLE.value


@dataclass(frozen=True)
class _Verdict:
    outcome: str  # delivered | retrying | gone | refused
    error: str | None
    reply: HttpReply | None
    response: object = None


class DeliveryActivities:
    """Activities that send webhooks; built once per worker with its shared clients."""

    def __init__(
        self, *, engine: Engine, box: SecretBox, http: HttpClients, tokens: TokenCache
    ) -> None:
        self._engine = engine
        self._box = box
        self._http = http
        self._tokens = tokens

    @activity.defn(name="deliver")
    async def deliver(self, req: DeliverInput) -> DeliveryResult:
        attempt = activity.info().attempt
        try:
            endpoint = await asyncio.to_thread(
                load_endpoint, engine=self._engine, box=self._box, webhook_id=req.webhook_id
            )
        except EndpointUnavailable as err:
            raise ApplicationError(str(err), type=ERR_UNAVAILABLE, non_retryable=True) from None
        started_at = utcnow()
        verdict = await self._attempt(endpoint, req)
        latency = verdict.reply.latency_ms if verdict.reply else 0.0
        status = verdict.reply.status_code if verdict.reply else None
        delay = None
        if verdict.outcome == "retrying":
            retry_after = parse_retry_after(
                verdict.reply.headers.get("retry-after") if verdict.reply else None
            )
            delay = next_delay(req.retry_schedule, attempt=attempt, retry_after=retry_after)
        outcome = "failed" if verdict.outcome == "retrying" and delay is None else verdict.outcome
        await asyncio.to_thread(
            self._record,
            AttemptRecord(
                webhook_id=req.webhook_id,
                project=req.project,
                envelope=req.envelope,
                attempt=attempt,
                started_at=started_at,
                status_code=status,
                latency_ms=latency,
                outcome=outcome,
                error=verdict.error,
                response=verdict.reply.body if verdict.reply else None,
            ),
        )
        if verdict.outcome == "delivered":
            return DeliveryResult(
                status_code=status or 0,
                attempt=attempt,
                latency_ms=round(latency, 2),
                response=verdict.response,
            )
        raise self._failure(endpoint, req, verdict, attempt=attempt, delay=delay)

    def _failure(
        self,
        endpoint: Endpoint,
        req: DeliverInput,
        verdict: _Verdict,
        *,
        attempt: int,
        delay: float | None,
    ) -> ApplicationError:
        where = f"{endpoint.alias} ({urlsplit(endpoint.url).hostname})"
        message = f"{verdict.error} from {where}, attempt {attempt}/{len(req.retry_schedule)}"
        if verdict.outcome == "gone":
            return ApplicationError(
                f"{message}; webhook disabled", type=ERR_GONE, non_retryable=True
            )
        if verdict.outcome == "refused":
            return ApplicationError(message, type=ERR_REFUSED, non_retryable=True)
        if delay is None:
            schedule = format_schedule(req.retry_schedule)
            return ApplicationError(
                f"{message}; retries exhausted ({schedule})", type=ERR_EXHAUSTED, non_retryable=True
            )
        return ApplicationError(
            f"{message}; next attempt in {delay:.0f}s",
            type=ERR_UNDELIVERED,
            next_retry_delay=timedelta(seconds=delay),
        )

    async def _attempt(self, endpoint: Endpoint, req: DeliverInput) -> _Verdict:
        body = encode(req.envelope.body(), endpoint.content_type)
        headers = endpoint.request_headers(
            msg_id=req.envelope.event.id, timestamp=int(time.time()), body=body
        )
        try:
            reply = await self._send(endpoint, body, headers)
            if reply.status_code == 401 and endpoint.bearer is not None:
                # The token may have been revoked early: fetch a new one, once.
                reply = await self._send(endpoint, body, headers, refresh=True)
        except DestinationRefused as err:
            return _Verdict("refused", str(err), None)
        except TokenError as err:
            return _Verdict("retrying", str(err), None)
        except httpx.TimeoutException:
            return _Verdict("retrying", f"timed out after {endpoint.timeout:g}s", None)
        except httpx.HTTPError as err:
            return _Verdict("retrying", f"{type(err).__name__}: {err}"[:300], None)
        return judge(endpoint, reply)

    async def _send(
        self, endpoint: Endpoint, body: bytes, headers: dict[str, str], *, refresh: bool = False
    ) -> HttpReply:
        if endpoint.bearer is not None:
            token = await self._tokens.token(endpoint.bearer, refresh=refresh)
            headers = {**headers, "authorization": f"Bearer {token}"}
        return await self._http.post(
            endpoint.url,
            content=body,
            headers=headers,
            timeout=endpoint.timeout,
            verify_ssl=endpoint.verify_ssl,
        )

    def _record(self, record: AttemptRecord) -> None:
        with Session(self._engine) as session:
            record_attempt(session=session, record=record)
            if record.outcome == "gone":
                disable_webhook(
                    session=session,
                    webhook_id=record.webhook_id,
                    reason="the endpoint answered 410 Gone",
                )


def judge(endpoint: Endpoint, reply: HttpReply) -> _Verdict:
    """Success is a 2xx whose body is not the type's error response; 3xx is a
    failure (redirects are not followed); 410 stops; everything else retries."""
    status = reply.status_code
    data = decode(reply.body, endpoint.accept) if not reply.truncated else None
    if 200 <= status < 300:
        if catalog.is_error_response(data):
            return _Verdict("retrying", f"HTTP {status} with an error body", reply)
        response = data if endpoint.type == "remote_data" else None
        return _Verdict("delivered", None, reply, response)
    if status == 410:
        return _Verdict("gone", "HTTP 410 Gone", reply)
    if 300 <= status < 400:
        location = reply.headers.get("location", "")
        return _Verdict(
            "retrying", f"HTTP {status} redirect to {location[:100]!r} not followed", reply
        )
    return _Verdict("retrying", f"HTTP {status}", reply)
