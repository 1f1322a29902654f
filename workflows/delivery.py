"""One delivery as workflows schedule it: the activity with its policy and summary."""

from __future__ import annotations

from temporalio import workflow

with workflow.unsafe.imports_passed_through():
    from activities.contracts import DeliverInput, DeliveryResult, Envelope, WebhookTarget
    from activities.delivery import DeliveryActivities
    from workflows import policies


async def deliver(
    *, project: str, target: WebhookTarget, envelope: Envelope, remote: bool = False
) -> DeliveryResult:
    """Send ``envelope`` to ``target``; raises ActivityError when it fails for good.

    ``remote``: a synchronous remote-data call, with a short deadline and few attempts.
    """
    policy = policies.remote_data(target) if remote else policies.delivery(target)
    return await workflow.execute_activity_method(
        DeliveryActivities.deliver,
        DeliverInput(
            webhook_id=target.id,
            project=project,
            envelope=envelope,
            retry_schedule=policies.REMOTE_DATA_SCHEDULE if remote else target.retry_schedule,
            timeout=policy.start_to_close.total_seconds() - 0.5 if remote else None,
        ),
        start_to_close_timeout=policy.start_to_close,
        schedule_to_close_timeout=policy.schedule_to_close,
        retry_policy=policy.retry,
        summary=f"{envelope.event.type} -> {target.alias} ({target.host})",
    )
