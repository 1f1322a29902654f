"""The pane's pages about one thing: a webhook (add, edit, Save, Delete, Test),
a delivery (Redeliver) and a session (its events and deliveries)."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Request
from fastapi.concurrency import run_in_threadpool
from fastapi.responses import HTMLResponse, Response
from pydantic import ValidationError
from sqlmodel import Session

from activities.catalog import CATALOG
from activities.errors import HookflowError
from activities.store.webhooks import (
    WebhookCreate,
    WebhookPublic,
    WebhookSettings,
    create_webhook,
    delete_webhook,
    update_webhook,
)
from worker.api.auth import Principal
from worker.api.dependencies import Services, services_of
from worker.api.pane.forms import FORM_FIELDS, form_settings, form_values, typed_values
from worker.api.pane.site import back, checked_form, form_context, render, signed_in
from worker.api.pane.wording import customer_words, failure
from worker.api.routes.webhooks import owned_webhook, webhook_out
from worker.services.probe import ProbeResult, probe_webhook
from worker.services.redelivery import redeliver_one
from worker.services.sessions import session_state
from worker.services.webhooks import release_held_later

router = APIRouter(include_in_schema=False)
DEFAULT_TYPE = "form_submitted"


def _shown(services: Services, principal: Principal, ref: str) -> WebhookPublic:
    with Session(services.engine) as session:
        return webhook_out(session, owned_webhook(session, principal, ref, None), services)


def _form_page(
    request: Request,
    principal: Principal,
    *,
    shown: WebhookPublic | None,
    values: dict[str, Any] | None = None,
    error: str | None = None,
    status_code: int = 200,
    probe: ProbeResult | None = None,
    notice: str | None = None,
) -> HTMLResponse:
    services = services_of(request)
    chosen = request.query_params.get("type")
    default_type = chosen if chosen in CATALOG else DEFAULT_TYPE
    return render(
        request,
        "webhook_form.html",
        status_code,
        webhook=shown,
        values=values or form_values(shown, default_type),
        form_fields=FORM_FIELDS,
        error=error,
        probe=probe,
        notice=notice,
        **form_context(principal, services),
    )


@router.get("/webhooks/new", response_class=HTMLResponse)
def new_page(request: Request) -> HTMLResponse:
    return _form_page(request, signed_in(request), shown=None)


@router.post("/webhooks/new")
async def create(request: Request) -> Response:
    principal = signed_in(request)
    form = await checked_form(request)
    services = services_of(request)
    try:
        fields, generated = form_settings(form, current=None)
        fields["project"] = principal.project_for(_project(form, principal))
        data = WebhookCreate.model_validate(fields)

        def save() -> str:
            with Session(services.engine) as session:
                limits = services.settings.webhook_limits
                made = create_webhook(session=session, data=data, box=services.box, limits=limits)
                return str(made.id)

        webhook_id = await run_in_threadpool(save)
    except (HookflowError, ValidationError) as err:
        message, status = failure(err)
        values = typed_values(form, form_values(None, DEFAULT_TYPE))
        return _form_page(
            request, principal, shown=None, values=values, error=message, status_code=status
        )
    return _saved(request, principal, webhook_id, data.alias, generated)


def _saved(
    request: Request, principal: Principal, webhook_id: str, alias: str, secret: str | None
) -> Response:
    """Back to the webhook's page; a generated signing secret is shown on the
    page itself, once (never put in the session cookie)."""
    if secret is None:
        return back(f"/webhooks/{webhook_id}", f"Saved {alias}.", request=request)
    shown = _shown(services_of(request), principal, webhook_id)
    notice = f"Saved {alias}. New signing secret, shown this once: {secret}"
    return _form_page(request, principal, shown=shown, notice=notice)


def _project(form: Any, principal: Principal) -> str | None:
    value = form.get("project")
    return value.strip() or None if isinstance(value, str) and principal.admin else None


@router.get("/webhooks/{ref}", response_class=HTMLResponse)
def edit_page(request: Request, ref: str) -> HTMLResponse:
    principal = signed_in(request)
    shown = _shown(services_of(request), principal, ref)
    return _form_page(request, principal, shown=shown)


@router.post("/webhooks/{ref}")
async def save(request: Request, ref: str) -> Response:
    principal = signed_in(request)
    form = await checked_form(request)
    services = services_of(request)
    shown = _shown(services, principal, ref)
    try:
        fields, generated = form_settings(form, current=shown)
        data = WebhookSettings.model_validate(fields)

        def write() -> None:
            with Session(services.engine) as session:
                webhook = owned_webhook(session, principal, ref, None)
                update_webhook(
                    session=session,
                    webhook=webhook,
                    data=data,
                    box=services.box,
                    limits=services.settings.webhook_limits,
                )

        await run_in_threadpool(write)
    except (HookflowError, ValidationError) as err:
        message, status = failure(err)
        values = typed_values(form, form_values(shown, shown.type))
        return _form_page(
            request, principal, shown=shown, values=values, error=message, status_code=status
        )
    if data.enabled:  # enabled by Save: what it held goes on, as from the API
        await release_held_later(
            services.backend,
            webhook_id=shown.id,
        )
    return _saved(request, principal, str(shown.id), data.alias or shown.alias, generated)


@router.post("/webhooks/{ref}/delete")
async def delete(request: Request, ref: str) -> Response:
    principal = signed_in(request)
    await checked_form(request)
    services = services_of(request)

    def remove() -> str:
        with Session(services.engine) as session:
            webhook = owned_webhook(session, principal, ref, None)
            alias = webhook.alias
            delete_webhook(session=session, webhook=webhook)
            return alias

    alias = await run_in_threadpool(remove)
    return back("/", f"Deleted {alias}.", request=request)


@router.post("/webhooks/{ref}/test", response_class=HTMLResponse)
async def test(request: Request, ref: str) -> HTMLResponse:
    """The Test button: the type's example through the real path, the result in the pane."""
    principal = signed_in(request)
    await checked_form(request)
    services = services_of(request)
    shown = await run_in_threadpool(_shown, services, principal, ref)
    result = await probe_webhook(
        engine=services.engine,
        box=services.box,
        webhook_id=shown.id,
        allowed=services.settings.allow_networks,
        resolver=services.resolver,
        stack=services.settings.own_endpoints,
        transport=services.settings.http_transport,
    )
    return _form_page(request, principal, shown=shown, probe=result)


@router.post("/deliveries/{delivery_id}/redeliver")
async def redeliver(request: Request, delivery_id: str) -> Response:
    principal = signed_in(request)
    form = await checked_form(request)
    services = services_of(request)
    target = form.get("next")
    local = isinstance(target, str) and target.startswith("/") and not target.startswith("//")
    next_page = str(target) if local else "/deliveries"
    try:
        await redeliver_one(
            services.backend,
            delivery_id=delivery_id,
            project=principal.project,
            wait=False,
        )
    except HookflowError as err:
        return back(next_page, f"Redeliver failed: {customer_words(str(err))}", request=request)
    return back(next_page, f"Redelivery of {delivery_id} started.", request=request)


@router.get("/sessions/{session_id}", response_class=HTMLResponse)
async def session_page(
    request: Request, session_id: str, project: str | None = None
) -> HTMLResponse:
    """A session's events and deliveries (of the signed-in project: ids are per project)."""
    principal = signed_in(request)
    services = services_of(request)
    client = await services.temporal.client()
    state = await session_state(
        client=client,
        engine=services.engine,
        project=principal.scope(project),
        session_id=session_id,
    )
    principal.check(state.project, f"session {session_id}")
    return render(
        request,
        "session.html",
        principal=principal,
        state=state,
    )
