"""The workflow sandbox is the operator's choice (HOOKFLOW_WORKFLOW_SANDBOX), and a
session starts with the few commands it needs either way."""

from __future__ import annotations

from pathlib import Path

import pytest
from sqlalchemy.engine import Engine
from temporalio.api.enums.v1 import EventType
from temporalio.client import Client
from temporalio.worker import UnsandboxedWorkflowRunner
from temporalio.worker.workflow_sandbox import SandboxedWorkflowRunner

from activities.errors import SettingsError
from activities.store.crypto import SecretBox
from tests.helpers import add_webhook, start, wait_for_requests
from worker.devstack.receiver import Receiver
from worker.runtime.assembly import running_worker, workflow_runner
from worker.runtime.settings import Settings


def test_the_sandbox_is_chosen_by_the_settings(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    monkeypatch.delenv("HOOKFLOW_WORKFLOW_SANDBOX", raising=False)
    assert isinstance(
        workflow_runner(Settings.from_env(data_dir=tmp_path)), UnsandboxedWorkflowRunner
    )
    monkeypatch.setenv("HOOKFLOW_WORKFLOW_SANDBOX", "on")
    assert isinstance(
        workflow_runner(Settings.from_env(data_dir=tmp_path)), SandboxedWorkflowRunner
    )
    monkeypatch.setenv("HOOKFLOW_WORKFLOW_SANDBOX", "maybe")
    with pytest.raises(SettingsError, match="^HOOKFLOW_WORKFLOW_SANDBOX: 'maybe' is not one of"):
        Settings.from_env(data_dir=tmp_path)


@pytest.mark.parametrize("sandbox", ["off", "on"])
async def test_a_session_starts_lean_with_the_sandbox_on_or_off(
    sandbox: str,
    monkeypatch: pytest.MonkeyPatch,
    client: Client,
    settings: Settings,
    engine: Engine,
    box: SecretBox,
    receiver: Receiver,
) -> None:
    settings = settings.replace(workflow_sandbox=sandbox)
    add_webhook(engine, box, type="session_created", url=receiver.url("/created"))
    add_webhook(engine, box, type="storage_callback", url=receiver.url("/stored"))
    async with running_worker(client, settings, engine=engine, box=box):
        handle = await start(client, settings)
        await wait_for_requests(receiver, 1, "/created")
        await handle.signal("storage_completed", {"storage": {"n": 1}, "event_id": "e1"})
        stored = await wait_for_requests(receiver, 1, "/stored")
        history = await handle.fetch_history()
    assert stored[0].json()["storage"] == {"n": 1}
    first_task = []
    for event in history.events[4:]:  # after the first workflow task completed
        if event.event_type == EventType.EVENT_TYPE_WORKFLOW_EXECUTION_SIGNALED:
            break
        first_task.append(event)
    markers = [e.marker_recorded_event_attributes.marker_name for e in first_task]
    upserts = [
        e for e in first_task if e.HasField("upsert_workflow_search_attributes_event_attributes")
    ]
    # No patch marker (the start's memo names the code level; a marker would come
    # with the SDK's upsert of TemporalChangeVersion), and no upsert at all: the
    # ids and the status were set by the start, not upserted again.
    assert "core_patch" not in markers
    assert "core_local_activity" in markers
    assert upserts == []
