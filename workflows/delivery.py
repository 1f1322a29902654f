"""One delivery as workflows schedule it: the activity with its policy and summary."""

from __future__ import annotations

from temporalio import workflow
from temporalio.exceptions import ActivityError, ApplicationError

with workflow.unsafe.imports_passed_through():
    from activities.contracts import (
        DeliverInput,
        DeliveryRecord,
        DeliveryResult,
        DeliveryStatus,
        Envelope,
        FailoverInput,
        FailureType,
        StoredFiles,
        StoreInput,
        WebhookTarget,
    )
    from activities.delivery.activity import DeliveryActivities
    from activities.files.storage import StorageActivities
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


def one_line(err: BaseException) -> str:
    """An error as one short line, for records, problems and the UI."""
    return " ".join(str(err).split())[:300]


async def settle_failure(
    *,
    project: str,
    target: WebhookTarget,
    envelope: Envelope,
    record: DeliveryRecord,
    err: ActivityError,
) -> str | None:
    """Record why a delivery failed; an exhausted one goes to the webhook's failover
    URL. Returns the failure type (``FailureType``) when the caller should alert."""
    cause = err.cause
    kind = cause.type if isinstance(cause, ApplicationError) else None
    error = one_line(cause or err)
    if kind == FailureType.UNAVAILABLE:
        record.status, record.error = DeliveryStatus.SKIPPED, error
        return None
    took_over = kind == FailureType.EXHAUSTED and await _failover(
        project=project, target=target, envelope=envelope
    )
    if kind == FailureType.EXHAUSTED:
        record.attempts = len(target.retry_schedule)
    record.status = DeliveryStatus.FAILED
    record.error = error + ("; sent to the failover URL" if took_over else "")
    if took_over:
        return None
    workflow.logger.warning(
        "ALERT delivery failed: %s -> %s: %s", record.event_type, target.alias, record.error
    )
    return kind or "failed"


async def _failover(*, project: str, target: WebhookTarget, envelope: Envelope) -> bool:
    try:
        return await workflow.execute_activity_method(
            DeliveryActivities.failover,
            FailoverInput(webhook_id=target.id, project=project, envelope=envelope),
            start_to_close_timeout=policies.FAILOVER.start_to_close,
            retry_policy=policies.FAILOVER.retry,
            summary=f"failover of {envelope.event.type} -> {target.alias}",
        )
    except ActivityError:
        return False


async def store_files(
    *, project: str, template: str | None, envelope: Envelope
) -> StoredFiles | None:
    """Write an archive's files with the project's storage integration (None: not configured)."""
    return await workflow.execute_activity_method(
        StorageActivities.store_files,
        StoreInput(project=project, template=template, envelope=envelope),
        start_to_close_timeout=policies.STORAGE.start_to_close,
        schedule_to_close_timeout=policies.STORAGE.schedule_to_close,
        retry_policy=policies.STORAGE.retry,
        summary=f"store files of {envelope.session.id}",
    )
