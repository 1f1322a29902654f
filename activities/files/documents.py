"""The document store: files travel as references, never through workflow history.

The embedded default is a folder (content-addressed: the reference is the
SHA-256 of the bytes). ``DocumentStore`` is the interface an S3-compatible
store would implement.
"""

from __future__ import annotations

import base64
import hashlib
import os
import re
import tempfile
from pathlib import Path
from typing import Any, BinaryIO, Protocol

from activities.contracts import FileRef
from activities.errors import DocumentNotFound
from activities.files.private import private_dir

REF_PREFIX = "sha256:"
_REF = re.compile(r"^sha256:[0-9a-f]{64}$")
CHUNK = 1 << 20


class DocumentStore(Protocol):
    def put(self, stream: BinaryIO) -> str:
        """Store the bytes; return their reference."""

    def read(self, ref: str) -> bytes:
        """The bytes of a reference; DocumentNotFound when there are none."""


class LocalDocumentStore:
    """Documents in a private folder (0700, files 0600), named by their SHA-256
    (the same file is stored once)."""

    def __init__(self, root: Path) -> None:
        self.root = root

    def put(self, stream: BinaryIO) -> str:
        private_dir(self.root)
        digest = hashlib.sha256()
        # mkstemp makes the file 0600, and os.replace keeps that mode.
        fd, tmp = tempfile.mkstemp(dir=self.root, prefix=".incoming-")
        try:
            with os.fdopen(fd, "wb") as out:
                while chunk := stream.read(CHUNK):
                    digest.update(chunk)
                    out.write(chunk)
            os.replace(tmp, self._path(digest.hexdigest()))
        except BaseException:
            Path(tmp).unlink(missing_ok=True)
            raise
        return REF_PREFIX + digest.hexdigest()

    def read(self, ref: str) -> bytes:
        if not _REF.match(ref):
            raise DocumentNotFound(f"not a document reference: {ref[:80]!r}")
        path = self._path(ref.removeprefix(REF_PREFIX))
        try:
            return path.read_bytes()
        except FileNotFoundError:
            raise DocumentNotFound(f"no document {ref}") from None

    def _path(self, digest: str) -> Path:
        return self.root / digest


def _file(value: Any) -> FileRef:
    try:
        return FileRef.model_validate(value)
    except ValueError:
        raise DocumentNotFound("the archive names a file without a valid reference") from None


def embed(store: DocumentStore, file: FileRef) -> dict[str, Any]:
    """A file as the archive carries it: name, type, size, sha256, base64 content."""
    data = store.read(file.ref)
    return {
        "name": file.name,
        "content_type": file.content_type,
        "size": len(data),
        "sha256": hashlib.sha256(data).hexdigest(),
        "content": base64.b64encode(data).decode(),
    }


def embed_files(store: DocumentStore, body: dict[str, Any]) -> dict[str, Any]:
    """The archive body with each file's content in place of its reference.

    Only the top level carries content: ``sessions[i]`` name their files by
    reference, so every file is sent once.
    """
    out = dict(body)
    if body.get("document"):
        out["document"] = embed(store, _file(body["document"]))
    if body.get("attachments"):
        out["attachments"] = [embed(store, _file(f)) for f in body["attachments"]]
    return out
