"""The ``hookflow`` command: the group, every command group in it, and the entry point."""

from __future__ import annotations

import logging
import os
import sys
from collections.abc import Sequence

import click

from activities.errors import (
    ConfigError,
    DevServerError,
    HookflowError,
    PayloadUndecodable,
    SecretBoxError,
    SettingsError,
)
from worker.cli.context import AppContext
from worker.cli.lazy import LazyCommand, LazyGroup

COMMANDS = {
    "up": LazyCommand(
        "worker.cli.up:up",
        "Run everything on this machine: Temporal dev server with its UI, the configuration "
        "database, the codec server, the REST API and the pane in this process, and the "
        "workers in processes of their own. Ctrl-C stops it all.",
    ),
    "worker": LazyCommand(
        "worker.cli.worker:worker",
        "Run a worker only, against TEMPORAL_ADDRESS / TEMPORAL_NAMESPACE.",
    ),
    "projects": LazyCommand(
        "worker.cli.projects:projects", "Settings that apply to every webhook of a project."
    ),
    "webhooks": LazyCommand(
        "worker.cli.webhooks:webhooks", "Configure the webhooks a project's sessions call."
    ),
    "secrets": LazyCommand(
        "worker.cli.secrets:secrets",
        "Bearer tokens: a token endpoint and its credentials ('general' or 'microsoft_graph').",
    ),
    "sessions": LazyCommand(
        "worker.cli.sessions:sessions",
        "Create sessions, send them lifecycle signals, show their state.",
    ),
    "processes": LazyCommand(
        "worker.cli.processes:processes",
        "Business processes: sessions run in order, one archive at the end.",
    ),
    "deliveries": LazyCommand(
        "worker.cli.deliveries:deliveries",
        "Read the delivery log: every event sent to every webhook, every attempt.",
    ),
    "documents": LazyCommand(
        "worker.cli.documents:documents",
        "The document store: signed PDFs and attachments travel as references, each "
        "document of one project.",
    ),
    "storage": LazyCommand(
        "worker.cli.storage:storage",
        "Write each archive's files under a relative path (local folder), then call back.",
    ),
    "sms": LazyCommand(
        "worker.cli.sms:sms",
        "SMS helpers: seal a one-time password text for the send_sms signal.",
    ),
    "demo": LazyCommand(
        "worker.cli.demo:demo",
        "Run a session through its whole life against a receiver on this machine.",
    ),
    "keys": LazyCommand(
        "worker.cli.keys:keys",
        "API keys: `Authorization: Bearer <key>` for the REST API, and the pane's sign-in.",
    ),
    "api": LazyCommand(
        "worker.cli.api:api",
        "Serve the REST API (/api/v1, /openapi.json) and the webhook pane (/) against the "
        "configuration database and TEMPORAL_ADDRESS. Ctrl-C stops it.",
    ),
    "codec": LazyCommand(
        "worker.cli.codec:codec",
        "Keys of the payload codec that encrypts what hookflow sends to Temporal.",
    ),
    "codec-server": LazyCommand(
        "worker.cli.codec:codec_server",
        "Serve /decode (and /encode with --allow-encode) for the Temporal Web UI and CLI. "
        "HOOKFLOW_CODEC_TOKEN: require that bearer token; without one, it listens on "
        "loopback only.",
    ),
    "retention": LazyCommand(
        "worker.cli.retention:retention",
        "The delivery log, documents and stored archives older than the retention (per "
        "project: projects set --retention; default 30 days). A schedule runs it daily "
        "(hookflow-retention).",
    ),
    "receive": LazyCommand(
        "worker.cli.receive:receive",
        "Listen on 127.0.0.1:PORT, answer every POST with STATUS and print one line per "
        "request (event, sequence, webhook-id, signed or not). Ctrl-C stops.",
    ),
}
"""Every command, imported when it runs (see ``worker/cli/lazy.py``)."""


@click.group(cls=LazyGroup, lazy=COMMANDS, context_settings={"help_option_names": ["-h", "--help"]})
@click.option(
    "--data-dir",
    type=click.Path(file_okay=False),
    help="State directory (default .hookflow, or HOOKFLOW_DATA_DIR).",
)
@click.pass_context
def cli(ctx: click.Context, data_dir: str | None) -> None:
    """hookflow: durable outbound webhooks on Temporal."""
    ctx.obj = AppContext(data_dir=data_dir)


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
    except KeyboardInterrupt:
        sys.exit(130)
    except Exception as err:
        message = _one_line(err)
        if message is None:
            raise
        _fail(message)


def _one_line(err: Exception) -> str | None:
    """The one line an error the user can act on is shown as; None for a bug.

    pydantic and SQLAlchemy are only looked at when a command imported them."""
    pydantic = sys.modules.get("pydantic")
    if pydantic is not None and isinstance(err, pydantic.ValidationError):
        from worker.runtime.messages import describe_validation

        return describe_validation(err)
    if isinstance(err, _ONE_LINE_ERRORS):
        return str(err)
    sqlalchemy_exc = sys.modules.get("sqlalchemy.exc")
    if sqlalchemy_exc is not None and isinstance(err, sqlalchemy_exc.SQLAlchemyError):
        return f"database error: {' '.join(str(err.__cause__ or err).split())[:200]}"
    return None


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
