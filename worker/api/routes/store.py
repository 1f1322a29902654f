"""``/api/v1/secrets`` (token endpoints, credentials write-only) and
``/api/v1/documents`` (files that signals name by reference)."""

from __future__ import annotations

import functools
from pathlib import PurePath
from typing import Annotated

from fastapi import APIRouter, File, Form, Request, Response, UploadFile
from fastapi.concurrency import run_in_threadpool

from activities.contracts import Slug
from activities.errors import DocumentNotFound, NotFound
from activities.store.secrets import (
    SecretCreate,
    SecretPublic,
    create_secret,
    delete_secret,
    get_secret,
    list_secrets,
    public_secret,
)
from worker.api.auth import Caller
from worker.api.dependencies import Db, Deps, ProjectFilter, services_of
from worker.api.errors import ERROR_RESPONSES, ErrorOut
from worker.api.models import DocumentOut, SecretIn

router = APIRouter(prefix="/api/v1", responses=ERROR_RESPONSES)


@router.get("/secrets", response_model=list[SecretPublic], tags=["secrets"])
def list_(
    caller: Caller, db: Db, services: Deps, project: ProjectFilter = None
) -> list[SecretPublic]:
    """Secrets (token endpoints); credentials always redacted."""
    found = list_secrets(session=db, project=caller.scope(project))
    return [public_secret(secret, services.box) for secret in found]


@router.post("/secrets", response_model=SecretPublic, status_code=201, tags=["secrets"])
def create(caller: Caller, db: Db, services: Deps, body: SecretIn) -> SecretPublic:
    """Add a secret: credentials are encrypted at rest and never shown again."""
    fields = body.model_dump(exclude_unset=True)
    fields["project"] = caller.project_for(body.project)
    data = SecretCreate.model_validate(fields)
    return public_secret(create_secret(session=db, data=data, box=services.box), services.box)


@router.delete("/secrets/{ref}", status_code=204, tags=["secrets"])
def delete(caller: Caller, db: Db, ref: str, project: ProjectFilter = None) -> Response:
    """Delete a secret (by UUID or alias) that no webhook uses."""
    secret = get_secret(session=db, ref=ref, project=caller.scope(project))
    caller.check(secret.project, f"secret {ref!r}")
    delete_secret(session=db, project=secret.project, alias=secret.alias)
    return Response(status_code=204)


@router.post(
    "/documents",
    response_model=DocumentOut,
    status_code=201,
    tags=["documents"],
    responses={413: {"model": ErrorOut, "description": "Over the upload limit or the quota"}},
)
async def upload(
    request: Request,
    caller: Caller,
    file: Annotated[UploadFile, File(description="The file: a signed PDF, an attachment.")],
    content_type: Annotated[str | None, Form(max_length=200)] = None,
    project: Annotated[Slug | None, Form(description="Default: the key's project.")] = None,
) -> DocumentOut:
    """Store a file of the project; the answer is the entry a signal takes
    (``document``, ``attachments``). 413 above the upload limit (25 MiB unless
    ``HOOKFLOW_MAX_UPLOAD_SIZE`` says otherwise) or the project's quota."""
    services = services_of(request)
    owner = caller.project_for(project)
    settings = services.settings
    put = functools.partial(
        services.documents.put,
        file.file,
        project=owner,
        limit=settings.max_upload_bytes,
        quota=settings.document_quota_bytes,
    )
    ref = await run_in_threadpool(put)
    size = file.file.tell()  # put() read it to the end
    name = PurePath(file.filename or "document").name[:255] or "document"
    kind = content_type or file.content_type or "application/octet-stream"
    return DocumentOut(name=name, content_type=kind, ref=ref, size=size, project=owner)


@router.delete("/documents/{ref}", status_code=204, tags=["documents"])
async def delete_document(
    request: Request, caller: Caller, ref: str, project: ProjectFilter = None
) -> Response:
    """Delete a document of the project; sessions that name it afterwards are refused."""
    owner = caller.project_for(project)
    try:
        await run_in_threadpool(services_of(request).documents.delete, ref, project=owner)
    except DocumentNotFound:
        raise NotFound(f"no document {ref[:80]}") from None
    return Response(status_code=204)
