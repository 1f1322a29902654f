"""``hookflow storage``: the built-in storage integration of a project."""

from __future__ import annotations

import click
from pydantic import ValidationError
from sqlmodel import Session, select

from activities.files.storage import FIELDS, StorageSettings
from activities.store.database import utcnow
from activities.store.tables import Storage
from worker.cli.context import AppContext, pass_app
from worker.cli.output import CommandError, print_list
from worker.runtime.messages import describe_validation


@click.group()
def storage() -> None:
    """Write each archive's files under a relative path (local folder), then call back."""


@storage.command("set")
@click.option("--project", required=True)
@click.option(
    "--path",
    "path",
    required=True,
    help=f"Relative path template; fields: {', '.join('{' + f + '}' for f in FIELDS)}.",
)
@click.option("--zip", "zip_", is_flag=True, help="Write one zip file instead of a folder.")
@click.option("--disable", is_flag=True, help="Keep the configuration but store nothing.")
@pass_app
def set_(app: AppContext, project: str, path: str, zip_: bool, disable: bool) -> None:
    """Configure (or replace) the project's storage."""
    try:
        data = StorageSettings(project=project, path=path, zip=zip_)
    except ValidationError as err:
        raise CommandError(describe_validation(err)) from None
    engine, _box = app.store()
    with Session(engine) as session:
        row = session.get(Storage, project) or Storage(project=project, path=data.path)
        row.path, row.zip, row.enabled, row.updated_at = data.path, data.zip, not disable, utcnow()
        session.add(row)
        session.commit()
    click.echo(
        f"storage of {project}: {app.settings.storage}/{data.path}" + (" (zip)" if zip_ else "")
    )


@storage.command("show")
@click.option("--json", "as_json", is_flag=True)
@pass_app
def show(app: AppContext, as_json: bool) -> None:
    """List the projects' storage configurations."""
    engine, _box = app.store()
    with Session(engine) as session:
        rows = list(session.exec(select(Storage)))
    print_list(
        rows,
        as_json=as_json,
        headers=["PROJECT", "BACKEND", "PATH", "ZIP", "ENABLED"],
        row=lambda r: [
            r.project,
            r.backend,
            r.path,
            "yes" if r.zip else "no",
            "yes" if r.enabled else "no",
        ],
    )


@storage.command("delete")
@click.option("--project", required=True)
@pass_app
def delete(app: AppContext, project: str) -> None:
    """Remove the project's storage configuration."""
    engine, _box = app.store()
    with Session(engine) as session:
        row = session.get(Storage, project)
        if row is None:
            raise CommandError(f"project {project!r} has no storage")
        session.delete(row)
        session.commit()
    click.echo(f"deleted the storage of {project}")
