"""Schedules the worker's commands make sure of: the daily retention."""

from __future__ import annotations

from datetime import timedelta

from temporalio.client import (
    Client,
    Schedule,
    ScheduleActionStartWorkflow,
    ScheduleAlreadyRunningError,
    ScheduleIntervalSpec,
    ScheduleOverlapPolicy,
    SchedulePolicy,
    ScheduleSpec,
)

from activities.contracts.retention import RetentionInput
from workflows.retention import RETENTION_WORKFLOW, SCHEDULE_ID, WORKFLOW_ID

RETENTION_EVERY = timedelta(days=1)
# At 03:17 UTC: away from the hour, when most traffic is elsewhere.
RETENTION_OFFSET = timedelta(hours=3, minutes=17)


def retention_schedule(task_queue: str) -> Schedule:
    return Schedule(
        action=ScheduleActionStartWorkflow(
            RETENTION_WORKFLOW,
            RetentionInput(),
            id=WORKFLOW_ID,
            task_queue=task_queue,
        ),
        spec=ScheduleSpec(
            intervals=[ScheduleIntervalSpec(every=RETENTION_EVERY, offset=RETENTION_OFFSET)]
        ),
        # A run still going when the next is due: the next is skipped.
        policy=SchedulePolicy(overlap=ScheduleOverlapPolicy.SKIP),
    )


async def ensure_retention_schedule(client: Client, *, task_queue: str) -> bool:
    """Create the ``hookflow-retention`` schedule unless it exists; True when created."""
    try:
        await client.create_schedule(SCHEDULE_ID, retention_schedule(task_queue))
    except ScheduleAlreadyRunningError:
        return False
    return True
