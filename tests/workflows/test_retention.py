"""The Retention workflow on a worker, and the daily schedule that starts it."""

from __future__ import annotations

import uuid
from datetime import timedelta

from sqlalchemy.engine import Engine
from temporalio.client import Client, ScheduleActionStartWorkflow
from temporalio.worker import Worker

from activities.catalog import SUBMITTED
from activities.contracts.retention import RetentionInput, RetentionResult
from tests.activities.test_retention import _left, _rows
from tests.helpers import eventually, start
from worker.runtime.schedules import ensure_retention_schedule
from worker.runtime.settings import Settings
from workflows.retention import RETENTION_WORKFLOW, SCHEDULE_ID

DAY = timedelta(days=1)


async def test_the_schedule_is_created_once_and_starts_retention(
    client: Client, settings: Settings
) -> None:
    handle = client.get_schedule_handle(SCHEDULE_ID)
    try:
        await handle.delete()
    except Exception:  # none yet
        pass
    try:
        assert await ensure_retention_schedule(client, task_queue=settings.task_queue)
        assert not await ensure_retention_schedule(client, task_queue=settings.task_queue)
        described = await handle.describe()
        action = described.schedule.action
        assert isinstance(action, ScheduleActionStartWorkflow)
        assert action.workflow == RETENTION_WORKFLOW
        assert action.task_queue == settings.task_queue
        [interval] = described.schedule.spec.intervals
        assert interval.every == DAY
        listed = [s.id async for s in await client.list_schedules()]
        assert SCHEDULE_ID in listed
    finally:
        await handle.delete()


async def test_retention_runs_on_the_worker_and_keeps_a_running_sessions_files(
    client: Client, worker: Worker, settings: Settings, engine: Engine
) -> None:
    old = _rows(engine, project="acme", count=30, age=40 * DAY)
    session = await start(client, settings)
    session_id = session.id.rpartition(":")[2]
    named = _rows(
        engine, project="acme", count=1, age=40 * DAY, event_type=SUBMITTED, session_id=session_id
    )

    async def listed() -> bool:  # visibility is eventually consistent
        return bool([w async for w in client.list_workflows(f"WorkflowId = '{session.id}'")])

    await eventually(listed, bool)
    result = await client.execute_workflow(
        RETENTION_WORKFLOW,
        RetentionInput(),
        id=f"retention-{uuid.uuid4().hex[:8]}",
        task_queue=settings.task_queue,
        result_type=RetentionResult,
    )
    assert result.deliveries == 30 and result.attempts == 60 and result.kept_open == 1
    assert _left(engine, old) == (0, 0)
    assert _left(engine, named) == (1, 2)
    await session.terminate()
