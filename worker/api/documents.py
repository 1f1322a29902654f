"""Documents a request names belong to the project it acts on: a reference of
another project answers as one that does not exist (422), before anything is sent.

And the download end of documents by link (``activities.files.links``):
``GET /api/v1/documents/{ref}?project=&expires=&sig=`` needs no API key while
its signature is valid; a tampered or expired link is 403."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Query, Request, Response
from fastapi.concurrency import run_in_threadpool

from activities.contracts import Slug
from activities.errors import ConfigError, DocumentNotFound, LinkRefused, NotFound
from activities.files.documents import named_refs
from activities.files.links import PURPOSE, DocumentLinks
from worker.api.dependencies import Services, services_of
from worker.api.errors import ERROR_RESPONSES, Forbidden

router = APIRouter(prefix="/api/v1", responses=ERROR_RESPONSES)


async def check_documents(services: Services, project: str, payload: dict[str, Any]) -> None:
    """422 unless every document ``payload`` names is one of ``project`` (the
    session's own, as the caller's request resolved it)."""
    refs = named_refs(payload)
    for ref in refs:
        if not await run_in_threadpool(services.documents.exists, ref, project=project):
            raise ConfigError(f"no document {ref[:80]}: upload it first (POST /api/v1/documents)")


@router.get(
    "/documents/{ref}",
    tags=["documents"],
    response_class=Response,
    openapi_extra={"security": []},  # the signature is the credential: no API key
    responses={200: {"content": {"application/octet-stream": {}}, "description": "The file"}},
)
async def download(
    request: Request,
    ref: str,
    project: Annotated[Slug, Query(description="The document's project.")],
    expires: Annotated[int, Query(description="Unix time the link stops working.")],
    sig: Annotated[str, Query(max_length=128, description="The link's signature.")],
) -> Response:
    """A document by a signed link from an archive delivery (``documents: link``):
    no API key; 403 when the signature does not match or the link expired."""
    services = services_of(request)
    links = DocumentLinks(key=services.box.derive(PURPOSE))
    try:
        links.check(project=project, ref=ref, expires=expires, sig=sig)
        data = await run_in_threadpool(services.documents.read, ref, project=project)
    except LinkRefused as err:
        raise Forbidden(str(err)) from None
    except DocumentNotFound:
        raise NotFound(f"no document {ref[:80]}") from None
    return Response(
        data,
        media_type="application/octet-stream",
        headers={"cache-control": "private, no-store", "x-content-type-options": "nosniff"},
    )
