"""Embedding an archive's files: content once, at the top level."""

from __future__ import annotations

import base64
import hashlib
import io
from pathlib import Path

import pytest

from activities.errors import DocumentNotFound
from activities.files.documents import LocalDocumentStore, embed_files


def test_top_level_files_are_embedded_and_sessions_keep_references(tmp_path: Path) -> None:
    store = LocalDocumentStore(tmp_path)
    pdf = b"%PDF-1.7 signed"
    ref = store.put(io.BytesIO(pdf), project="acme")
    file = {"name": "contract.pdf", "content_type": "application/pdf", "ref": ref}
    body = {"document": file, "attachments": [file], "sessions": [{"document": file}]}
    out = embed_files(store, body, "acme")
    assert out["document"] == {
        "name": "contract.pdf",
        "content_type": "application/pdf",
        "size": len(pdf),
        "sha256": hashlib.sha256(pdf).hexdigest(),
        "content": base64.b64encode(pdf).decode(),
    }
    assert out["attachments"] == [out["document"]]
    assert out["sessions"] == [{"document": file}]


def test_a_missing_document_is_document_not_found(tmp_path: Path) -> None:
    store = LocalDocumentStore(tmp_path)
    missing = {"name": "x.pdf", "content_type": "application/pdf", "ref": "sha256:" + "0" * 64}
    with pytest.raises(DocumentNotFound):
        embed_files(store, {"document": missing}, "acme")


def test_another_projects_document_is_not_found(tmp_path: Path) -> None:
    store = LocalDocumentStore(tmp_path)
    ref = store.put(io.BytesIO(b"%PDF of acme"), project="acme")
    file = {"name": "x.pdf", "content_type": "application/pdf", "ref": ref}
    with pytest.raises(DocumentNotFound):
        embed_files(store, {"document": file}, "globex")
    assert not store.exists(ref, project="globex")
    assert store.exists(ref, project="acme")
