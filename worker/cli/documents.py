"""``hookflow documents``: put files in a project's document store, delete them;
signals name them by reference."""

from __future__ import annotations

import json
import mimetypes
from pathlib import Path

import click

from activities.errors import DocumentNotFound
from activities.files.documents import LocalDocumentStore
from worker.cli.context import AppContext, pass_app
from worker.cli.output import CommandError
from worker.devstack.stack import require_data_dir


@click.group()
def documents() -> None:
    """The document store: signed PDFs and attachments travel as references,
    each document of one project."""


def _store(app: AppContext) -> LocalDocumentStore:
    settings = app.settings
    if settings.documents_dir is None:
        require_data_dir(settings.data_dir, given=settings.data_dir_given)
    return LocalDocumentStore(settings.documents)


@documents.command("put")
@click.argument("file", type=click.Path(dir_okay=False, path_type=Path))
@click.option("--project", required=True, help="The project the document belongs to.")
@click.option(
    "--content-type",
    help="Media type [default: from the file's extension, application/octet-stream if unknown].",
)
@click.option("--json", "as_json", is_flag=True, help="Print the file entry for a signal.")
@pass_app
def put(app: AppContext, file: Path, project: str, content_type: str | None, as_json: bool) -> None:
    """Store FILE for PROJECT and print its reference (HOOKFLOW_MAX_UPLOAD_SIZE and
    HOOKFLOW_DOCUMENT_QUOTA apply)."""
    content_type = content_type or content_type_of(file)
    store = _store(app)
    settings = app.settings
    try:
        with file.open("rb") as stream:
            ref = store.put(
                stream,
                project=project,
                limit=settings.max_upload_bytes,
                quota=settings.document_quota_bytes,
            )
    except OSError as err:
        raise CommandError(f"cannot read {file}: {err.strerror}") from None
    if as_json:
        click.echo(json.dumps({"name": file.name, "content_type": content_type, "ref": ref}))
    else:
        click.echo(ref)


@documents.command("delete")
@click.argument("ref")
@click.option("--project", required=True, help="The project the document belongs to.")
@pass_app
def delete(app: AppContext, ref: str, project: str) -> None:
    """Delete the project's document REF (sha256:...)."""
    try:
        _store(app).delete(ref, project=project)
    except DocumentNotFound as err:
        raise CommandError(str(err)) from None
    click.echo(f"deleted {ref}")


@documents.command("adopt")
@click.option("--project", required=True, help="The project that gets them.")
@pass_app
def adopt(app: AppContext, project: str) -> None:
    """Give every document stored before documents belonged to a project to PROJECT
    (otherwise the first project to name one gets it)."""
    store = _store(app)
    moved = [ref for ref in store.unowned() if store.adopt(ref, project=project)]
    click.echo(f"{len(moved)} document(s) now belong to project {project}")


def content_type_of(file: Path) -> str:
    """The media type a file's extension names (``contract.pdf``: application/pdf)."""
    guessed, _encoding = mimetypes.guess_type(file.name, strict=False)
    return guessed or "application/octet-stream"
