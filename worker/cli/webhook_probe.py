"""``hookflow webhooks test`` and ``webhooks example``: the dashboard pane's Test button
and its request and response examples."""

from __future__ import annotations

import asyncio
from typing import TYPE_CHECKING

import click

from worker.cli.context import AppContext, pass_app
from worker.cli.lazy import HOOK_TYPES
from worker.cli.output import CommandError, print_json

if TYPE_CHECKING:
    from worker.services.probe import Format, ProbeResult


@click.command("example")
@click.argument("type_", metavar="TYPE", type=HOOK_TYPES)
@click.option("--content-type", type=click.Choice(["json", "xml"]), default="json")
@click.option("--json", "as_json", is_flag=True, help="Everything as one JSON document.")
@click.option("--schema", "as_schema", is_flag=True, help="The body's JSON Schema instead.")
def example(type_: str, content_type: str, as_json: bool, as_schema: bool) -> None:
    """Print a type's request body, response success and response error examples
    (``--schema``: its request body's JSON Schema, draft 2020-12)."""
    from activities.catalog import CATALOG
    from activities.schemas import schema, schema_name
    from worker.services.probe import render

    hook = CATALOG[type_]
    if as_schema:
        print_json(schema(type_))
        return
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
                "schema_version": schema_name(type_),
            }
        )
        return
    fmt: Format = "xml" if content_type == "xml" else "json"
    click.echo(f"{hook.title} ({hook.name}, {hook.event})")
    click.echo(f"Fires when {hook.trigger}.")
    click.echo(f"Schema: {schema_name(type_)} (hookflow webhooks example {type_} --schema)\n")
    click.echo("Request body example:")
    click.echo(render(hook.request_example, fmt))
    click.echo("\nResponse success example:")
    click.echo(render(hook.success_example, fmt))
    click.echo("\nResponse error example:")
    click.echo(render(hook.error_example, fmt))


@click.command("test")
@click.argument("ref", metavar="UUID|ALIAS")
@click.option("--project", help="Project, when an alias is used in several.")
@pass_app
def test(app: AppContext, ref: str, project: str | None) -> None:
    """Send the type's request example through the real delivery path and
    report status, latency, response and verdict. Exit code 0 means success."""
    from sqlmodel import Session

    from activities.store.webhooks import find_webhook
    from worker.services.probe import probe_webhook

    engine, box = app.store()
    with Session(engine) as session:
        webhook_id = find_webhook(session=session, ref=ref, project=project).id
    result = asyncio.run(
        probe_webhook(
            engine=engine,
            box=box,
            webhook_id=webhook_id,
            allowed=app.settings.allow_networks,
            stack=app.settings.own_endpoints,
            transport=app.settings.http_transport,
        )
    )
    _report(result)
    if not result.success:  # the verdict above gives the reason, once
        raise CommandError("test failed")


def _report(result: ProbeResult) -> None:
    request = result.request
    click.echo(f"POST {request.url}")
    for name, value in request.headers.items():
        click.echo(f"{name}: {value}")
    click.echo("")
    click.echo(request.body)
    click.echo("")
    if result.status_code is None:
        click.echo(f"no response after {result.latency_ms or 0:.0f} ms")
    else:
        click.echo(f"HTTP {result.status_code} in {result.latency_ms:.0f} ms")
        click.echo(
            (result.response_excerpt or "") + (" [...]" if result.response_truncated else "")
        )
    click.echo("")
    click.echo(f"verdict: {result.verdict}")
