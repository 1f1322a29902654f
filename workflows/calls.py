"""Every activity a workflow schedules, by name, with its policy and summary.

Workflows never import the modules that implement activities (httpx,
SQLModel, cryptography stay out of the sandbox): they call them by
``ActivityName`` with contracts in and out.
"""

from __future__ import annotations

from collections.abc import Sequence

from temporalio import workflow
from temporalio.exceptions import ActivityError, ApplicationError

with workflow.unsafe.imports_passed_through():
    from activities.contracts import (
        ActivityName,
        DeliverInput,
        DeliveryMark,
        DeliveryResult,
        Envelope,
        FailoverInput,
        FailureType,
        RecordDeliveries,
        ResolvedWebhooks,
        ResolveWebhooks,
        StoredFiles,
        StoreInput,
        WebhookTarget,
    )
    from workflows import policies


async def deliver(
    *,
    project: str,
    target: WebhookTarget,
    envelopes: Sequence[Envelope],
    remote: bool = False,
    attempt_offset: int = 0,
    local: bool = False,
) -> DeliveryResult:
    """Send ``envelopes`` (one stream's events, in order) to ``target``.

    Raises ActivityError when the first one fails for good; a later one that
    fails ends the batch (``DeliveryResult.stopped``). ``remote``: a synchronous
    remote-data call, with a short deadline and few attempts. ``local``: one
    attempt as a local activity, inside the workflow task (no round trip to
    the server when it succeeds; the caller goes on with the ladder when not).
    """
    first, *following = envelopes
    policy = (
        policies.remote_data(target)
        if remote
        else policies.delivery(target, len(envelopes), attempt_offset)
    )
    req = DeliverInput(
        webhook_id=target.id,
        project=project,
        envelope=first,
        following=following,
        retry_schedule=policies.REMOTE_DATA_SCHEDULE if remote else target.retry_schedule,
        timeout=policies.remote_timeout(target) if remote else None,
        attempt_offset=attempt_offset,
        remote=remote,
        redelivery=target.reason == "redelivery",
    )
    if local:
        local_result: DeliveryResult = await workflow.execute_local_activity(
            ActivityName.DELIVER,
            req,
            result_type=DeliveryResult,
            start_to_close_timeout=policy.start_to_close,
            retry_policy=policies.ONE_ATTEMPT,
            summary=_summary(target, first, following, attempt_offset),
        )
        return local_result
    result: DeliveryResult = await workflow.execute_activity(
        ActivityName.DELIVER,
        req,
        result_type=DeliveryResult,
        start_to_close_timeout=policy.start_to_close,
        schedule_to_close_timeout=policy.schedule_to_close,
        heartbeat_timeout=policy.heartbeat,
        retry_policy=policy.retry,
        summary=_summary(target, first, following, attempt_offset),
    )
    return result


def _summary(
    target: WebhookTarget, first: Envelope, following: Sequence[Envelope], offset: int
) -> str:
    """``WHEF_CLIENT_FORM_SUBMITTED -> crm (crm.example.com)``; after a first
    attempt made elsewhere (a local one, or before a put-off), which steps of
    the ladder this activity's attempts are, as hookflow counts them."""
    events = first.event.type
    if following:
        events += f" #{first.event.sequence} and {len(following)} more"
    steps = len(target.retry_schedule)
    ladder = f", attempts {offset + 1}-{steps} of {steps}" if offset and steps > offset else ""
    return f"{events} -> {target.alias} ({target.host}){ladder}"


async def failover(*, project: str, target: WebhookTarget, envelope: Envelope) -> bool:
    """Send an exhausted delivery to the webhook's failover URL; False when it
    has none or the failover failed too."""
    try:
        took_over: bool = await workflow.execute_activity(
            ActivityName.FAILOVER,
            FailoverInput(webhook_id=target.id, project=project, envelope=envelope),
            result_type=bool,
            start_to_close_timeout=policies.FAILOVER.start_to_close,
            retry_policy=policies.FAILOVER.retry,
            summary=f"failover of {envelope.event.type} -> {target.alias}",
        )
    except ActivityError:
        return False
    return took_over


async def record_deliveries(*, project: str, marks: Sequence[DeliveryMark]) -> None:
    """Transitions the workflow decided (held, released, skipped, failed) into the
    delivery log: a local activity, retried until the database answers."""
    await workflow.execute_local_activity(
        ActivityName.RECORD_DELIVERIES,
        RecordDeliveries(project=project, marks=list(marks)),
        start_to_close_timeout=policies.RECORD.start_to_close,
        retry_policy=policies.RECORD.retry,
        summary=f"log {len(marks)} deliveries: {_counts(marks)}",
    )


def _counts(marks: Sequence[DeliveryMark]) -> str:
    statuses = [str(m.status) for m in marks]
    return ", ".join(f"{statuses.count(s)} {s}" for s in dict.fromkeys(statuses))


async def resolve(
    *,
    project: str,
    template: str | None,
    integrations: list[str],
    summary: str,
    local: bool = False,
) -> ResolvedWebhooks:
    """The webhooks a session or process uses; unusable integrations come back as
    problems. ``local``: as a local activity (one database read, no round trip)."""
    req = ResolveWebhooks.model_validate(
        {"project": project, "template": template, "integrations": integrations}
    )
    execute = workflow.execute_local_activity if local else workflow.execute_activity
    resolved: ResolvedWebhooks = await execute(
        ActivityName.RESOLVE_WEBHOOKS,
        req,
        result_type=ResolvedWebhooks,
        start_to_close_timeout=policies.RESOLVE.start_to_close,
        retry_policy=policies.RESOLVE.retry,
        summary=summary,
    )
    return resolved


async def store_files(
    *, project: str, template: str | None, envelope: Envelope
) -> StoredFiles | None:
    """Write an archive's files with the project's storage integration (None: not configured)."""
    stored: StoredFiles | None = await workflow.execute_activity(
        ActivityName.STORE_FILES,
        StoreInput(project=project, template=template, envelope=envelope),
        result_type=StoredFiles | None,  # type: ignore[arg-type]
        start_to_close_timeout=policies.STORAGE.start_to_close,
        schedule_to_close_timeout=policies.STORAGE.schedule_to_close,
        retry_policy=policies.STORAGE.retry,
        summary=f"store files of {envelope.session.id}",
    )
    return stored


def one_line(err: BaseException) -> str:
    """An error as one short line, for records, problems and the UI."""
    return " ".join(str(err).split())[:300]


def cause_of(err: ActivityError | ApplicationError) -> BaseException:
    """What went wrong: a regular activity's failure wraps it, a local one's may not."""
    return (err.cause or err) if isinstance(err, ActivityError) else err


def retryable(err: ActivityError | ApplicationError) -> bool:
    """Whether a failed attempt may be tried again (the ladder goes on)."""
    cause = cause_of(err)
    if isinstance(cause, ApplicationError):
        return not cause.non_retryable
    return True  # a timeout, or the worker lost the attempt


def failure_type(cause: BaseException | None) -> FailureType | None:
    """The ``FailureType`` an activity raised, if it is one of ours."""
    if isinstance(cause, ApplicationError) and cause.type:
        try:
            return FailureType(cause.type)
        except ValueError:
            return None
    return None
