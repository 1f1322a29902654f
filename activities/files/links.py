"""Documents by link: an archive that carries, for each file, a signed and
expiring download URL instead of its bytes.

A webhook chooses (``documents``: ``embed``, the default, or ``link``); an
embedded body over the webhook's ``max_body_size`` goes with links instead and
says so (``documents_trimmed: true``). A link is
``<public URL>/api/v1/documents/<ref>?project=P&expires=T&sig=S``: ``S`` is an
HMAC-SHA256 (key derived from the secret key) of the project, the reference
and the expiry, so it reaches that one document of that project, without an
API key, until ``T``; anything changed or late is refused (403).
"""

from __future__ import annotations

import hashlib
import hmac
import json
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any
from urllib.parse import quote, urlencode

from activities.errors import LinkRefused, LinksUnavailable
from activities.files.documents import DocumentStore, check_ref, embed_files, file_ref

PURPOSE = "hookflow document links v1"
LINK_TTL = 7 * 86400.0
"""How long a link works: a receiver may fetch a week after the delivery."""
TRIMMED = "documents_trimmed"


def signature(key: bytes, *, project: str, ref: str, expires: int) -> str:
    """The link's signature: one pure function (``sig=``), hex."""
    message = f"{project}\n{ref}\n{expires}".encode()
    return hmac.new(key, message, hashlib.sha256).hexdigest()


@dataclass(frozen=True)
class DocumentLinks:
    """Makes and checks signed document links (the worker makes, the API checks)."""

    key: bytes = field(repr=False)
    base_url: str | None = None
    """hookflow's API as receivers reach it (``HOOKFLOW_PUBLIC_URL``)."""
    ttl: float = LINK_TTL
    clock: Callable[[], float] = time.time

    def url(self, *, project: str, ref: str) -> tuple[str, datetime]:
        if not self.base_url:
            raise LinksUnavailable(
                "documents go as links and HOOKFLOW_PUBLIC_URL (the API's address "
                "receivers reach) is not set"
            )
        expires = int(self.clock() + self.ttl)
        sig = signature(self.key, project=project, ref=ref, expires=expires)
        query = urlencode({"project": project, "expires": expires, "sig": sig})
        path = f"/api/v1/documents/{quote(ref, safe=':')}"
        return f"{self.base_url.rstrip('/')}{path}?{query}", datetime.fromtimestamp(expires, UTC)

    def check(self, *, project: str, ref: str, expires: int, sig: str) -> None:
        """LinkRefused unless ``sig`` is this link's and its time is not up."""
        wanted = signature(self.key, project=project, ref=ref, expires=expires)
        if not hmac.compare_digest(wanted.encode(), sig.lower().encode()):
            raise LinkRefused("the link's signature does not match")
        if expires < self.clock():
            raise LinkRefused("the link has expired")


def link(
    store: DocumentStore, links: DocumentLinks, file: dict[str, Any], project: str
) -> dict[str, Any]:
    """A file as a link: name, type, size, sha256 (its reference), url, expires_at."""
    ref = file_ref(file)
    url, expires = links.url(project=project, ref=ref.ref)
    return {
        "name": ref.name,
        "content_type": ref.content_type,
        "size": store.size(ref.ref, project=project),
        "sha256": check_ref(ref.ref),
        "url": url,
        "expires_at": expires.isoformat(),
    }


def link_files(
    store: DocumentStore, links: DocumentLinks, body: dict[str, Any], project: str
) -> dict[str, Any]:
    out = dict(body)
    if body.get("document"):
        out["document"] = link(store, links, body["document"], project)
    if body.get("attachments"):
        out["attachments"] = [link(store, links, f, project) for f in body["attachments"]]
    return out


def embedded_size(store: DocumentStore, body: dict[str, Any], project: str) -> int:
    """About the bytes of the body with its files embedded (base64), reckoned
    from the files' sizes before any is read."""
    files = [body["document"]] if body.get("document") else []
    files += body.get("attachments") or []
    sizes = [store.size(file_ref(f).ref, project=project) for f in files]
    rest = len(json.dumps(body, separators=(",", ":"), default=str))
    return rest + sum(4 * -(-size // 3) + 200 for size in sizes)


def archive_body(
    store: DocumentStore,
    body: dict[str, Any],
    project: str,
    *,
    mode: str,
    max_body: int,
    links: DocumentLinks,
) -> dict[str, Any]:
    """The archive body as the webhook takes it: files embedded, or as links
    (``mode``), and as links with ``documents_trimmed`` when embedding would
    pass ``max_body`` bytes. Without a public URL to link to, an embedding
    webhook gets its files embedded whatever their size, as it always did."""
    if mode == "link":
        return link_files(store, links, body, project)
    if not links.base_url or embedded_size(store, body, project) <= max_body:
        return embed_files(store, body, project)
    return {**link_files(store, links, body, project), TRIMMED: True}
