"""A long session continues as new and keeps its events, sequence and pending deliveries."""

from __future__ import annotations

from collections.abc import AsyncIterator

import pytest
from temporalio.client import WorkflowExecutionStatus
from temporalio.testing import WorkflowEnvironment

from activities.contracts import DeliveryStatus
from activities.store.crypto import SecretBox
from tests.helpers import add_webhook, start, start_dev_env, wait_for_requests, wait_state
from worker.devstack.receiver import Receiver, Reply
from worker.runtime.assembly import running_worker
from worker.runtime.settings import Settings
from workflows.patches import START_MEMO


@pytest.fixture
async def small_history_env() -> AsyncIterator[WorkflowEnvironment]:
    """A dev server that suggests continue-as-new after 60 history events."""
    env = await start_dev_env(
        "--dynamic-config-value", "limit.historyCount.suggestContinueAsNew=60"
    )
    yield env
    await env.shutdown()


async def test_long_session_continues_as_new_without_losing_anything(
    small_history_env: WorkflowEnvironment,
    settings: Settings,
    engine,
    box: SecretBox,
    receiver: Receiver,
) -> None:
    client = small_history_env.client
    add_webhook(engine, box, alias="dw", type="storage_callback", url=receiver.url("/dw"))
    add_webhook(
        engine,
        box,
        alias="slow",
        type="storage_callback",
        url=receiver.url("/slow"),
        retry_schedule=[0, 0.5, 0.5],
    )
    receiver.script("/slow", *[Reply(status=500)] * 2)
    async with running_worker(client, settings, engine=engine, box=box):
        handle = await start(client, settings)
        for n in range(40):
            await handle.signal("storage_completed", {"storage": {"n": n}, "event_id": f"e{n}"})
        await handle.signal("storage_completed", {"storage": {"n": 0}, "event_id": "e0"})
        fast = await wait_for_requests(receiver, 40, "/dw", timeout=60)
        await wait_state(
            handle,
            lambda s: (
                len(s.deliveries) == 80
                and all(d.status == DeliveryStatus.DELIVERED for d in s.deliveries)
            ),
            timeout=60,
        )
        state = await wait_state(handle, lambda s: s.sequence == 41)
        runs = [e async for e in client.list_workflows(f"WorkflowId = '{handle.id}'")]
    assert [r.json()["storage"]["n"] for r in fast] == list(range(40))
    assert [r.json()["event"]["sequence"] for r in fast] == list(range(2, 42))
    slow = [r.json()["storage"]["n"] for r in receiver.at("/slow")]
    assert sorted(set(slow)) == list(range(40))
    assert [e.sequence for e in state.events] == list(range(1, 42))
    assert len(runs) >= 2, "the session never continued as new"
    assert sum(r.status == WorkflowExecutionStatus.CONTINUED_AS_NEW for r in runs) >= 1
    # Every run carries the code level it started at, so none asks for a patch.
    for run in runs:
        assert await run.memo() == START_MEMO
        history = await client.get_workflow_handle(handle.id, run_id=run.run_id).fetch_history()
        markers = [e.marker_recorded_event_attributes.marker_name for e in history.events]
        assert "core_patch" not in markers
