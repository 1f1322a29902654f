"""``/api/v1/deliveries``: the delivery log (GitHub's "Recent deliveries"), and redelivery."""

from __future__ import annotations

from dataclasses import dataclass, replace
from datetime import datetime
from typing import Annotated, Literal

from fastapi import APIRouter, Depends, Header, Query
from fastapi.responses import JSONResponse
from sqlmodel import Session, col, select

from activities.errors import ConfigError, NotFound
from activities.log.attempts import attempts_of, envelope_of, excerpt_of, last_attempts
from activities.log.headers import open_headers
from activities.store.crypto import SecretBox
from activities.store.tables import Delivery, Webhook
from worker.api.auth import Caller, Principal
from worker.api.dependencies import Db, Deps, ProjectFilter
from worker.api.errors import ERROR_RESPONSES
from worker.api.models import (
    AttemptOut,
    DeliveryDetail,
    DeliveryOut,
    RedeliverWindowIn,
    RedeliveryOut,
)
from worker.api.paging import Page
from worker.api.routes.webhooks import owned_webhook
from worker.services.delivery_pages import DeliveryFilter, delivery_page
from worker.services.redelivery import RedeliverySummary, redeliver_one, redeliver_window

router = APIRouter(prefix="/api/v1", responses=ERROR_RESPONSES, tags=["deliveries"])
EXCERPT = 1024
Status = Literal["pending", "waiting", "delivered", "failed", "held", "skipped"]


def delivery_rows(
    session: Session,
    caller: Principal,
    *,
    box: SecretBox,
    where: DeliveryFilter,
    webhook: str | None = None,
    limit: int = 100,
    after: str | None = None,
) -> tuple[list[DeliveryOut], str | None]:
    """A page of the deliveries the caller may see, newest first, each with its
    last attempt, and the cursor of the next page (None on the last)."""
    scope = caller.scope(where.project)
    webhook_id = owned_webhook(session, caller, webhook, scope).id if webhook else None
    where = replace(where, project=scope, webhook_id=webhook_id)
    page = delivery_page(session=session, where=where, limit=limit, after=after)
    return _out(session, page.rows, box), page.next


def _out(session: Session, rows: list[Delivery], box: SecretBox) -> list[DeliveryOut]:
    last = last_attempts(session=session, deliveries=[row.id for row in rows])
    ids = {row.webhook_id for row in rows}
    aliases = dict(
        session.exec(select(Webhook.id, Webhook.alias).where(col(Webhook.id).in_(ids))).all()
    )
    return [
        DeliveryOut(
            **row.model_dump(exclude={"envelope"}),
            webhook_alias=aliases.get(row.webhook_id),
            latency_ms=last[row.id].latency_ms if row.id in last else None,
            response_excerpt=(excerpt_of(last[row.id], box=box) or "")[:EXCERPT] or None
            if row.id in last
            else None,
        )
        for row in rows
    ]


@router.get("/deliveries", response_model=list[DeliveryOut])
def list_(
    paging: Page,
    caller: Caller,
    db: Db,
    services: Deps,
    session: Annotated[str | None, Query(description="Only this session.")] = None,
    webhook: Annotated[str | None, Query(description="Only this webhook (UUID or alias).")] = None,
    status: Status | None = None,
    since: Annotated[datetime | None, Query(description="Created at or after.")] = None,
    until: Annotated[datetime | None, Query(description="Created before.")] = None,
    project: ProjectFilter = None,
    offset: Annotated[str | None, Query(include_in_schema=False)] = None,
) -> list[DeliveryOut]:
    """Deliveries, newest first, filtered by session, webhook, status and time.
    A full page ends with ``Link: <...&after=CURSOR>; rel="next"``, the same
    filters with the cursor of the next page (GitHub's paging)."""
    if offset is not None:  # paging by offset is gone: never answer page 1 again
        raise ConfigError("offset is not supported: page with `after` (the Link header's URL)")
    where = DeliveryFilter(
        project=project, session_id=session, status=status, since=since, until=until
    )
    rows, next_ = delivery_rows(
        db,
        caller,
        box=services.box,
        where=where,
        webhook=webhook,
        limit=paging.limit,
        after=paging.after,
    )
    paging.link_next(next_)
    return rows


def owned_delivery(session: Session, caller: Principal, delivery_id: str) -> Delivery:
    row = session.get(Delivery, delivery_id)
    if row is None or not caller.sees(row.project):
        raise NotFound(f"no delivery {delivery_id}")
    return row


@router.get("/deliveries/{delivery_id}", response_model=DeliveryDetail)
def get(caller: Caller, db: Db, services: Deps, delivery_id: str) -> DeliveryDetail:
    """One delivery: the envelope as sent and every attempt, with the headers
    it sent (credentials masked) and received."""
    row = owned_delivery(db, caller, delivery_id)
    box = services.box
    [shown] = _out(db, [row], box)
    attempts = attempts_of(session=db, delivery=delivery_id)
    return DeliveryDetail(
        **shown.model_dump(),
        envelope=envelope_of(row, box=box),
        attempt_log=[
            AttemptOut(
                **{
                    **a.model_dump(),
                    "response_excerpt": excerpt_of(a, box=box),
                    # Opened here; masked when logged (activities.log.headers).
                    "request_headers": open_headers(a.request_headers, box),
                    "response_headers": open_headers(a.response_headers, box),
                }
            )
            for a in attempts
        ],
    )


def _answer(summary: RedeliverySummary) -> JSONResponse:
    out = RedeliveryOut.model_validate(summary, from_attributes=True)
    return JSONResponse(out.model_dump(), status_code=200 if summary.waited else 202)


IdempotencyKey = Annotated[
    str | None,
    Header(
        max_length=200,
        description="The same key again redelivers once (the first request's workflow answers).",
    ),
]
REDELIVER_RESPONSES: dict[int | str, dict[str, object]] = {
    200: {"model": RedeliveryOut, "description": "Done (wait=true)"},
    202: {"model": RedeliveryOut, "description": "Started"},
}


@dataclass(frozen=True)
class RedeliverOptions:
    """What both redeliver routes take besides their deliveries: ``wait`` (answer
    200 once done, not 202 at once) and the ``Idempotency-Key`` header."""

    wait: bool
    idempotency_key: str | None


def redeliver_options(
    wait: bool = False, idempotency_key: IdempotencyKey = None
) -> RedeliverOptions:
    return RedeliverOptions(wait, idempotency_key)


Options = Annotated[RedeliverOptions, Depends(redeliver_options)]


@router.post(
    "/deliveries/{delivery_id}/redeliver",
    response_model=RedeliveryOut,
    responses=REDELIVER_RESPONSES,
)
async def redeliver(
    caller: Caller, services: Deps, delivery_id: str, options: Options
) -> JSONResponse:
    """Send a delivery again, with the same ``webhook-id`` (202; 200 with ``wait``).
    A delivery its session is still sending is 409 (no second ladder); the same
    ``Idempotency-Key`` again redelivers once."""
    summary = await redeliver_one(
        services.backend,
        delivery_id=delivery_id,
        project=caller.project,
        wait=options.wait,
        idempotency_key=options.idempotency_key,
    )
    return _answer(summary)


@router.post("/deliveries/redeliver", response_model=RedeliveryOut, responses=REDELIVER_RESPONSES)
async def redeliver_window_(
    caller: Caller, services: Deps, body: RedeliverWindowIn, options: Options
) -> JSONResponse:
    """Send a webhook's failed (or held) deliveries created in [since, until) again,
    each (session, webhook) stream in event order (Svix's "recover")."""
    summary = await redeliver_window(
        services.backend,
        webhook=body.webhook,
        project=caller.scope(body.project),
        status=body.status,
        since=body.since,
        until=body.until,
        wait=options.wait,
        idempotency_key=options.idempotency_key,
    )
    return _answer(summary)
