"""Documents in the store are private files; the delivery log reads rows of both eras."""

from __future__ import annotations

import io
import stat
import uuid
from pathlib import Path

from activities.files.documents import REF_PREFIX, LocalDocumentStore
from activities.log.attempts import envelope_of, excerpt_of
from activities.store.crypto import SecretBox
from activities.store.tables import Attempt, Delivery


def mode(path: Path) -> int:
    return stat.S_IMODE(path.stat().st_mode)


def test_documents_are_private_even_in_a_folder_made_before(tmp_path: Path) -> None:
    root = tmp_path / "documents"
    root.mkdir(mode=0o755)
    root.chmod(0o755)
    store = LocalDocumentStore(root)
    ref = store.put(io.BytesIO(b"%PDF personal"), project="acme")
    assert mode(root) == 0o700
    assert mode(root / "projects" / "acme" / ref.removeprefix(REF_PREFIX)) == 0o600
    assert store.read(ref, project="acme") == b"%PDF personal"
    fresh = LocalDocumentStore(tmp_path / "new" / "documents")
    fresh.put(io.BytesIO(b"x"), project="acme")
    assert mode(tmp_path / "new" / "documents") == 0o700


def test_log_rows_written_before_encryption_read_as_they_are() -> None:
    box = SecretBox("k")
    plain = Delivery(
        id="d",
        project="acme",
        session_id="s",
        webhook_id=uuid.uuid4(),
        event_id="evt",
        event_type="T",
        sequence=1,
        envelope={"event": {"id": "evt"}},
    )
    assert envelope_of(plain, box=box) == {"event": {"id": "evt"}}
    attempt = Attempt(
        delivery_id="d", attempt=1, started_at=plain.created_at, latency_ms=1, outcome="delivered"
    )
    assert excerpt_of(attempt, box=box) is None
    attempt.response_excerpt = '{"ok": true}'
    assert excerpt_of(attempt, box=box) == '{"ok": true}'
