"""``hookflow webhooks test`` and ``webhooks example``: the dashboard pane's Test button
and its request and response examples."""

from __future__ import annotations

import asyncio
import json
import uuid
from datetime import UTC, datetime
from typing import Any

import click
from sqlmodel import Session

from activities.catalog import CATALOG, HookType
from activities.delivery.endpoint import load_endpoint
from activities.delivery.formats import encode
from activities.delivery.http import HttpClients
from activities.delivery.sender import Sender, Verdict
from activities.delivery.tokens import TokenCache
from activities.errors import EndpointUnavailable
from activities.store.crypto import REDACTED
from activities.store.webhooks import find_webhook
from worker.cli_webhooks import webhooks
from worker.context import AppContext, pass_app
from worker.output import CommandError, print_json

EXCERPT = 1024


def example_body(hook: HookType) -> tuple[dict[str, Any], str]:
    """The type's request example with a fresh event id and timestamp."""
    body = json.loads(json.dumps(hook.request_example))
    msg_id = f"evt_test_{uuid.uuid4().hex[:16]}"
    body["event"]["id"] = msg_id
    body["event"]["timestamp"] = datetime.now(UTC).isoformat(timespec="microseconds")
    return body, msg_id


@webhooks.command("example")
@click.argument("type_", metavar="TYPE", type=click.Choice(list(CATALOG)))
@click.option("--content-type", type=click.Choice(["json", "xml"]), default="json")
@click.option("--json", "as_json", is_flag=True, help="Everything as one JSON document.")
def example(type_: str, content_type: str, as_json: bool) -> None:
    """Print a type's request body, response success and response error examples."""
    hook = CATALOG[type_]
    if as_json:
        print_json(
            {
                "type": hook.name,
                "event": hook.event,
                "title": hook.title,
                "trigger": hook.trigger,
                "request": hook.request_example,
                "response_success": hook.success_example,
                "response_error": hook.error_example,
            }
        )
        return
    click.echo(f"{hook.title} ({hook.name}, {hook.event})")
    click.echo(f"Fires when {hook.trigger}.\n")
    click.echo("Request body example:")
    click.echo(_render(hook.request_example, content_type))
    click.echo("\nResponse success example:")
    click.echo(_render(hook.success_example, content_type))
    click.echo("\nResponse error example:")
    click.echo(_render(hook.error_example, content_type))


def _render(value: Any, fmt: str) -> str:
    if fmt == "xml" and isinstance(value, dict):
        return encode(value, "xml").decode()
    return json.dumps(value, indent=2)


@webhooks.command("test")
@click.argument("ref", metavar="UUID|ALIAS")
@click.option("--project", help="Project, when an alias is used in several.")
@pass_app
def test(app: AppContext, ref: str, project: str | None) -> None:
    """Send the type's request example through the real delivery path and
    report status, latency, response and verdict. Exit code 0 means success."""
    engine, box = app.store()
    with Session(engine) as session:
        webhook_id = find_webhook(session=session, ref=ref, project=project).id
    try:
        endpoint = load_endpoint(engine=engine, box=box, webhook_id=webhook_id, allow_disabled=True)
    except EndpointUnavailable as err:
        raise CommandError(str(err)) from None
    body, msg_id = example_body(CATALOG[endpoint.type])

    async def send() -> Verdict:
        http = HttpClients(allowed=app.settings.allow_networks)
        try:
            return await Sender(http=http, tokens=TokenCache(http)).attempt(
                endpoint, body=body, msg_id=msg_id
            )
        finally:
            await http.aclose()

    verdict = asyncio.run(send())
    _report(verdict, endpoint.secret_headers)
    if verdict.outcome != "delivered":
        raise CommandError(f"test failed: {verdict.error}")


def _report(verdict: Verdict, secret_headers: frozenset[str]) -> None:
    request = verdict.request
    click.echo(f"POST {request.url}")
    for name, value in request.headers.items():
        shown = REDACTED if name.lower() in secret_headers else value
        click.echo(f"{name}: {shown}")
    click.echo("")
    click.echo(request.body.decode(errors="replace")[: EXCERPT * 4])
    click.echo("")
    if verdict.reply is None:
        click.echo(f"no response after {verdict.latency_ms:.0f} ms: {verdict.error}")
    else:
        click.echo(f"HTTP {verdict.reply.status_code} in {verdict.reply.latency_ms:.0f} ms")
        excerpt = verdict.reply.body[:EXCERPT].decode(errors="replace")
        click.echo(excerpt + (" [...]" if len(verdict.reply.body) > EXCERPT else ""))
    click.echo("")
    result = "success" if verdict.outcome == "delivered" else f"failure: {verdict.error}"
    click.echo(f"verdict: {result}")
