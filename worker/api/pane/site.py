"""The webhook pane: the dashboard's "Integrations -> Webhooks", rendered on the server.

Signed in with an API key; the session lives on the server (``security.py``:
the cookie is a random id, HttpOnly, SameSite=Strict, Secure over HTTPS),
names the key (never holds it), and every form carries a CSRF token; sign-in
attempts are limited per client. The pane
calls the same functions as the API and the command line.
"""

from __future__ import annotations

import hmac
import json
import secrets
import uuid
from pathlib import Path
from typing import Any
from urllib.parse import urlencode

from fastapi import APIRouter, Request
from fastapi.concurrency import run_in_threadpool
from fastapi.responses import HTMLResponse, RedirectResponse, Response
from fastapi.templating import Jinja2Templates
from sqlmodel import Session, col, select
from starlette.datastructures import FormData

from activities.catalog import CATALOG
from activities.errors import HookflowError
from activities.log.attempts import attempts_by_delivery, envelope_of
from activities.store.database import utcnow
from activities.store.keys import authenticate, key_by_id
from activities.store.secrets import list_secrets
from activities.store.tables import Delivery
from activities.store.webhooks import list_webhooks
from worker.api.auth import Principal
from worker.api.dependencies import Db, Deps, Services, services_of
from worker.api.errors import Forbidden
from worker.api.pane.views import (
    STATUS_HELP,
    attempt_headers,
    health_view,
    here,
    indented_xml,
    when,
)
from worker.api.pane.wording import customer_words, said
from worker.api.routes.deliveries import delivery_rows
from worker.api.routes.webhooks import webhook_out
from worker.services.delivery_pages import DeliveryFilter
from worker.services.probe import examples

router = APIRouter(include_in_schema=False)
templates = Jinja2Templates(directory=Path(__file__).parent / "templates")
# Bodies in the order they are sent (Jinja's own tojson sorts keys).
templates.env.filters["pretty"] = lambda value: json.dumps(value, indent=2, ensure_ascii=False)
templates.env.filters["when"] = when
templates.env.filters["xml"] = indented_xml
templates.env.filters["said"] = said
templates.env.globals["status_help"] = STATUS_HELP
STATUSES = ("pending", "waiting", "delivered", "failed", "held", "skipped")


class SignIn(Exception):
    """Not signed in (or the key was revoked): go to the sign-in page."""


def csrf_token(request: Request) -> str:
    token = request.session.get("csrf")
    if not isinstance(token, str):
        token = request.session["csrf"] = secrets.token_urlsafe(32)
    return token


async def checked_form(request: Request) -> FormData:
    """The posted form, once its CSRF token matches the session's."""
    form = await request.form()
    sent = form.get("csrf")
    if not isinstance(sent, str) or not hmac.compare_digest(sent, csrf_token(request)):
        raise Forbidden("the form expired: reload the page and try again")
    return form


def signed_in(request: Request) -> Principal:
    key_id = request.session.get("key")
    if not isinstance(key_id, str):
        raise SignIn()
    with Session(services_of(request).engine) as session:
        try:
            key = key_by_id(session=session, key_id=uuid.UUID(key_id))
        except ValueError:
            key = None
    if key is None:
        request.session.clear()
        raise SignIn()
    return Principal.of(key)


def render(request: Request, name: str, status_code: int = 200, **context: Any) -> HTMLResponse:
    flash = request.session.pop("flash", None)
    context.setdefault("principal", None)
    return templates.TemplateResponse(
        request,
        name,
        {"csrf": csrf_token(request), "flash": flash, **context},
        status_code=status_code,
    )


def back(path: str, flash: str | None = None, *, request: Request) -> RedirectResponse:
    if flash:
        request.session["flash"] = flash
    return RedirectResponse(path, status_code=303)


def error_page(request: Request, status_code: int, message: str) -> Response:
    """A failure on one of the pane's pages, as a page."""
    return render(
        request, "error.html", status_code, code=status_code, message=customer_words(message)
    )


async def to_sign_in(_request: Request, _err: Exception) -> Response:
    return RedirectResponse("/login", status_code=303)


@router.get("/login", response_class=HTMLResponse)
def login_page(request: Request) -> HTMLResponse:
    return render(request, "login.html")


@router.post("/login")
async def login(request: Request) -> Response:
    services = services_of(request)
    client = request.client.host if request.client else "unknown"
    wait = services.sign_ins.allow(client)
    if wait is not None:
        response = render(
            request, "login.html", 429, error=f"Too many sign-in attempts: wait {wait:.0f} s."
        )
        response.headers["retry-after"] = str(max(1, round(wait)))
        return response
    form = await checked_form(request)
    key = form.get("key")

    def lookup() -> uuid.UUID | None:
        with Session(services.engine) as session:
            found = authenticate(session=session, key=key if isinstance(key, str) else "")
            return found.id if found else None

    key_id = await run_in_threadpool(lookup)
    if key_id is None:
        return render(request, "login.html", 401, error="That key is not valid (or revoked).")
    request.session.clear()
    request.session["key"] = str(key_id)
    return back("/", request=request)


@router.post("/logout")
async def logout(request: Request) -> Response:
    await checked_form(request)
    request.session.clear()
    return RedirectResponse("/login", status_code=303)


@router.get("/", response_class=HTMLResponse)
def home(request: Request, db: Db, services: Deps) -> HTMLResponse:
    principal = signed_in(request)
    found = list_webhooks(session=db, project=principal.project)
    shown = [webhook_out(db, w, services) for w in found]
    now = utcnow()
    health = {w.id: health_view(w, db, now=now) for w in shown}
    return render(request, "webhooks.html", principal=principal, webhooks=shown, health=health)


def secret_aliases(services: Services, project: str | None) -> list[str]:
    with Session(services.engine) as session:
        return [s.alias for s in list_secrets(session=session, project=project)]


def form_context(principal: Principal, services: Services) -> dict[str, Any]:
    return {
        "principal": principal,
        "catalog": [examples(hook) for hook in CATALOG.values()],
        "secrets": secret_aliases(services, principal.project),
    }


@router.get("/deliveries", response_class=HTMLResponse)
def deliveries(
    request: Request,
    db: Db,
    services: Deps,
    webhook: str | None = None,
    status: str | None = None,
    session: str | None = None,
    after: str | None = None,
) -> HTMLResponse:
    principal = signed_in(request)
    status = status if status in STATUSES else None
    filters = {"webhook": webhook or "", "status": status or "", "session": session or ""}
    next_url = None
    try:
        where = DeliveryFilter(session_id=session or None, status=status)
        rows, next_ = delivery_rows(
            db, principal, box=services.box, where=where, webhook=webhook or None, after=after
        )
        hooks = list_webhooks(session=db, project=principal.project)
        ids = [row.id for row in rows]
        attempts = attempts_by_delivery(session=db, deliveries=ids)
        stored = db.exec(select(Delivery).where(col(Delivery.id).in_(ids)))
        bodies = {row.id: envelope_of(row, box=services.box) for row in stored}
        headers = attempt_headers(attempts, box=services.box)
        if next_:
            shown = {name: value for name, value in filters.items() if value}
            next_url = "/deliveries?" + urlencode({**shown, "after": next_})
    except HookflowError as err:
        rows, hooks, attempts, bodies, headers = [], [], {}, {}, {}
        request.session["flash"] = customer_words(str(err))
    return render(
        request,
        "deliveries.html",
        principal=principal,
        deliveries=rows,
        attempts=attempts,
        bodies=bodies,
        headers=headers,
        here=here(request),
        webhooks=hooks,
        filters=filters,
        next_url=next_url,
        statuses=STATUSES,
    )
