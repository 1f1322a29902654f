"""The ``hookflow`` command: the group, every command group in it, and the entry point."""

from __future__ import annotations

import logging
import os
import sys
from collections.abc import Sequence

import click
from pydantic import ValidationError
from sqlalchemy.exc import SQLAlchemyError

from activities.errors import (
    ConfigError,
    DevServerError,
    HookflowError,
    PayloadUndecodable,
    SecretBoxError,
    SettingsError,
)
from worker.cli.api import api
from worker.cli.codec import codec, codec_server
from worker.cli.context import AppContext
from worker.cli.deliveries import deliveries
from worker.cli.demo import demo
from worker.cli.documents import documents
from worker.cli.keys import keys
from worker.cli.processes import processes
from worker.cli.projects import projects
from worker.cli.receive import receive
from worker.cli.retention import retention
from worker.cli.secrets import secrets
from worker.cli.sessions import sessions
from worker.cli.sms import sms
from worker.cli.storage import storage
from worker.cli.up import up
from worker.cli.webhooks import webhooks
from worker.cli.worker import worker
from worker.runtime.failures import describe_validation


@click.group(context_settings={"help_option_names": ["-h", "--help"]})
@click.option(
    "--data-dir",
    type=click.Path(file_okay=False),
    help="State directory (default .hookflow, or HOOKFLOW_DATA_DIR).",
)
@click.pass_context
def cli(ctx: click.Context, data_dir: str | None) -> None:
    """hookflow: durable outbound webhooks on Temporal."""
    ctx.obj = AppContext(data_dir=data_dir)


COMMANDS = (
    up,
    worker,
    projects,
    webhooks,
    secrets,
    sessions,
    processes,
    deliveries,
    documents,
    storage,
    sms,
    demo,
    keys,
    api,
    codec,
    codec_server,
    receive,
    retention,
)
for command in COMMANDS:
    cli.add_command(command)

_ONE_LINE_ERRORS = (
    HookflowError,
    ConfigError,
    SettingsError,
    DevServerError,
    SecretBoxError,
    PayloadUndecodable,
)


def main(argv: Sequence[str] | None = None) -> None:
    """Entry point: every failure is one line on stderr and a non-zero exit."""
    logging.basicConfig(level=logging.WARNING, format="%(levelname)s %(name)s: %(message)s")
    try:
        cli.main(args=argv, prog_name="hookflow", standalone_mode=False)
    except click.exceptions.Abort:
        sys.exit(130)
    except click.ClickException as err:
        _fail(err.format_message(), err.exit_code)
    except ValidationError as err:
        _fail(describe_validation(err))
    except _ONE_LINE_ERRORS as err:
        _fail(str(err))
    except SQLAlchemyError as err:
        _fail(f"database error: {' '.join(str(err.__cause__ or err).split())[:200]}")
    except KeyboardInterrupt:
        sys.exit(130)


def entry_point() -> None:
    """The ``hookflow`` console script.

    Exits without interpreter teardown: the Temporal client's native threads
    can abort a finalizing interpreter (sdk-python issue 300), which would
    turn a finished command into a crash.
    """
    code = 0
    try:
        main()
    except SystemExit as exit_:
        code = exit_.code if isinstance(exit_.code, int) else 1
    logging.shutdown()
    sys.stdout.flush()
    sys.stderr.flush()
    os._exit(code)


def _fail(message: str, code: int = 1) -> None:
    click.echo(f"hookflow: error: {message}", err=True)
    sys.exit(code)


if __name__ == "__main__":
    entry_point()
