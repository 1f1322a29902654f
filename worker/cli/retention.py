"""``hookflow retention``: what the daily retention deletes, shown or done now."""

from __future__ import annotations

import asyncio
import logging

import click
from pydantic import TypeAdapter, ValidationError

from activities.contracts import Slug
from activities.contracts.retention import RetentionInput, RetentionResult
from activities.delivery.retry import parse_duration
from activities.log.open_sessions import OpenSessions, running_sessions
from activities.log.retention import Retention
from worker.cli.context import AppContext, connector, pass_app
from worker.cli.output import CommandError, print_fields, print_json

_OPTIONS = (
    click.option("--project", help="One project only (default: every project)."),
    click.option(
        "--older-than",
        metavar="DURATION",
        help="In place of each project's retention, e.g. 90d (at least 1h).",
    ),
    click.option("--json", "as_json", is_flag=True),
)


def _options(command: click.Command) -> click.Command:
    for option in reversed(_OPTIONS):
        command = option(command)
    return command


@click.group()
def retention() -> None:
    """The delivery log, documents and stored archives older than the retention
    (per project: projects set --retention; default 30 days). A schedule runs it
    daily (hookflow-retention)."""


def _command(name: str, summary: str, *, dry_run: bool, verb: str) -> None:
    """``retention show`` and ``retention run``: the same work, done or only counted."""

    @retention.command(name, help=summary)
    @_options  # type: ignore[arg-type]
    @pass_app
    def command(
        app: AppContext, project: str | None, older_than: str | None, as_json: bool
    ) -> None:
        result, note = _apply(app, _request(project, older_than, dry_run=dry_run))
        _print(result, as_json=as_json, verb=verb, note=note)


_command("show", "Count what would be deleted now; deletes nothing.", dry_run=True, verb="would go")
_command(
    "run",
    "Delete what is older than the retention now, and print what went.",
    dry_run=False,
    verb="deleted",
)


def _request(project: str | None, older_than: str | None, *, dry_run: bool) -> RetentionInput:
    if project is not None:
        try:
            TypeAdapter(Slug).validate_python(project)
        except ValidationError:
            raise CommandError(f"--project: invalid project name {project!r}") from None
    seconds = None
    if older_than is not None:
        try:
            seconds = parse_duration(older_than.strip().lower())
        except ValueError as err:
            raise CommandError(f"--older-than: {err}") from None
        if seconds < 3600:
            raise CommandError("--older-than: at least 1h")
    return RetentionInput(project=project, older_than=seconds, dry_run=dry_run)


_UNKNOWN = "Temporal not reachable: deliveries that carry files are kept (their session may run)"


def _apply(app: AppContext, req: RetentionInput) -> tuple[RetentionResult, str | None]:
    engine, box = app.store()
    settings = app.settings
    work = Retention(engine=engine, box=box, documents=settings.documents, storage=settings.storage)
    notes: list[str] = []

    async def lookup() -> OpenSessions | None:
        try:
            return await running_sessions(await connector(settings)())
        except Exception:  # no Temporal, no codec key: the safe side is to keep them
            notes.append(_UNKNOWN)
            return None

    # The Temporal client's own warnings while it tries are not the user's concern.
    logging.getLogger("temporalio").setLevel(logging.ERROR)
    result = asyncio.run(work.run(req, open_sessions=lookup))
    return result, (notes[0] if notes else None)


def _print(result: RetentionResult, *, as_json: bool, verb: str, note: str | None) -> None:
    if as_json:
        print_json({**result.model_dump(), "note": note})
        return
    fields: list[tuple[str, object]] = [
        (f"deliveries {verb}", result.deliveries),
        (f"attempts {verb}", result.attempts),
        (f"documents {verb}", result.documents),
        (f"archive files {verb}", result.archives),
    ]
    if result.kept_open:
        fields.append(("kept (files of a running session)", result.kept_open))
    fields += [(f"  {project}", count) for project, count in sorted(result.projects.items())]
    print_fields(fields)
    if note:
        click.echo(note, err=True)
