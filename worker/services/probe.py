"""The pane's Test button and its examples: a type's example sent through the
real delivery path, and each type's request and response examples.

``hookflow webhooks test|example``, the REST API and the pane all use these.
"""

from __future__ import annotations

import asyncio
import json
import uuid
from collections.abc import Sequence
from datetime import UTC, datetime
from typing import Any, Literal

from pydantic import BaseModel
from sqlalchemy.engine import Engine

from activities.catalog import CATALOG, HookType
from activities.delivery.endpoint import load_endpoint
from activities.delivery.formats import encode
from activities.delivery.guard import IPNetwork, Resolver, system_resolver
from activities.delivery.http import HttpClients
from activities.delivery.sender import Sender, Verdict
from activities.delivery.tokens import TokenCache
from activities.errors import ConfigError, EndpointUnavailable
from activities.schemas import schema, schema_name
from activities.store.crypto import REDACTED, SecretBox

EXCERPT = 1024
Format = Literal["json", "xml"]


class ProbeRequest(BaseModel):
    """The request as sent, credentials redacted."""

    method: str = "POST"
    url: str
    headers: dict[str, str]
    body: str


class ProbeResult(BaseModel):
    """What a test delivery did: the request, the answer and the verdict."""

    request: ProbeRequest
    status_code: int | None
    latency_ms: float | None
    response_excerpt: str | None
    response_truncated: bool = False
    success: bool
    verdict: str
    error: str | None


class HookExamples(BaseModel):
    type: str
    event: str
    title: str
    trigger: str
    request: Any
    response_success: Any
    response_error: Any
    xml: dict[str, str]
    """The same three examples as XML (the ``--content-type xml`` body)."""
    schema_version: str = ""
    """What the ``webhook-schema`` header of its deliveries says (``archive.v1``)."""
    json_schema: dict[str, Any] = {}
    """The request body's JSON Schema (draft 2020-12)."""


def example_body(hook: HookType) -> tuple[dict[str, Any], str]:
    """The type's request example with a fresh event id and timestamp."""
    body = json.loads(json.dumps(hook.request_example))
    msg_id = f"evt_test_{uuid.uuid4().hex[:16]}"
    body["event"]["id"] = msg_id
    body["event"]["timestamp"] = datetime.now(UTC).isoformat(timespec="microseconds")
    return body, msg_id


def render(value: Any, fmt: Format) -> str:
    """An example as the receiver would see it: JSON, or hookflow's XML (an
    object only: other answers are shown as JSON)."""
    if fmt == "xml" and isinstance(value, dict):
        return encode(value, "xml").decode()
    return json.dumps(value, indent=2)


def examples(hook: HookType) -> HookExamples:
    parts = {
        "request": hook.request_example,
        "response_success": hook.success_example,
        "response_error": hook.error_example,
    }
    return HookExamples(
        type=hook.name,
        event=hook.event,
        title=hook.title,
        trigger=hook.trigger,
        xml={name: render(value, "xml") for name, value in parts.items()},
        schema_version=schema_name(hook.name),
        json_schema=schema(hook.name),
        **parts,
    )


async def probe_webhook(
    *,
    engine: Engine,
    box: SecretBox,
    webhook_id: uuid.UUID,
    allowed: list[IPNetwork],
    resolver: Resolver = system_resolver,
    stack: Sequence[tuple[str, int]] = (),
    transport: str = "aiohttp",
) -> ProbeResult:
    """Send the type's request example through exactly a real delivery's path
    (auth, headers, signing, address guard, content type) and judge the answer."""
    try:
        endpoint = await asyncio.to_thread(
            load_endpoint, engine=engine, box=box, webhook_id=webhook_id, allow_disabled=True
        )
    except EndpointUnavailable as err:
        raise ConfigError(str(err)) from None
    body, msg_id = example_body(CATALOG[endpoint.type])
    http = HttpClients(allowed=allowed, resolver=resolver, stack=stack, transport=transport)
    try:
        verdict = await Sender(http=http, tokens=TokenCache(http)).attempt(
            endpoint, body=body, msg_id=msg_id
        )
    finally:
        await http.aclose()
    return _result(verdict, endpoint.secret_headers)


def _result(verdict: Verdict, secret_headers: frozenset[str]) -> ProbeResult:
    request = verdict.request
    headers = {
        name: REDACTED if name.lower() in secret_headers else value
        for name, value in request.headers.items()
    }
    reply = verdict.reply
    success = verdict.outcome == "delivered"
    return ProbeResult(
        request=ProbeRequest(
            url=request.url,
            headers=headers,
            body=request.body.decode(errors="replace")[: EXCERPT * 4],
        ),
        status_code=reply.status_code if reply else None,
        latency_ms=round(verdict.latency_ms, 1),
        response_excerpt=reply.body[:EXCERPT].decode(errors="replace") if reply else None,
        response_truncated=bool(reply and len(reply.body) > EXCERPT),
        success=success,
        verdict="success" if success else f"failure: {verdict.error}",
        error=verdict.error,
    )
