"""Remote data: the ``field_changed`` update asks the project's remote-data
webhooks for values while the client types, and answers with them."""

from __future__ import annotations

from collections.abc import Sequence

from pydantic import ValidationError
from temporalio import workflow
from temporalio.exceptions import ActivityError, ApplicationError

with workflow.unsafe.imports_passed_through():
    from activities.contracts import (
        DeliveryStatus,
        Envelope,
        FailureType,
        FieldValue,
        WebhookTarget,
    )
    from activities.delivery.remote import problem
    from workflows import calls
    from workflows.outbox import Outbox


async def ask_remote_data(
    *, project: str, targets: Sequence[WebhookTarget], envelope: Envelope, outbox: Outbox
) -> list[FieldValue]:
    """Every target's answer, in order; the first failure fails the call with one line."""
    if not targets:
        raise _failed(f"project {project} has no remote_data webhook")
    values: list[FieldValue] = []
    for target in targets:
        values += await _ask(project=project, target=target, envelope=envelope, outbox=outbox)
    return values


async def _ask(
    *, project: str, target: WebhookTarget, envelope: Envelope, outbox: Outbox
) -> list[FieldValue]:
    record = outbox.ledger.track(target, envelope)
    try:
        result = await calls.deliver(
            project=project, target=target, envelopes=[envelope], remote=True
        )
    except ActivityError as err:
        cause = err.cause
        record.status, record.error = DeliveryStatus.FAILED, calls.one_line(cause or err)
        reason = cause.message if isinstance(cause, ApplicationError) else record.error
        raise _failed(f"remote data from {target.alias} failed: {reason}") from None
    record.status, record.attempts = DeliveryStatus.DELIVERED, result.attempt
    record.status_code = result.status_code
    try:
        if not isinstance(result.response, list):
            raise TypeError("not a list")
        return [FieldValue.model_validate(item) for item in result.response]
    except (ValidationError, TypeError) as err:
        record.error = f"answer is not [{{id, value}}]: {problem(err)}"
        raise _failed(f"remote data from {target.alias}: {record.error}") from None


def _failed(message: str) -> ApplicationError:
    return ApplicationError(message, type=FailureType.REMOTE_DATA_FAILED)
