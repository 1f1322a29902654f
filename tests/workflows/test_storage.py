"""The built-in storage integration: files written after the archive, then the callback."""

from __future__ import annotations

import io
import json
import stat
import zipfile

import pytest
from sqlmodel import Session
from temporalio.client import Client
from temporalio.worker import Worker

from activities.files.documents import LocalDocumentStore
from activities.files.storage import StorageSettings, project_first
from activities.store.crypto import SecretBox
from activities.store.tables import Storage
from tests.helpers import add_webhook, start, wait_for_requests, wait_state
from worker.devstack.receiver import Receiver
from worker.runtime.settings import Settings


def configure(engine, *, path: str, zip_: bool = False) -> None:  # type: ignore[no-untyped-def]
    with Session(engine) as session:
        session.add(Storage(project="acme", path=path, zip=zip_))
        session.commit()


@pytest.mark.parametrize(
    ("zip_", "path"),
    [
        (False, "{project}/{template}/{session_id}"),
        (True, "{project}/{template}/{session_id}"),
        # Stored before {project} had to come first: the project goes first all the same.
        (False, "{template}/{session_id}"),
    ],
)
async def test_archive_files_are_stored_then_called_back(
    client: Client,
    worker: Worker,
    settings: Settings,
    engine,
    box: SecretBox,
    receiver: Receiver,
    zip_: bool,
    path: str,
) -> None:
    configure(engine, path=path, zip_=zip_)
    add_webhook(engine, box, type="storage_callback", url=receiver.url("/stored"))
    ref = LocalDocumentStore(settings.documents).put(io.BytesIO(b"%PDF signed"), project="acme")
    handle = await start(client, settings, template="loan")
    session_id = (await handle.describe()).id.rpartition(":")[2]
    await handle.signal(
        "form_submitted",
        {
            "form_data": {"amount": 25000},
            "document": {
                "name": "../../contract.pdf",
                "content_type": "application/pdf",
                "ref": ref,
            },
        },
    )
    [callback] = await wait_for_requests(receiver, 1, "/stored")
    body = callback.json()
    assert body["event"]["type"] == "WHP_STORAGE_CALLBACK"
    stored = body["storage"]
    expected_path = f"acme/loan/{session_id}" + (".zip" if zip_ else "")
    assert stored == {
        "backend": "local",
        "path": expected_path,
        "files": ["contract.pdf", "form_data.json"],
        "zipped": zip_,
        "bytes": stored["bytes"],
        "status": "stored",
    }
    target = settings.storage / expected_path
    if zip_:
        with zipfile.ZipFile(target) as archive:
            assert archive.read("contract.pdf") == b"%PDF signed"
            assert json.loads(archive.read("form_data.json")) == {"amount": 25000}
    else:
        assert (target / "contract.pdf").read_bytes() == b"%PDF signed"
        assert json.loads((target / "form_data.json").read_text()) == {"amount": 25000}
    # Archived documents are the user's alone.
    for path in [settings.storage, *settings.storage.rglob("*"), *settings.documents.rglob("*")]:
        assert stat.S_IMODE(path.stat().st_mode) == (0o700 if path.is_dir() else 0o600), path


def test_storage_paths_stay_inside_the_folder() -> None:
    for bad in ("/etc/{project}", "../{project}", "{project}/../../x", "{secret}", "{project"):
        with pytest.raises(ValueError):
            StorageSettings(project="acme", path=bad)
    assert StorageSettings(project="acme", path="{project}/{date}").path == "{project}/{date}"


@pytest.mark.parametrize(
    "bad", ["{session_id}", "archives/{session_id}", "{date}/{project}", "{project}{session_id}"]
)
def test_a_storage_path_starts_with_the_project(bad: str) -> None:
    with pytest.raises(ValueError, match="starts with {project}"):
        StorageSettings(project="acme", path=bad)
    assert project_first(bad).startswith("{project}/")
    assert project_first("{project}/{date}") == "{project}/{date}"


@pytest.mark.parametrize(
    "bad",
    [
        "{project:>9999999}",
        "{project!r}",
        "{session_id:x}",
        "{date!s:>40}",
        "{project}/a{project:<9}x",
    ],
)
def test_storage_path_fields_take_no_format_spec(bad: str) -> None:
    with pytest.raises(ValueError, match="no format spec or conversion"):
        StorageSettings(project="acme", path=bad)


async def test_missing_document_fails_storage_at_once(
    client: Client, worker: Worker, settings: Settings, engine, box: SecretBox
) -> None:
    configure(engine, path="{project}/{session_id}")
    handle = await start(client, settings)
    gone = "sha256:" + "1" * 64
    await handle.signal("form_submitted", {"document": {"name": "gone.pdf", "ref": gone}})
    # Without the fix the activity retried for a day and no problem was recorded.
    state = await wait_state(handle, lambda s: any("storage" in p for p in s.problems))
    [problem] = [p for p in state.problems if "storage" in p]
    assert problem == f"storage failed: DeliveryInvalid: no document {gone}"
    history = await handle.fetch_history()
    failures = [
        e.activity_task_failed_event_attributes.failure
        for e in history.events
        if e.HasField("activity_task_failed_event_attributes")
    ]
    assert len(failures) == 1
    assert failures[0].application_failure_info.type == "DeliveryInvalid"
    assert failures[0].application_failure_info.non_retryable
