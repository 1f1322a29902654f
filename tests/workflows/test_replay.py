"""Replay kept histories of real runs: a change that would break running sessions fails here."""

from __future__ import annotations

from pathlib import Path

import pytest
from temporalio.client import WorkflowHistory
from temporalio.worker import Replayer

from worker.runtime.assembly import WORKFLOWS
from worker.runtime.codec import (
    KEY_ID,
    EncryptionCodec,
    KeyRing,
    data_converter,
    encrypted_key_ids,
    payloads_in,
)
from workflows.patches import CODE_MEMO, LEAN_START, LEVEL

HISTORIES = sorted((Path(__file__).parent.parent / "histories").glob("*.json"))


def test_histories_are_kept() -> None:
    assert HISTORIES, "no recorded history under tests/histories"


CODEC = EncryptionCodec(KeyRing((b"replay-tests-codec-key-32-bytes!",)))


@pytest.mark.parametrize("encrypted", [False, True], ids=["as-recorded", "encrypted"])
@pytest.mark.parametrize("path", HISTORIES, ids=lambda p: p.stem)
async def test_replay(path: Path, encrypted: bool) -> None:
    """Histories replay through hookflow's codec: as recorded (unencoded payloads
    pass through) and with every payload encrypted, as a running session has them."""
    history = WorkflowHistory.from_json(path.stem, path.read_text())
    if encrypted:
        for event in history.events:
            marker = event.marker_recorded_event_attributes
            # A patch marker is written by the SDK's core, never through the codec;
            # a local activity's marker has the core's own data beside its result.
            if marker.marker_name == "core_patch":
                continue
            parts = (
                [marker.details["result"]]
                if marker.marker_name == "core_local_activity"
                else [event]
            )
            for payload in (p for part in parts for p in payloads_in(part)):
                payload.CopyFrom(CODEC.encrypt(payload))
        assert encrypted_key_ids(history.events) == {CODEC.ring.active_id}
        started = history.events[0].workflow_execution_started_event_attributes
        assert started.input.payloads[0].metadata[KEY_ID] == CODEC.ring.active_id.encode()
    # The full sandbox (the worker shares the workflow modules between runs):
    # a non-deterministic call in workflow code fails here.
    replayer = Replayer(workflows=WORKFLOWS, data_converter=data_converter(CODEC))
    result = await replayer.replay_workflow(history, raise_on_replay_failure=False)
    assert result.replay_failure is None, result.replay_failure


async def test_a_level_started_session_whose_first_tasks_ran_on_an_older_worker() -> None:
    """An API upgraded before its workers starts a session with its code level in
    the memo; a worker that knew the patch but not the memo records its marker.
    A current worker replays that history: the marker is found again."""
    path = next(p for p in HISTORIES if p.stem == "session-v4")
    history = WorkflowHistory.from_json(path.stem, path.read_text())
    markers = [e.marker_recorded_event_attributes.marker_name for e in history.events]
    assert "core_patch" in markers
    started = history.events[0].workflow_execution_started_event_attributes
    started.memo.fields[CODE_MEMO].CopyFrom(
        data_converter(None).payload_converter.to_payloads([LEVEL[LEAN_START]])[0]
    )
    replayer = Replayer(workflows=WORKFLOWS, data_converter=data_converter(None))
    result = await replayer.replay_workflow(history, raise_on_replay_failure=False)
    assert result.replay_failure is None, result.replay_failure
