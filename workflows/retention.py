"""The ``Retention`` workflow: what is older than the retention goes, once a day.

The ``hookflow-retention`` schedule starts it (``hookflow up`` and
``hookflow worker`` create the schedule when it is missing); ``hookflow
retention run`` does the same work at once. The work is one activity that
deletes in batches and heartbeats after each: a worker lost midway costs a
heartbeat timeout, and the next attempt goes on where the deletions stopped.
"""

from __future__ import annotations

from datetime import timedelta

from temporalio import workflow
from temporalio.common import RetryPolicy

with workflow.unsafe.imports_passed_through():
    from activities.contracts import ActivityName
    from activities.contracts.retention import RetentionInput, RetentionResult

RETENTION_WORKFLOW = "Retention"
SCHEDULE_ID = "hookflow-retention"
WORKFLOW_ID = "hookflow-retention"

# A million rows take minutes; a batch takes well under the heartbeat timeout.
START_TO_CLOSE = timedelta(hours=2)
HEARTBEAT = timedelta(minutes=2)
RETRY = RetryPolicy(
    initial_interval=timedelta(seconds=10),
    maximum_interval=timedelta(minutes=10),
    maximum_attempts=10,
)


@workflow.defn(name=RETENTION_WORKFLOW)
class RetentionWorkflow:
    @workflow.run
    async def run(self, req: RetentionInput) -> RetentionResult:
        scope = f"project {req.project}" if req.project else "every project"
        result: RetentionResult = await workflow.execute_activity(
            ActivityName.APPLY_RETENTION,
            req,
            result_type=RetentionResult,
            start_to_close_timeout=START_TO_CLOSE,
            heartbeat_timeout=HEARTBEAT,
            retry_policy=RETRY,
            summary=f"retention of {scope}",
        )
        return result
