"""``hookflow sessions list``: find sessions by their search attributes."""

from __future__ import annotations

import click
from temporalio.client import Client
from temporalio.service import RPCError

from worker.cli.context import AppContext, pass_app, run_with_client
from worker.cli.output import CommandError, paged, plural, print_list, print_next
from worker.services.cursors import Page
from worker.services.session_views import SESSION_STATUSES, SessionSummary, list_sessions
from worker.services.sessions import rpc_failure


@click.command("list")
@click.option("--project", help="Only this project.")
@click.option("--status", type=click.Choice(SESSION_STATUSES), help="Only sessions in this state.")
@click.option("--template", help="Only sessions of this template.")
@paged
@click.option("--json", "as_json", is_flag=True)
@pass_app
def list_(
    app: AppContext,
    project: str | None,
    status: str | None,
    template: str | None,
    limit: int,
    after: str | None,
    as_json: bool,
) -> None:
    """List sessions, running and ended, newest first; a full page ends with the
    --after CURSOR of the next one (on stderr)."""

    async def find(client: Client) -> Page[SessionSummary]:
        try:
            return await list_sessions(
                client, project=project, status=status, template=template, limit=limit, after=after
            )
        except ValueError as err:
            raise CommandError(str(err)) from None
        except RPCError as err:
            raise rpc_failure(err, "sessions") from None

    page = run_with_client(app.settings, find)
    found = page.rows
    print_list(
        found,
        as_json=as_json,
        headers=[
            "SESSION",
            "PROJECT",
            "TEMPLATE",
            "STATUS",
            "WORKFLOW",
            "STARTED",
            "FAILED WEBHOOKS",
        ],
        row=lambda s: [
            s.id,
            s.project,
            s.template or "-",
            s.status,
            s.execution,
            f"{s.started_at:%Y-%m-%d %H:%M:%S}",
            ", ".join(s.failed_webhooks) or "-",
        ],
    )
    if not as_json:
        click.echo(plural(len(found), "session"), err=True)
    print_next(page.next)
