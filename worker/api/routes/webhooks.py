"""``/api/v1/webhooks`` and ``/api/v1/hook-types``: the pane's fields, over HTTP."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Annotated, Any

from fastapi import APIRouter, BackgroundTasks, Depends, Response
from sqlmodel import Session

from activities.catalog import CATALOG
from activities.delivery.signing import new_secret, public_key
from activities.errors import NotFound
from activities.schemas import schema
from activities.store.tables import Webhook
from activities.store.webhooks import (
    WebhookCreate,
    WebhookSettings,
    create_webhook,
    delete_webhook,
    find_webhook,
    public,
    signing_kind,
    templates_of,
    update_webhook,
)
from worker.api.auth import Caller, Principal
from worker.api.dependencies import Db, Deps, ProjectFilter, Services
from worker.api.errors import ERROR_RESPONSES
from worker.api.models import RotatedOut, RotateIn, WebhookIn, WebhookOut, WebhookPatch
from worker.api.paging import Page
from worker.services.probe import HookExamples, ProbeResult, examples, probe_webhook
from worker.services.webhook_pages import webhook_page
from worker.services.webhooks import release_held_later

router = APIRouter(prefix="/api/v1", responses=ERROR_RESPONSES)


def webhook_out(session: Session, webhook: Webhook, services: Services) -> WebhookOut:
    shown = public(webhook, templates=templates_of(session, webhook.id), box=services.box)
    integration = shown.integration_code if shown.explicit else None
    return WebhookOut(**shown.model_dump(), integration=integration)


def owned_webhook(session: Session, caller: Principal, ref: str, project: str | None) -> Webhook:
    """A webhook by UUID or alias that the caller may see (404 otherwise)."""
    webhook = find_webhook(session=session, ref=ref, project=caller.scope(project))
    caller.check(webhook.project, f"webhook {ref!r}")
    return webhook


@dataclass(frozen=True)
class WebhookRef:
    """The webhook a route's path names, by UUID or alias; an admin key may say
    which project's (``project``)."""

    ref: str
    project: str | None

    def owned(self, session: Session, caller: Principal) -> Webhook:
        return owned_webhook(session, caller, self.ref, self.project)


def webhook_ref(ref: str, project: ProjectFilter = None) -> WebhookRef:
    return WebhookRef(ref, project)


Ref = Annotated[WebhookRef, Depends(webhook_ref)]


def _update(db: Session, webhook: Webhook, data: WebhookSettings, services: Services) -> Webhook:
    """Change ``webhook``'s fields in ``data``, within the server's limits."""
    return update_webhook(
        session=db,
        webhook=webhook,
        data=data,
        box=services.box,
        limits=services.settings.webhook_limits,
    )


@router.get("/webhooks", response_model=list[WebhookOut], tags=["webhooks"])
def list_(
    paging: Page, caller: Caller, db: Db, services: Deps, project: ProjectFilter = None
) -> list[WebhookOut]:
    """The webhooks of the key's project (an admin key: every project, or
    ``project``), by project and alias. A full page ends with
    ``Link: <...&after=CURSOR>; rel="next"``."""
    page = webhook_page(
        session=db, project=caller.scope(project), limit=paging.limit, after=paging.after
    )
    paging.link_next(page.next)
    return [webhook_out(db, w, services) for w in page.rows]


@router.post("/webhooks", response_model=WebhookOut, status_code=201, tags=["webhooks"])
def create(caller: Caller, db: Db, services: Deps, body: WebhookIn) -> WebhookOut:
    """Add a webhook; the answer carries its UUID."""
    fields = body.model_dump(exclude_unset=True)
    fields["project"] = caller.project_for(body.project)
    data = WebhookCreate.model_validate(fields)
    webhook = create_webhook(
        session=db, data=data, box=services.box, limits=services.settings.webhook_limits
    )
    return webhook_out(db, webhook, services)


@router.get("/webhooks/{ref}", response_model=WebhookOut, tags=["webhooks"])
def get(caller: Caller, db: Db, services: Deps, ref: Ref) -> WebhookOut:
    """One webhook, by UUID or alias; secrets redacted."""
    return webhook_out(db, ref.owned(db, caller), services)


@router.patch("/webhooks/{ref}", response_model=WebhookOut, tags=["webhooks"])
def update(
    caller: Caller,
    db: Db,
    services: Deps,
    ref: Ref,
    body: WebhookPatch,
    background: BackgroundTasks,
) -> WebhookOut:
    """Change the fields given; the UUID stays the same. Enabling a webhook
    releases its held deliveries, in order."""
    data = WebhookSettings.model_validate(body.model_dump(exclude_unset=True))
    webhook = _update(db, ref.owned(db, caller), data, services)
    if data.enabled:
        background.add_task(release_held_later, services.backend, webhook_id=webhook.id)
    return webhook_out(db, webhook, services)


@router.delete("/webhooks/{ref}", status_code=204, tags=["webhooks"])
def delete(caller: Caller, db: Db, ref: Ref) -> Response:
    """Delete a webhook; sessions that name it record the problem and go on."""
    delete_webhook(session=db, webhook=ref.owned(db, caller))
    return Response(status_code=204)


@router.post("/webhooks/{ref}/rotate-signing-secret", response_model=RotatedOut, tags=["webhooks"])
def rotate(
    caller: Caller, db: Db, services: Deps, ref: Ref, body: RotateIn | None = None
) -> RotatedOut:
    """A new signing secret, shown this once (an ed25519 webhook: a new key, whose
    public key is shown); the previous one signs too for ``grace``."""
    rotate = body or RotateIn()
    webhook = ref.owned(db, caller)
    kind = rotate.signature or signing_kind(webhook, services.box) or "hmac"
    secret = new_secret(kind)
    data = WebhookSettings(signing_secret=secret, signing_grace=rotate.grace)
    webhook = _update(db, webhook, data, services)
    until = webhook.previous_signing_secret_until if webhook.previous_signing_secret_enc else None
    if kind == "ed25519":
        return RotatedOut(
            signing_secret=None, public_key=public_key(secret), previous_signs_until=until
        )
    return RotatedOut(signing_secret=secret, previous_signs_until=until)


@router.post("/webhooks/{ref}/test", response_model=ProbeResult, tags=["webhooks"])
async def test(caller: Caller, db: Db, services: Deps, ref: Ref) -> ProbeResult:
    """Send the type's request example through the real sending path; the answer
    has the request (credentials redacted), status, latency, response and verdict."""
    webhook_id = ref.owned(db, caller).id
    db.close()  # the probe may wait for seconds: hold no connection meanwhile
    return await probe_webhook(
        engine=services.engine,
        box=services.box,
        webhook_id=webhook_id,
        allowed=services.settings.allow_networks,
        resolver=services.resolver,
        stack=services.settings.own_endpoints,
        transport=services.settings.http_transport,
    )


@router.get("/hook-types", response_model=list[HookExamples], tags=["hook types"])
def hook_types(_caller: Caller) -> list[HookExamples]:
    """Every type: its event code, when it fires, and its examples in JSON and XML."""
    return [examples(hook) for hook in CATALOG.values()]


@router.get("/hook-types/{type_}", response_model=HookExamples, tags=["hook types"])
def hook_type(_caller: Caller, type_: str) -> HookExamples:
    """One type's request body, response success and response error examples."""
    hook = CATALOG.get(type_)
    if hook is None:
        raise NotFound(f"no hook type {type_!r}")
    return examples(hook)


@router.get("/hook-types/{type_}/schema", response_model=dict[str, Any], tags=["hook types"])
def hook_type_schema(_caller: Caller, type_: str) -> dict[str, Any]:
    """The type's request body as a JSON Schema (draft 2020-12); its ``$id`` and
    ``version`` are what the ``webhook-schema`` header of each delivery names."""
    if type_ not in CATALOG:
        raise NotFound(f"no hook type {type_!r}")
    return schema(type_)
