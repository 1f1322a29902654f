"""``hookflow sessions list``: find sessions by their search attributes."""

from __future__ import annotations

import click
from temporalio.client import Client
from temporalio.service import RPCError

from worker.cli.context import AppContext, pass_app, run_with_client
from worker.cli.output import CommandError, plural, print_json, print_table
from worker.services.session_views import SESSION_STATUSES, SessionSummary, list_sessions
from worker.services.sessions import rpc_failure


@click.command("list")
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
