"""``hookflow processes``: business processes of several sessions."""

from __future__ import annotations

import uuid

import click
from pydantic import ValidationError
from sqlmodel import Session
from temporalio.client import Client, WorkflowExecutionStatus
from temporalio.exceptions import WorkflowAlreadyStartedError
from temporalio.service import RPCError

from activities.contracts import CreateProcess, ProcessState
from activities.store.webhooks import integration_problems
from worker.cli_sessions import QUERY_TIMEOUT, load_json_arg, rpc_failure, run_with_client
from worker.context import AppContext, pass_app
from worker.output import CommandError, describe_validation, plural, print_json, print_table
from workflows.names import initial_attributes
from workflows.process import BusinessProcessWorkflow


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
    with Session(engine) as session:
        problems = integration_problems(
            session=session, project=req.project, integrations=[i.uuid for i in req.integrations]
        )
    if problems:
        raise CommandError(problems[0])

    async def start(client: Client) -> None:
        attributes = initial_attributes(project=req.project, process_id=str(req.id))
        try:
            await client.start_workflow(
                BusinessProcessWorkflow.run,
                req,
                id=req.workflow_id,
                task_queue=app.settings.task_queue,
                search_attributes=attributes,
                static_summary=f"{req.project} process {req.process_number}, "
                f"{plural(len(req.sessions), 'session')}",
            )
        except WorkflowAlreadyStartedError:
            raise CommandError(f"process {req.id} already exists") from None

    run_with_client(app.settings, start)
    click.echo(str(req.id))


@processes.command("show")
@click.argument("process_id", metavar="PROCESS")
@click.option("--json", "as_json", is_flag=True)
@pass_app
def show(app: AppContext, process_id: str, as_json: bool) -> None:
    """Show a process: its stations and its archive deliveries."""

    async def query(client: Client) -> ProcessState:
        handle = client.get_workflow_handle(f"process-{process_id}", result_type=ProcessState)
        try:
            described = await handle.describe()
            if described.status == WorkflowExecutionStatus.COMPLETED:
                # Ended: its last state is its result, in its closed history.
                ended: ProcessState = await handle.result(rpc_timeout=QUERY_TIMEOUT)
                return ended
            state: ProcessState = await handle.query(
                "state", result_type=ProcessState, rpc_timeout=QUERY_TIMEOUT
            )
        except RPCError as err:
            raise rpc_failure(err, f"process {process_id}") from None
        return state

    state = run_with_client(app.settings, query)
    if as_json:
        print_json(state)
        return
    click.echo(f"process {state.id} ({state.project}): {state.status.value}")
    print_table(
        ["#", "SESSION", "TEMPLATE", "RECIPIENT", "STATUS"],
        [[s.position, s.session_id, s.template, s.recipient, s.status] for s in state.stations],
    )
    for d in state.deliveries:
        click.echo(f"archive -> {d.webhook_alias}: {d.status.value} {d.error or ''}".rstrip())
    for problem in state.problems:
        click.echo(f"problem: {problem}")
