"""``hookflow receive``: a receiver on this machine that shows what it is sent,
for trying webhooks without an endpoint of one's own."""

from __future__ import annotations

import json
import signal
import threading

import click

from worker.devstack.receiver import Received, Receiver, Reply


@click.command()
@click.option("--port", type=click.IntRange(1, 65535), default=9000, show_default=True)
@click.option("--status", type=click.IntRange(100, 599), default=200, show_default=True)
@click.option("--body", is_flag=True, help="Print each request's body too.")
def receive(port: int, status: int, body: bool) -> None:
    """Listen on 127.0.0.1:PORT, answer every POST with STATUS and print one line
    per request (event, sequence, webhook-id, signed or not). Ctrl-C stops.

    A webhook may deliver here once `hookflow up` lets loopback through
    (`--allow-networks 127.0.0.0/8`).
    """
    answer = Reply(status=status, body=b'{"status": "success"}' if status < 300 else b"{}")
    stop = threading.Event()
    for signum in (signal.SIGINT, signal.SIGTERM):
        signal.signal(signum, lambda *_: stop.set())
    try:
        receiver = Receiver(port=port, listener=lambda r: _show(r, status, body=body))
    except OSError as err:
        raise click.ClickException(f"cannot listen on 127.0.0.1:{port}: {err.strerror}") from None
    with receiver:
        receiver.answer_all(answer)
        click.echo(f"receiving on {receiver.url('/')} (Ctrl-C stops)")
        stop.wait()


def _show(request: Received, status: int, *, body: bool) -> None:
    try:
        event = request.json().get("event", {})
        what = f"#{event.get('sequence')} {event.get('type')}"
    except (ValueError, AttributeError):
        what = f"{len(request.body)} bytes"
    signed = "signed" if "webhook-signature" in request.headers else "unsigned"
    click.echo(
        f"{request.method} {request.path}  {what}  "
        f"webhook-id {request.headers.get('webhook-id', '-')}  {signed}  -> {status}"
    )
    if body:
        try:
            click.echo(json.dumps(request.json(), indent=2, ensure_ascii=False))
        except ValueError:  # XML, or not JSON at all
            click.echo(request.body.decode(errors="replace"))
