"""``hookflow sessions``: create, signal and inspect sessions."""

from __future__ import annotations

import json
from collections.abc import Sequence
from datetime import timedelta
from typing import Any

import click
from pydantic import TypeAdapter, ValidationError
from temporalio.client import Client
from temporalio.service import RPCError

from activities.catalog import BY_SIGNAL
from activities.contracts import CreateSession, FieldChange
from activities.delivery.retry import parse_duration
from worker.cli.context import AppContext, pass_app, run_with_client
from worker.cli.output import (
    CommandError,
    load_json_arg,
    parse_pairs,
    plural,
    print_json,
    print_table,
)
from worker.cli.session_list import list_
from worker.runtime.messages import describe_validation
from worker.services.session_views import SessionView, read_session
from worker.services.sessions import (
    create_session,
    field_changed,
    new_session_id,
    rpc_failure,
    signal_payload,
    signal_session,
)

# ``--project`` of the commands that name one session by its id.
project_option = click.option("--project", help="The session's project (ids are per project).")


@click.group()
def sessions() -> None:
    """Create sessions, send them lifecycle signals, show their state."""


def _session_request(file: str | None, options: dict[str, Any]) -> CreateSession:
    data: dict[str, Any] = {}
    if file:
        loaded = load_json_arg("@" + file, "FILE")
        if not isinstance(loaded, dict):
            raise CommandError("FILE: a create-session request is a JSON object")
        data = loaded
    data.update({k: v for k, v in options.items() if v not in (None, (), {}, [])})
    data.setdefault("id", new_session_id())
    if not data.get("project"):  # as every other command words a missing option
        where = ' (or "project" in FILE)' if file else ""
        raise CommandError(f"Missing option '--project'{where}.")
    unknown = sorted(set(data) - set(CreateSession.model_fields) | ({"resume"} & set(data)))
    if unknown:
        raise CommandError(f"unknown field {unknown[0]!r} in the create-session request")
    try:
        return CreateSession.model_validate(data)
    except ValidationError as err:
        raise CommandError(describe_validation(err)) from None


@sessions.command("create")
@click.argument("file", required=False, type=click.Path(dir_okay=False))
@click.option("--project", help="Project (tenant).")
@click.option("--id", "session_id", help="Session id (a 10-character token if omitted).")
@click.option("--template", help="Template id.")
@click.option("--integration", "integrations", multiple=True, metavar="UUID")
@click.option("--label", "labels", multiple=True, metavar="K=V")
@click.option("--recipient-id", type=int)
@click.option("--recipient-name")
@click.option("--phone")
@click.option("--email")
@click.option("--expires-in", help="Seconds (3600), 2h, 7d or ISO 8601 (P7D).")
@click.option("--retention", help="Seconds, 30d or ISO 8601, from expiry or submission.")
@click.option("--json", "as_json", is_flag=True, help="Print the created session as JSON.")
@click.option("--dry-run", is_flag=True, help="Print the request as JSON; create nothing.")
@pass_app
def create(
    app: AppContext,
    file: str | None,
    project: str | None,
    session_id: str | None,
    template: str | None,
    integrations: Sequence[str],
    labels: Sequence[str],
    recipient_id: int | None,
    recipient_name: str | None,
    phone: str | None,
    email: str | None,
    expires_in: str | None,
    retention: str | None,
    as_json: bool,
    dry_run: bool,
) -> None:
    """Create a session from FILE (the create-session JSON) and/or options;
    prints its id (`--json`: id, workflow id and project)."""
    recipient = {
        k: v
        for k, v in {
            "id": recipient_id,
            "name": recipient_name,
            "phone": phone,
            "email": email,
        }.items()
        if v is not None
    }
    req = _session_request(
        file,
        {
            "id": session_id,
            "project": project,
            "template": template,
            "integrations": [{"type": "webhook", "uuid": u} for u in integrations],
            "labels": parse_pairs(labels, "--label"),
            "recipient": recipient or None,
            "expires_in": _duration(expires_in, "--expires-in"),
            "retention": _duration(retention, "--retention"),
        },
    )
    if dry_run:
        print_json(req.model_dump(mode="json", exclude={"resume"}))
        return
    engine, _box = app.store()
    run_with_client(
        app.settings,
        lambda client: create_session(client=client, settings=app.settings, engine=engine, req=req),
    )
    if as_json:
        print_json({"id": req.id, "workflow_id": req.workflow_id, "project": req.project})
    else:
        click.echo(req.id)


def _duration(text: str | None, option: str) -> float | str | None:
    """Seconds from ``3600``, ``2h`` or ``7d``; ISO 8601 (``P7D``) as given, for the
    model to read; anything else is refused in the option's words."""
    if text is None:
        return None
    try:
        return parse_duration(text)
    except ValueError:
        pass
    try:
        TypeAdapter(timedelta).validate_python(text)
    except ValidationError:
        raise CommandError(
            f"{option}: {text!r} is not a duration: use seconds (3600), 2h, 7d or ISO 8601 (P7D)"
        ) from None
    return text


@sessions.command("signal")
@click.argument("session_id", metavar="SESSION")
@click.argument("name", metavar="SIGNAL", type=click.Choice(list(BY_SIGNAL)))
@click.option("--data", help="Payload: JSON, or @FILE.")
@click.option("--event-id", help="Event id: a repeated id is one event.")
@project_option
@pass_app
def signal_(
    app: AppContext,
    session_id: str,
    name: str,
    data: str | None,
    event_id: str | None,
    project: str | None,
) -> None:
    """Send a lifecycle signal to a session."""
    payload = load_json_arg(data, "--data") if data else {}
    if not isinstance(payload, dict):
        raise CommandError("--data: a signal payload is a JSON object")
    if event_id:
        payload["event_id"] = event_id
    try:
        checked = signal_payload(name, payload)
    except ValidationError as err:
        raise CommandError(f"--data: {describe_validation(err)}") from None
    run_with_client(
        app.settings,
        lambda client: signal_session(
            client=client, project=project, session_id=session_id, name=name, payload=checked
        ),
    )
    click.echo(f"sent {name} to {session_id}")


@sessions.command("field-changed")
@click.argument("session_id", metavar="SESSION")
@click.option("--data", required=True, help='{"change": {"id", "type", "value"}, "fields": [...]}')
@click.option("--json", "as_json", is_flag=True, help='The answer as JSON: [{"id", "value"}].')
@project_option
@pass_app
def field_changed_(
    app: AppContext, session_id: str, data: str, as_json: bool, project: str | None
) -> None:
    """Ask the project's remote_data webhooks for values, as the form does while
    it is edited; prints each value answered (ID  VALUE)."""
    payload = load_json_arg(data, "--data")
    try:
        change = FieldChange.model_validate(payload)
    except ValidationError as err:
        raise CommandError(f"--data: {describe_validation(err)}") from None
    values = run_with_client(
        app.settings,
        lambda client: field_changed(
            client=client, project=project, session_id=session_id, change=change
        ),
    )
    if as_json:
        print_json([value.model_dump(mode="json") for value in values])
        return
    print_table(
        ["ID", "VALUE"],
        [[v.id, v.value if isinstance(v.value, str) else json.dumps(v.value)] for v in values],
    )


@sessions.command("show")
@click.argument("session_id", metavar="SESSION")
@click.option("--json", "as_json", is_flag=True)
@project_option
@pass_app
def show(app: AppContext, session_id: str, as_json: bool, project: str | None) -> None:
    """Show a session, running or ended: status, events, deliveries and their outcome."""

    engine, _box = app.store()

    async def fetch(client: Client) -> SessionView | None:
        try:
            return await read_session(client, engine, session_id, project=project)
        except RPCError as err:
            raise rpc_failure(err, f"session {session_id}") from None

    view = run_with_client(app.settings, fetch)
    if view is None:
        raise CommandError(f"no session {session_id}")
    if as_json:
        print_json(view.state if view.state is not None else view)
        return
    click.echo(_headline(session_id, view))
    print_table(
        ["SEQ", "EVENT", "WEBHOOK", "STATUS", "ATTEMPTS", "HTTP", "NEXT ATTEMPT", "ERROR"],
        [
            [
                d.sequence,
                d.event_type,
                d.webhook_alias,
                d.status.value,
                d.attempts,
                d.status_code,
                f"{d.next_attempt_at:%Y-%m-%d %H:%M:%S} UTC" if d.next_attempt_at else "",
                d.error,
            ]
            for d in view.deliveries
        ],
    )
    for problem in view.state.problems if view.state else []:
        click.echo(f"problem: {problem}")


def _headline(session_id: str, view: SessionView) -> str:
    ended = f"{view.closed_at:%Y-%m-%d %H:%M:%S}Z" if view.closed_at else ""
    state = view.state
    if state is None:
        return (
            f"session {session_id}: workflow {view.execution} {ended}".rstrip()
            + f"; {plural(len(view.deliveries), 'delivery', 'deliveries')} in the delivery log"
        )
    events = plural(state.sequence, "event")
    if view.source == "query":
        return (
            f"session {state.id} ({state.project}): {state.status.value}, {events}; "
            f"expires {state.expires_at:%Y-%m-%d %H:%M:%S}Z"
        )
    return f"session {state.id} ({state.project}): {state.status.value}, {events}; ended {ended}"


sessions.add_command(list_)
