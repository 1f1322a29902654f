"""``hookflow receive``: a receiver on this machine that shows what it is sent,
for trying webhooks without an endpoint of one's own."""

from __future__ import annotations

import json
import signal
import threading
from pathlib import Path

import click

from worker.devstack.receiver import Received, Receiver, Reply

REMOTE_DATA = "WHEF_FORM_FIELD_CHANGED"


@click.command()
@click.option("--port", type=click.IntRange(1, 65535), default=9000, show_default=True)
@click.option("--status", type=click.IntRange(100, 599), default=200, show_default=True)
@click.option("--body", is_flag=True, help="Print each request's body too.")
@click.option(
    "--answer",
    "answer_file",
    type=click.Path(dir_okay=False, path_type=Path),
    metavar="FILE",
    help='Answer remote-data requests with this JSON: [{"id": ..., "value": ...}, ...].',
)
def receive(port: int, status: int, body: bool, answer_file: Path | None) -> None:
    """Listen on 127.0.0.1:PORT, answer every POST with STATUS and print one line
    per request (event, sequence, webhook-id, signed or not). Ctrl-C stops.

    A webhook may deliver here once `hookflow up` lets loopback through
    (`--allow-networks 127.0.0.0/8`). With `--answer FILE`, a remote-data
    request (WHEF_FORM_FIELD_CHANGED) is answered 200 with the file's values,
    which fill the form.
    """
    answer = Reply(status=status, body=b'{"status": "success"}' if status < 300 else b"{}")
    values = _values(answer_file) if answer_file is not None else None
    stop = threading.Event()
    for signum in (signal.SIGINT, signal.SIGTERM):
        signal.signal(signum, lambda *_: stop.set())
    try:
        receiver = Receiver(port=port, listener=lambda r: _show(r, body=body))
    except OSError as err:
        raise click.ClickException(f"cannot listen on 127.0.0.1:{port}: {err.strerror}") from None
    with receiver:
        receiver.answer_all(answer)
        if values is not None:
            receiver.answer_event(REMOTE_DATA, Reply(status=200, body=values))
        click.echo(f"receiving on {receiver.url('/')} (Ctrl-C stops)")
        if values is not None:
            click.echo(f"answering remote data with {answer_file}")
        stop.wait()


def _values(path: Path) -> bytes:
    """The answer file as compact JSON: a list of ``{"id", "value"}``, as a
    remote-data endpoint answers; anything else is refused before listening."""
    try:
        data = json.loads(path.read_text())
    except OSError as err:
        raise click.ClickException(f"--answer: cannot read {path}: {err.strerror}") from None
    except ValueError as err:
        raise click.ClickException(f"--answer: {path} is not valid JSON: {err}") from None
    if not isinstance(data, list) or not all(
        isinstance(item, dict) and isinstance(item.get("id"), str) for item in data
    ):
        raise click.ClickException(
            f'--answer: {path} must hold a list of {{"id": ..., "value": ...}}'
        )
    return json.dumps(data, separators=(",", ":")).encode()


def _show(request: Received, *, body: bool) -> None:
    try:
        event = request.json().get("event", {})
        what = f"#{event.get('sequence')} {event.get('type')}"
    except (ValueError, AttributeError):
        what = f"{len(request.body)} bytes"
    signed = "signed" if "webhook-signature" in request.headers else "unsigned"
    click.echo(
        f"{request.method} {request.path}  {what}  "
        f"webhook-id {request.headers.get('webhook-id', '-')}  {signed}  -> {request.status}"
    )
    if body:
        try:
            click.echo(json.dumps(request.json(), indent=2, ensure_ascii=False))
        except ValueError:  # XML, or not JSON at all
            click.echo(request.body.decode(errors="replace"))
