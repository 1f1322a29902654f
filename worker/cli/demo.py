"""``hookflow demo``: a session through its whole life, delivered to a receiver on this machine."""

from __future__ import annotations

import asyncio
import uuid
from typing import Any

import click
from sqlmodel import Session
from temporalio.client import Client

from activities.contracts import CreateSession, DeliveryStatus, SessionState, session_workflow_id
from activities.delivery.guard import parse_networks
from activities.delivery.signing import new_secret
from activities.store.crypto import SecretBox
from activities.store.webhooks import (
    WebhookCreate,
    WebhookSettings,
    create_webhook,
    find_webhook,
    update_webhook,
)
from worker.cli.context import AppContext, pass_app, run_with_client
from worker.cli.output import CommandError, print_table
from worker.devstack.receiver import Receiver, Reply
from worker.runtime.assembly import running_worker
from worker.runtime.data_dir import read_state
from worker.runtime.settings import Settings
from worker.services.sessions import start_session

PROJECT = "demo"
TYPES = [
    "session_created",
    "client_logged_in",
    "form_loaded",
    "form_submitted",
    "archive",
    "session_deleted",
]
CLIENT = {"ip": "203.0.113.7", "user_agent": "Mozilla/5.0 (hookflow demo)"}
SIGNALS: list[tuple[str, dict[str, Any]]] = [
    ("client_logged_in", {"client": {**CLIENT, "channel": "sms"}}),
    ("form_loaded", {"client": CLIENT}),
    ("form_submitted", {"client": CLIENT, "form_data": {"first_name": "Dana", "amount": 25000}}),
    ("delete", {}),
]


@click.command()
@click.option("--ui-url", help="Web UI address (default: the running stack's).")
@click.option("--keep", is_flag=True, help="Keep the demo webhooks enabled afterwards.")
@pass_app
def demo(app: AppContext, ui_url: str | None, keep: bool) -> None:
    """Run a session through its whole life against a receiver on this machine.

    Needs a running Temporal (`hookflow up` in another terminal). The demo
    runs its own worker on a task queue of its own, allowed to reach
    127.0.0.1 only; the form-submitted endpoint fails twice to show retries.
    """
    settings = app.settings.replace(
        task_queue=f"hookflow-demo-{uuid.uuid4().hex[:6]}",
        allow_networks=parse_networks("127.0.0.1/32"),
    )
    engine, box = app.store()
    ui = ui_url or _ui_url(settings)
    with Receiver() as receiver:
        receiver.script("/form_submitted", Reply(status=503), Reply(status=500))
        with Session(engine) as session:
            _remove_demo_webhooks(session)
            for type_ in TYPES:
                create_webhook(
                    session=session,
                    data=WebhookCreate(
                        project=PROJECT,
                        alias=f"demo-{type_}",
                        type=type_,
                        url=receiver.url(f"/{type_}"),
                        retry_schedule=[0, 1, 2],
                        signing_secret=new_secret(),
                    ),
                    box=box,
                    limits=settings.webhook_limits,
                )
        click.echo(f"receiver on {receiver.url('/')}; {len(TYPES)} webhooks in project {PROJECT!r}")
        try:
            state = run_with_client(settings, lambda client: _run(client, settings, app))
        finally:
            if not keep:  # disabled, not deleted: the session's deliveries still name them
                with Session(engine) as session:
                    _disable_demo_webhooks(session, box)
        _show(receiver, state, ui)


def _ui_url(settings: Settings) -> str:
    """The Web UI of the stack this data dir runs, else the frontend's port + 1000
    (the dev server's own default)."""
    stack = read_state(settings.data_dir)
    if stack is not None and stack.temporal_address == settings.temporal_address:
        return stack.ui_url
    host, _, port = settings.temporal_address.rpartition(":")
    return f"http://{host or '127.0.0.1'}:{int(port) + 1000}"


def _remove_demo_webhooks(session: Session) -> None:
    for type_ in TYPES:
        try:
            session.delete(find_webhook(session=session, ref=f"demo-{type_}", project=PROJECT))
        except ValueError:
            continue
    session.commit()


DEMO_OVER = "the demo is over (its receiver stopped); the next demo replaces it"


def _disable_demo_webhooks(session: Session, box: SecretBox) -> None:
    for type_ in TYPES:
        try:
            webhook = find_webhook(session=session, ref=f"demo-{type_}", project=PROJECT)
        except ValueError:
            continue
        update_webhook(
            session=session,
            webhook=webhook,
            data=WebhookSettings(enabled=False, disabled_reason=DEMO_OVER),
            box=box,
        )


async def _run(client: Client, settings: Settings, app: AppContext) -> SessionState:
    engine, box = app.store()
    async with running_worker(client, settings, engine=engine, box=box):
        req = CreateSession(
            id=uuid.uuid4().hex[:10],
            project=PROJECT,
            template="loan-application",
            labels={"DEAL": "D-1"},
        )
        await start_session(client, settings, req)
        handle = client.get_workflow_handle(req.workflow_id, result_type=SessionState)
        click.echo(f"session {req.id} started")
        for name, payload in SIGNALS:
            await handle.signal(name, payload)
            click.echo(f"  signal {name}")
        seen: set[tuple[int, str]] = set()
        while True:
            state: SessionState = await handle.query("state", result_type=SessionState)
            for d in state.deliveries:
                if d.status != DeliveryStatus.PENDING and (d.sequence, d.webhook_alias) not in seen:
                    seen.add((d.sequence, d.webhook_alias))
                    click.echo(
                        f"  [{len(seen)}/{len(TYPES)}] {d.event_type} -> {d.webhook_alias}: "
                        f"{d.status.value}"
                    )
            if len(seen) >= len(TYPES) and state.status == "deleted":
                return state
            await asyncio.sleep(0.2)


def _show(receiver: Receiver, state: SessionState, ui: str) -> None:
    click.echo("\nThe receiver got (every attempt, with what it answered):")
    requests = sorted(receiver.requests, key=lambda r: (r.json()["event"]["sequence"], r.at))
    print_table(
        ["SEQ", "EVENT", "PATH", "ANSWER", "WEBHOOK-ID", "SIGNED"],
        [
            [
                r.json()["event"]["sequence"],
                r.json()["event"]["type"],
                r.path,
                r.status,
                r.headers.get("webhook-id"),
                "yes" if "webhook-signature" in r.headers else "no",
            ]
            for r in requests
        ],
    )
    retries = [d for d in state.deliveries if d.attempts > 1]
    for d in retries:
        click.echo(
            f"{d.event_type} -> {d.webhook_alias} took {d.attempts} attempts "
            "(the same webhook-id each time: the receiver's idempotency key)"
        )
    if any(d.status != DeliveryStatus.DELIVERED for d in state.deliveries):
        raise CommandError("some demo deliveries did not arrive")
    click.echo(
        f"\nLook in the Web UI: {ui}/namespaces/default/workflows/"
        + session_workflow_id(state.project, state.id)
    )
    click.echo(f'  or search:  HookflowSessionId = "{state.id}"')
    click.echo(f"  or run:     hookflow sessions show {state.id} --project {state.project}")
    click.echo(f"              hookflow deliveries list --session {state.id}")
