"""``hookflow documents``: put files in the document store; signals name them by reference."""

from __future__ import annotations

import json
import mimetypes
from pathlib import Path

import click

from activities.files.documents import LocalDocumentStore
from worker.cli.context import AppContext, pass_app
from worker.cli.output import CommandError
from worker.devstack.stack import require_data_dir


@click.group()
def documents() -> None:
    """The document store: signed PDFs and attachments travel as references."""


@documents.command("put")
@click.argument("file", type=click.Path(dir_okay=False, path_type=Path))
@click.option(
    "--content-type",
    help="Media type [default: from the file's extension, application/octet-stream if unknown].",
)
@click.option("--json", "as_json", is_flag=True, help="Print the file entry for a signal.")
@pass_app
def put(app: AppContext, file: Path, content_type: str | None, as_json: bool) -> None:
    """Store FILE and print its reference."""
    content_type = content_type or content_type_of(file)
    settings = app.settings
    if settings.documents_dir is None:
        require_data_dir(settings.data_dir, given=settings.data_dir_given)
    store = LocalDocumentStore(settings.documents)
    try:
        with file.open("rb") as stream:
            ref = store.put(stream)
    except OSError as err:
        raise CommandError(f"cannot read {file}: {err.strerror}") from None
    if as_json:
        click.echo(json.dumps({"name": file.name, "content_type": content_type, "ref": ref}))
    else:
        click.echo(ref)


def content_type_of(file: Path) -> str:
    """The media type a file's extension names (``contract.pdf``: application/pdf)."""
    guessed, _encoding = mimetypes.guess_type(file.name, strict=False)
    return guessed or "application/octet-stream"
