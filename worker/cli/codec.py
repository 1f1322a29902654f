"""``hookflow codec``: the payload codec's keys; ``hookflow codec-server``: its HTTP face."""

from __future__ import annotations

import asyncio
import signal

import click

from worker.cli.context import AppContext, pass_app
from worker.cli.output import CommandError
from worker.devstack.codec_server import (
    DEFAULT_PORT,
    CodecServer,
    build_app,
    check_exposure,
    ui_origins,
)
from worker.runtime.codec import rotate_key_file


@click.group()
def codec() -> None:
    """Keys of the payload codec that encrypts what hookflow sends to Temporal."""


@codec.command("keys")
@pass_app
def keys(app: AppContext) -> None:
    """List the key ids (never the keys); the last one encrypts."""
    ring = app.settings.codec_keys()
    for kid in ring.ids:
        click.echo(f"{kid}  {'encrypts' if kid == ring.active_id else 'decrypts'}")


@codec.command("rotate")
@pass_app
def rotate(app: AppContext) -> None:
    """Add a new key that encrypts from now on; older keys still decrypt."""
    settings = app.settings
    if settings.codec_key_env:
        raise CommandError(
            "HOOKFLOW_CODEC_KEY is set: rotate by appending a new key to it "
            "(comma-separated, the last one encrypts; `openssl rand -base64 32` makes one)"
        )
    ring = rotate_key_file(settings.codec_key_file)
    older = ", ".join(kid for kid in ring.ids if kid != ring.active_id)
    click.echo(f"codec key {ring.active_id} encrypts from now on; {older} still decrypt")
    click.echo(
        f"Copy {settings.codec_key_file} to every worker and codec server; "
        "each encrypts with the new key once restarted."
    )


@click.command("codec-server")
@click.option("--port", type=click.IntRange(0, 65535), default=DEFAULT_PORT, show_default=True)
@click.option("--host", default="127.0.0.1", show_default=True, help="Address to listen on.")
@click.option(
    "--ui-origin",
    "origins",
    multiple=True,
    metavar="URL",
    help="Origin of a Web UI allowed to call it (repeat); default the local UI on 8233.",
)
@click.option(
    "--allow-encode",
    is_flag=True,
    help="Serve /encode too (encrypts anything under the real key; the UI needs only /decode).",
)
@pass_app
def codec_server(
    app: AppContext, port: int, host: str, origins: tuple[str, ...], allow_encode: bool
) -> None:
    """Serve /decode (and /encode with --allow-encode) for the Temporal Web UI and CLI.
    HOOKFLOW_CODEC_TOKEN: require that bearer token; without one, it listens on
    loopback only."""
    settings = app.settings
    check_exposure(host, settings.codec_token)
    server = CodecServer(
        build_app(
            settings.codec(),
            origins=list(origins) or ui_origins(8233),
            token=settings.codec_token,
            allow_encode=allow_encode,
        ),
        host=host,
        port=port,
    )
    asyncio.run(_serve(server, token=settings.codec_token is not None))


async def _serve(server: CodecServer, *, token: bool) -> None:
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for signum in (signal.SIGINT, signal.SIGTERM):
        loop.add_signal_handler(signum, stop.set)
    try:
        await server.start()
    except OSError as err:
        raise CommandError(f"the codec server cannot listen on {server.url}: {err}") from None
    click.echo(f"codec server on {server.url} (--codec-endpoint {server.url})")
    if token:
        click.echo("every request carries Authorization: Bearer $HOOKFLOW_CODEC_TOKEN")
    else:
        click.echo("no token (HOOKFLOW_CODEC_TOKEN): anyone on this machine can decode")
    await stop.wait()
    await server.stop()
