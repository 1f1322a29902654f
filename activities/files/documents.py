"""The document store: files travel as references, never through workflow history.

Documents belong to a project. The embedded default is a folder per project
(``<root>/projects/<project>/<sha256>``): the reference is the SHA-256 of the
bytes, and it names a document of the project that asks only; another
project's reference reads as one that does not exist. Uploads are bounded (a
size per document, a quota per project) and can be deleted.

Documents stored before they belonged to a project (``<root>/<sha256>``) go to
the first project that names one (a signal, an archive, ``documents delete``),
and are that project's from then on; ``hookflow documents adopt --project P``
gives every one left to one project at once.

``DocumentStore`` is the interface an S3-compatible store would implement.
"""

from __future__ import annotations

import base64
import hashlib
import os
import re
import tempfile
import threading
from pathlib import Path
from typing import Any, BinaryIO, Protocol

from activities.contracts import FileRef
from activities.contracts.limits import size_text
from activities.errors import DocumentNotFound, TooLarge
from activities.files.private import private_dir

REF_PREFIX = "sha256:"
_REF = re.compile(r"^sha256:[0-9a-f]{64}$")
_DIGEST = re.compile(r"^[0-9a-f]{64}$")
_PROJECT = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_.-]{0,63}$")
CHUNK = 1 << 20


class DocumentStore(Protocol):
    def put(
        self, stream: BinaryIO, *, project: str, limit: int | None = None, quota: int | None = None
    ) -> str:
        """Store the bytes for ``project``; return their reference. TooLarge above
        ``limit`` bytes, or when the project's documents would pass ``quota``."""

    def read(self, ref: str, *, project: str) -> bytes:
        """The bytes of a reference of ``project``; DocumentNotFound when there are none."""

    def exists(self, ref: str, *, project: str) -> bool:
        """Whether ``project`` has a document by that reference."""

    def size(self, ref: str, *, project: str) -> int:
        """Bytes of ``project``'s document; DocumentNotFound when it has none."""

    def delete(self, ref: str, *, project: str) -> None:
        """Delete ``project``'s document; DocumentNotFound when it has none."""


def check_ref(ref: str) -> str:
    """The hex digest of a well-formed reference; DocumentNotFound otherwise."""
    if not _REF.match(ref):
        raise DocumentNotFound(f"not a document reference: {ref[:80]!r}")
    return ref.removeprefix(REF_PREFIX)


class LocalDocumentStore:
    """Documents in a private folder (0700, files 0600), one folder per project,
    named by their SHA-256 (the same file is stored once per project)."""

    def __init__(self, root: Path) -> None:
        self.root = root
        self._lock = threading.Lock()  # a quota check and its write, one at a time

    def project_dir(self, project: str) -> Path:
        if not _PROJECT.match(project):
            raise DocumentNotFound(f"no project {project[:80]!r}")
        return self.root / "projects" / project

    def put(
        self, stream: BinaryIO, *, project: str, limit: int | None = None, quota: int | None = None
    ) -> str:
        folder = self.project_dir(project)
        private_dir(self.root)
        private_dir(folder.parent)
        private_dir(folder)
        digest = hashlib.sha256()
        size = 0
        # mkstemp makes the file 0600, and os.replace keeps that mode.
        fd, tmp = tempfile.mkstemp(dir=self.root, prefix=".incoming-")
        try:
            with os.fdopen(fd, "wb") as out:
                while chunk := stream.read(CHUNK):
                    size += len(chunk)
                    if limit is not None and size > limit:
                        raise TooLarge(f"a document is at most {size_text(limit)}")
                    digest.update(chunk)
                    out.write(chunk)
            target = folder / digest.hexdigest()
            with self._lock:
                if quota is not None and not target.exists():
                    used = self.usage(project)
                    if used + size > quota:
                        raise TooLarge(
                            f"project {project!r} is over its document quota "
                            f"({size_text(quota)}; {used} bytes used): delete documents first"
                        )
                os.replace(tmp, target)
        except BaseException:
            Path(tmp).unlink(missing_ok=True)
            raise
        return REF_PREFIX + digest.hexdigest()

    def read(self, ref: str, *, project: str) -> bytes:
        path = self._locate(ref, project)
        try:
            return path.read_bytes()
        except FileNotFoundError:
            raise DocumentNotFound(f"no document {ref}") from None

    def exists(self, ref: str, *, project: str) -> bool:
        try:
            return self._locate(ref, project).is_file()
        except DocumentNotFound:
            return False

    def size(self, ref: str, *, project: str) -> int:
        try:
            return self._locate(ref, project).stat().st_size
        except FileNotFoundError:
            raise DocumentNotFound(f"no document {ref}") from None

    def delete(self, ref: str, *, project: str) -> None:
        try:
            self._locate(ref, project).unlink()
        except FileNotFoundError:
            raise DocumentNotFound(f"no document {ref}") from None

    def usage(self, project: str) -> int:
        """Bytes of the project's documents together."""
        try:
            entries = list(os.scandir(self.project_dir(project)))
        except FileNotFoundError:
            return 0
        return sum(e.stat().st_size for e in entries if e.is_file() and _DIGEST.match(e.name))

    def unowned(self) -> list[str]:
        """References stored before documents belonged to a project."""
        if not self.root.is_dir():
            return []
        return sorted(
            REF_PREFIX + e.name
            for e in os.scandir(self.root)
            if e.is_file() and _DIGEST.match(e.name)
        )

    def adopt(self, ref: str, *, project: str) -> bool:
        """Give an unowned document to ``project``; False when there is none."""
        digest = check_ref(ref)
        folder = self.project_dir(project)
        private_dir(folder.parent)
        private_dir(folder)
        try:
            os.replace(self.root / digest, folder / digest)
        except FileNotFoundError:
            return False
        return True

    def _locate(self, ref: str, project: str) -> Path:
        """The project's file for ``ref`` (it may not exist). An unowned document
        of that name becomes the project's now: the first to name it has it."""
        digest = check_ref(ref)
        path = self.project_dir(project) / digest
        if not path.exists() and (self.root / digest).is_file():
            self.adopt(ref, project=project)
        return path


def file_ref(value: Any) -> FileRef:
    try:
        return FileRef.model_validate(value)
    except ValueError:
        raise DocumentNotFound("the archive names a file without a valid reference") from None


def embed(store: DocumentStore, file: FileRef, *, project: str) -> dict[str, Any]:
    """A file as the archive carries it: name, type, size, sha256, base64 content."""
    data = store.read(file.ref, project=project)
    return {
        "name": file.name,
        "content_type": file.content_type,
        "size": len(data),
        "sha256": hashlib.sha256(data).hexdigest(),
        "content": base64.b64encode(data).decode(),
    }


def embed_files(store: DocumentStore, body: dict[str, Any], project: str) -> dict[str, Any]:
    """The archive body with each file's content in place of its reference;
    a file of another project is not found, and the archive is not sent.

    Only the top level carries content: ``sessions[i]`` name their files by
    reference, so every file is sent once.
    """
    out = dict(body)
    if body.get("document"):
        out["document"] = embed(store, file_ref(body["document"]), project=project)
    if body.get("attachments"):
        files = body["attachments"]
        out["attachments"] = [embed(store, file_ref(f), project=project) for f in files]
    return out


def named_refs(payload: dict[str, Any]) -> list[str]:
    """The document references a signal's payload names (``document``, ``attachments``)."""
    refs = []
    document = payload.get("document")
    if isinstance(document, dict) and isinstance(document.get("ref"), str):
        refs.append(document["ref"])
    for entry in payload.get("attachments") or []:
        if isinstance(entry, dict) and isinstance(entry.get("ref"), str):
            refs.append(entry["ref"])
    return refs
