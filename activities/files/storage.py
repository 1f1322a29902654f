"""The built-in storage integration: an archive's files written under a relative path.

Backend ``local`` writes into a folder (``<data dir>/storage`` by default),
optionally as one zip file; FTP/FTPS or Google Drive would be further
backends of the same interface. The path is a template of the session's
fields and always stays inside the storage root.
"""

from __future__ import annotations

import asyncio
import io
import json
import re
import string
import zipfile
from pathlib import Path, PurePosixPath
from typing import Any

from pydantic import BaseModel, field_validator
from sqlalchemy.engine import Engine
from sqlmodel import Session
from temporalio import activity
from temporalio.exceptions import ApplicationError

from activities.contracts import (
    ActivityName,
    Envelope,
    FailureType,
    FileRef,
    StoredFiles,
    StoreInput,
)
from activities.errors import DocumentNotFound
from activities.files.documents import DocumentStore
from activities.files.private import private_dir, write_private
from activities.store.tables import Storage

FIELDS = (
    "project",
    "session_id",
    "process_id",
    "process_number",
    "transaction_number",
    "template",
    "date",
)
_SAFE = re.compile(r"[^A-Za-z0-9_.-]+")


def check_path_template(template: str) -> str:
    try:
        parsed = list(string.Formatter().parse(template))
    except ValueError as err:  # a lone brace
        raise ValueError(f"invalid storage path: {err}") from None
    fields = [(name, spec, conv) for _, name, spec, conv in parsed if name is not None]
    unknown = [name for name, _, _ in fields if name not in FIELDS]
    if unknown:
        raise ValueError(f"unknown path field {{{unknown[0]}}} (fields: {', '.join(FIELDS)})")
    if any(spec or conv for _, spec, conv in fields):
        # {project:>9999999} would pad a path to megabytes: plain fields only.
        raise ValueError("a storage path field takes no format spec or conversion: use {project}")
    path = PurePosixPath(template)
    if path.is_absolute() or ".." in path.parts or not template.strip():
        raise ValueError("the storage path is relative and stays inside the storage folder")
    return template


def project_first(template: str) -> str:
    """The template with ``{project}`` as its first folder: a project's archives
    can never land where another's do, whatever the rest of the path says."""
    head = template.split("/", 1)[0]
    return template if head == "{project}" else f"{{project}}/{template}"


class StorageSettings(BaseModel):
    project: str
    path: str
    zip: bool = False

    @field_validator("path")
    @classmethod
    def _path(cls, value: str) -> str:
        check_path_template(value)
        if value.split("/", 1)[0] != "{project}":
            raise ValueError(
                "the storage path starts with {project}, so that no project writes where "
                f"another does: {project_first(value)!r}"
            )
        return value


class StorageActivities:
    def __init__(self, *, engine: Engine, documents: DocumentStore, root: Path) -> None:
        self._engine = engine
        self._documents = documents
        self._root = root

    @activity.defn(name=ActivityName.STORE_FILES)
    async def store_files(self, req: StoreInput) -> StoredFiles | None:
        """Write the archive's form data and files; None when the project has no storage.

        A missing document or an unusable path will not be different tomorrow:
        it fails at once instead of retrying for a day.
        """
        try:
            return await asyncio.to_thread(self._store, req)
        except (DocumentNotFound, ValueError) as err:
            raise ApplicationError(str(err), type=FailureType.INVALID, non_retryable=True) from None

    def _store(self, req: StoreInput) -> StoredFiles | None:
        with Session(self._engine) as session:
            config = session.get(Storage, req.project)
        if config is None or not config.enabled:
            return None
        # A path stored before {project} came first: the project goes first all the same.
        relative = render_path(project_first(config.path), req)
        files = self._files(req.envelope, req.project)
        target = (self._root / relative).resolve()
        if not target.is_relative_to(self._root.resolve()):
            raise ValueError("the storage path leaves the storage folder")
        private_dir(self._root)
        if config.zip:
            target = target.with_suffix(".zip")
            private_dir(target.parent)
            buffer = io.BytesIO()
            with zipfile.ZipFile(buffer, "w", zipfile.ZIP_DEFLATED) as archive:
                for name, data in files.items():
                    archive.writestr(name, data)
            write_private(target, buffer.getvalue())
            size = len(buffer.getvalue())
        else:
            private_dir(target)
            for name, data in files.items():
                write_private(target / name, data)
            size = sum(len(data) for data in files.values())
        return StoredFiles(
            backend=config.backend,
            path=str(target.relative_to(self._root.resolve())),
            files=sorted(files),
            zipped=config.zip,
            bytes=size,
        )

    def _files(self, envelope: Envelope, project: str) -> dict[str, bytes]:
        files: dict[str, bytes] = {
            "form_data.json": json.dumps(envelope.form_data or {}, indent=2).encode()
        }
        refs: list[FileRef] = list(envelope.attachments or [])
        if envelope.document is not None:
            refs.insert(0, envelope.document)
        for ref in refs:
            name = _SAFE.sub("_", ref.name).strip("._") or "file"
            while name in files:
                name = "_" + name
            files[name] = self._documents.read(ref.ref, project=project)
        return files


def render_path(template: str, req: StoreInput) -> str:
    session = req.envelope.session
    values: dict[str, Any] = {
        "project": req.project,
        "session_id": session.id,
        "process_id": session.process_id,
        "process_number": session.process_number,
        "transaction_number": session.transaction_number,
        "template": req.template or "none",
        "date": req.envelope.event.timestamp.strftime("%Y-%m-%d"),
    }
    rendered = template.format(**{k: _SAFE.sub("_", str(v)) for k, v in values.items()})
    return check_path_template(rendered)
