"""``hookflow processes``: business processes of several sessions."""

from __future__ import annotations

import uuid

import click
from pydantic import ValidationError
from temporalio.client import Client

from activities.contracts import CreateProcess, ProcessState, ProcessStatus
from worker.cli.context import AppContext, pass_app, run_with_client
from worker.cli.output import CommandError, load_json_arg, print_json, print_table
from worker.runtime.messages import describe_validation
from worker.services.sessions import create_process, process_state


@click.group()
def processes() -> None:
    """Business processes: sessions run in order, one archive at the end."""


@processes.command("create")
@click.argument("file", type=click.Path(dir_okay=False))
@pass_app
def create(app: AppContext, file: str) -> None:
    """Start a process from FILE (the create-process JSON); prints its id.

    Its stations run in order, each a session created when the one before is
    submitted; only "project" and "sessions" are required ("id" is made up
    when absent). For example, process.json:

    \b
    {"id": "7932390e-ee95-4888-ba64-9c7e6f2f5908", "project": "acme",
     "process_number": 51, "labels": {"DEAL": "D-1"},
     "sessions": [
       {"template": "loan-application", "recipient": {"name": "client"}},
       {"template": "loan-approval", "recipient": {"name": "officer"}}]}
    """
    data = load_json_arg("@" + file, "FILE")
    if not isinstance(data, dict):
        raise CommandError("FILE: a create-process request is a JSON object")
    data.setdefault("id", str(uuid.uuid4()))
    try:
        req = CreateProcess.model_validate(data)
    except ValidationError as err:
        raise CommandError(describe_validation(err)) from None
    engine, _box = app.store()
    run_with_client(
        app.settings,
        lambda client: create_process(client=client, settings=app.settings, engine=engine, req=req),
    )
    click.echo(str(req.id))


@processes.command("show")
@click.argument("process_id", metavar="PROCESS")
@click.option("--json", "as_json", is_flag=True)
@click.option("--project", help="The process's project (ids are per project).")
@pass_app
def show(app: AppContext, process_id: str, as_json: bool, project: str | None) -> None:
    """Show a process: its stations and its archive deliveries."""

    engine, _box = app.store()

    async def query(client: Client) -> ProcessState:
        return await process_state(
            client=client, project=project, process_id=process_id, engine=engine
        )

    state = run_with_client(app.settings, query)
    if as_json:
        print_json(state)
        return
    status = state.status.value
    if state.status == ProcessStatus.ACTIVE and all(
        s.status == "submitted" for s in state.stations
    ):  # the workflow says archived once the archive settles
        status = "archiving (every station submitted)"
    click.echo(f"process {state.id} ({state.project}): {status}")
    print_table(
        ["#", "SESSION", "TEMPLATE", "RECIPIENT", "STATUS"],
        [[s.position, s.session_id, s.template, s.recipient, s.status] for s in state.stations],
    )
    for d in state.deliveries:
        click.echo(f"archive -> {d.webhook_alias}: {d.status.value} {d.error or ''}".rstrip())
    for problem in state.problems:
        click.echo(f"problem: {problem}")
