"""``hookflow sms seal``: a message for ``send_sms`` that never enters workflow history."""

from __future__ import annotations

import sys
from datetime import timedelta

import click
from sqlmodel import Session

from activities.delivery.retry import parse_duration
from activities.files.sealed import seal_text
from worker.cli.context import AppContext, pass_app
from worker.cli.output import CommandError


@click.group()
def sms() -> None:
    """SMS helpers: seal a one-time password text for the send_sms signal."""


@sms.command("seal")
@click.argument("text", default="-")
@click.option("--ttl", default="1h", show_default=True, help="How long the text can be sent.")
@pass_app
def seal(app: AppContext, text: str, ttl: str) -> None:
    """Seal TEXT (or standard input with '-') and print its reference for text_ref."""
    if text == "-":
        text = sys.stdin.read().rstrip("\n")
    try:
        lifetime = timedelta(seconds=parse_duration(ttl))
    except ValueError as err:
        raise CommandError(f"--ttl: {err}") from None
    engine, box = app.store()
    with Session(engine) as session:
        try:
            ref = seal_text(session=session, box=box, text=text, ttl=lifetime)
        except ValueError as err:
            raise CommandError(str(err)) from None
    click.echo(ref)
