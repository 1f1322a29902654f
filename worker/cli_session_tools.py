"""``hookflow sessions list`` and ``sessions field-changed``: find sessions by
their search attributes, and ask remote data as a form would."""

from __future__ import annotations

import json
from datetime import timedelta

import click
from pydantic import ValidationError
from temporalio.client import Client, WorkflowUpdateFailedError
from temporalio.exceptions import ApplicationError
from temporalio.service import RPCError

from activities.contracts import FieldChange, FieldValue
from worker.cli_sessions import load_json_arg, rpc_failure, run_with_client, sessions
from worker.context import AppContext, pass_app
from worker.output import CommandError, describe_validation, plural, print_json, print_table
from worker.session_views import SESSION_STATUSES, SessionSummary, list_sessions

# Remote data takes at most two attempts of 15 s each; the caller waits that long.
UPDATE_TIMEOUT = timedelta(seconds=40)
FIELD_CHANGED_EXAMPLE = (
    '{"change": {"id": "customer_id", "type": "text", "value": "C-1042"}, '
    '"fields": [{"id": "customer_name"}]}'
)


@sessions.command("list")
@click.option("--project", help="Only this project.")
@click.option("--status", type=click.Choice(SESSION_STATUSES), help="Only sessions in this state.")
@click.option("--template", help="Only sessions of this template.")
@click.option("--limit", type=click.IntRange(1, 10_000), default=100, show_default=True)
@click.option("--json", "as_json", is_flag=True)
@pass_app
def list_(
    app: AppContext,
    project: str | None,
    status: str | None,
    template: str | None,
    limit: int,
    as_json: bool,
) -> None:
    """List sessions, running and ended, newest first."""

    async def find(client: Client) -> list[SessionSummary]:
        try:
            return await list_sessions(
                client, project=project, status=status, template=template, limit=limit
            )
        except ValueError as err:
            raise CommandError(str(err)) from None
        except RPCError as err:
            raise rpc_failure(err, "sessions") from None

    found = run_with_client(app.settings, find)
    if as_json:
        print_json(found)
        return
    print_table(
        ["SESSION", "PROJECT", "TEMPLATE", "STATUS", "WORKFLOW", "STARTED", "FAILED WEBHOOKS"],
        [
            [
                s.id,
                s.project,
                s.template or "-",
                s.status,
                s.execution,
                f"{s.started_at:%Y-%m-%d %H:%M:%S}",
                ", ".join(s.failed_webhooks) or "-",
            ]
            for s in found
        ],
    )
    click.echo(plural(len(found), "session"), err=True)


@sessions.command("field-changed")
@click.argument("session_id", metavar="SESSION")
@click.option(
    "--data",
    required=True,
    help=f"The change, as a form sends it: JSON or @FILE, e.g. '{FIELD_CHANGED_EXAMPLE}'.",
)
@click.option("--event-id", help="Event id: a repeated id is one event.")
@click.option("--json", "as_json", is_flag=True, help="Print the values as JSON.")
@pass_app
def field_changed(
    app: AppContext, session_id: str, data: str, event_id: str | None, as_json: bool
) -> None:
    """Ask the project's remote_data webhooks for values, as the form does while
    the client types (the field_changed update), and print what they answer."""
    payload = load_json_arg(data, "--data")
    if not isinstance(payload, dict):
        raise CommandError("--data: a field change is a JSON object")
    if event_id:
        payload["event_id"] = event_id
    try:
        change = FieldChange.model_validate(payload)
    except ValidationError as err:
        raise CommandError(f"--data: {describe_validation(err)}") from None

    async def ask(client: Client) -> list[FieldValue]:
        handle = client.get_workflow_handle(f"session-{session_id}")
        try:
            values: list[FieldValue] = await handle.execute_update(
                "field_changed",
                change.model_dump(mode="json", exclude_none=True),
                result_type=list[FieldValue],
                rpc_timeout=UPDATE_TIMEOUT,
            )
        except WorkflowUpdateFailedError as err:
            cause = err.cause
            reason = cause.message if isinstance(cause, ApplicationError) else str(cause or err)
            raise CommandError(f"field_changed refused: {reason}") from None
        except RPCError as err:
            raise rpc_failure(err, f"session {session_id}") from None
        return values

    values = run_with_client(app.settings, ask)
    if as_json:
        print_json(values)
        return
    print_table(
        ["FIELD", "VALUE"], [[v.id, json.dumps(v.value, ensure_ascii=False)] for v in values]
    )
