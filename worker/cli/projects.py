"""``hookflow projects``: settings of a project as a whole."""

from __future__ import annotations

import click
from pydantic import TypeAdapter, ValidationError
from sqlmodel import Session

from activities.contracts import Slug
from activities.delivery.health import describe_duration
from activities.delivery.retry import parse_duration
from activities.store.health import (
    disable_after,
    parse_retention,
    parse_share,
    project_settings,
    retention,
    set_disable_after,
    set_retention,
    set_share,
)
from worker.cli.context import AppContext, pass_app
from worker.cli.output import CommandError, print_fields, print_json

_NEVER = ("never", "off", "0")


@click.group()
def projects() -> None:
    """Settings that apply to every webhook of a project."""


@projects.command("show")
@click.option("--project", required=True)
@click.option("--json", "as_json", is_flag=True)
@pass_app
def show(app: AppContext, project: str, as_json: bool) -> None:
    """Show a project's settings (defaults where none is set)."""
    engine, _box = app.store()
    with Session(engine) as session:
        _print(session, project, as_json, app.settings.project_share)


@projects.command("set")
@click.option("--project", required=True)
@click.option(
    "--disable-after",
    metavar="DURATION|never|default",
    help="Disable a webhook that failed every attempt this long (e.g. 5d, 12h).",
)
@click.option(
    "--retention",
    "retention_",
    metavar="DURATION|default",
    help="Keep the delivery log, documents and stored archives this long (e.g. 30d).",
)
@click.option(
    "--share",
    metavar="FRACTION|default",
    help="Of a worker's attempt places, what the project may hold while others want some "
    "(above 0, at most 1; default: HOOKFLOW_PROJECT_SHARE).",
)
@click.option("--json", "as_json", is_flag=True)
@pass_app
def set_(
    app: AppContext,
    project: str,
    disable_after: str | None,
    retention_: str | None,
    share: str | None,
    as_json: bool,
) -> None:
    """Change a project's settings."""
    _check_project(project)
    if disable_after is None and retention_ is None and share is None:
        raise CommandError("nothing to set: give --disable-after, --retention or --share")
    seconds = None if disable_after is None else _parse_disable_after(disable_after)
    keep = None if retention_ is None else _parse_retention(retention_)
    fraction = None if share is None else _parse_share(share)
    engine, _box = app.store()
    with Session(engine) as session:
        if disable_after is not None:
            set_disable_after(session=session, project=project, seconds=seconds)
        if retention_ is not None:
            set_retention(session=session, project=project, seconds=keep)
        if share is not None:
            set_share(session=session, project=project, share=fraction)
        _print(session, project, as_json, app.settings.project_share)


def _parse_share(text: str) -> float | None:
    try:
        return parse_share(text)
    except ValueError as err:
        raise CommandError(f"--share: {err}") from None


def _parse_retention(text: str) -> float | None:
    try:
        return parse_retention(text)
    except ValueError as err:
        raise CommandError(f"--retention: {err}") from None


def _parse_disable_after(text: str) -> float | None:
    value = text.strip().lower()
    if value == "default":
        return None
    if value in _NEVER:
        return 0.0
    try:
        seconds = parse_duration(value)
    except ValueError as err:
        raise CommandError(f"--disable-after: {err}, 'never' or 'default'") from None
    if not 60 <= seconds <= 365 * 86400:
        raise CommandError("--disable-after: between 1m and 365d, 'never' or 'default'")
    return seconds


def _check_project(project: str) -> None:
    try:
        TypeAdapter(Slug).validate_python(project)
    except ValidationError:
        raise CommandError(f"--project: invalid project name {project!r}") from None


def _print(session: Session, project: str, as_json: bool, default_share: float) -> None:
    row = project_settings(session=session, project=project)
    share = default_share if row.share is None else row.share
    seconds = disable_after(session=session, project=project)
    keep = retention(session=session, project=project)
    if as_json:
        print_json(
            {
                "project": project,
                "disable_after": seconds,
                "disable_after_default": row.disable_after is None,
                "retention": keep,
                "retention_default": row.retention is None,
                "share": share,
                "share_default": row.share is None,
            }
        )
        return
    shown = "never" if seconds is None else describe_duration(seconds)
    if row.disable_after is None:
        shown += " (default)"
    kept = describe_duration(keep) + (" (default)" if row.retention is None else "")
    portion = f"{share:g}" + (" (default)" if row.share is None else "")
    print_fields(
        [
            ("project", project),
            ("disable after", shown),
            ("retention", kept),
            ("share", portion),
        ]
    )
