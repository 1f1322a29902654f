"""An expected failure (a receiver answering 503) is one log line and carries no
stack trace to the Web UI; an unexpected exception keeps its traceback."""

from __future__ import annotations

import logging

import pytest
from sqlalchemy.engine import Engine
from temporalio.api.failure.v1 import Failure
from temporalio.exceptions import ApplicationError
from temporalio.testing import WorkflowEnvironment

from activities.store.crypto import SecretBox
from tests.helpers import add_webhook, codec_client, eventually, start, wait_for_requests
from worker.devstack.receiver import Receiver, Reply
from worker.runtime.assembly import running_worker
from worker.runtime.codec import (
    ENCODING,
    EncryptionCodec,
    KeyRing,
    data_converter,
    new_key,
    parse_key,
)
from worker.runtime.settings import Settings


def codec() -> EncryptionCodec:
    return EncryptionCodec(KeyRing((parse_key(new_key(), source="test"),)))


async def encoded(error: BaseException, key: EncryptionCodec) -> Failure:
    failure = Failure()
    await data_converter(key).encode_failure(error, failure)
    return failure


async def stack_trace_of(failure: Failure, key: EncryptionCodec) -> str:
    decoded = await data_converter(key).decode_failure(failure)
    assert isinstance(decoded, ApplicationError)
    assert decoded.failure is not None
    return decoded.failure.stack_trace


def raised(error: BaseException) -> BaseException:
    try:
        raise error
    except BaseException as caught:
        return caught


async def test_converter_drops_the_stack_trace_of_expected_failures_only() -> None:
    key = codec()
    expected = raised(ApplicationError("HTTP 503 from crm", type="WebhookUndelivered"))
    other_type = raised(ApplicationError("odd", type="SomethingElse"))
    bug = raised(ZeroDivisionError("division by zero"))

    assert await stack_trace_of(await encoded(expected, key), key) == ""
    assert "raise error" in await stack_trace_of(await encoded(other_type, key), key)
    assert "raise error" in await stack_trace_of(await encoded(bug, key), key)
    # An unexpected failure's message travels encrypted only.
    assert (await encoded(other_type, key)).message == "Encoded failure"
    assert (await encoded(bug, key)).message == "Encoded failure"


async def test_an_expected_failure_keeps_its_one_line_message_in_clear() -> None:
    """The Web UI reads the message; the details and the encoded copy stay encrypted."""
    key = codec()
    error = raised(
        ApplicationError(
            "HTTP 500 from crm (crm.example.com),\n attempt 2/8; next attempt in 5s",
            {"form_data": {"iban": "DE89 3704 0044 0532 0130 00"}},
            type="WebhookUndelivered",
        )
    )
    failure = await encoded(error, key)
    assert failure.message == "HTTP 500 from crm (crm.example.com), attempt 2/8; next attempt in 5s"
    assert failure.stack_trace == ""
    assert failure.encoded_attributes.metadata["encoding"] == ENCODING
    [details] = failure.application_failure_info.details.payloads
    assert details.metadata["encoding"] == ENCODING
    assert b"DE89" not in failure.SerializeToString()
    decoded = await data_converter(key).decode_failure(failure)
    assert isinstance(decoded, ApplicationError)
    assert decoded.details == ({"form_data": {"iban": "DE89 3704 0044 0532 0130 00"}},)
    assert decoded.message.startswith("HTTP 500 from crm (crm.example.com),")


async def test_a_retried_delivery_logs_one_line_and_shows_no_stack_trace(
    dev_env: WorkflowEnvironment,
    settings: Settings,
    engine: Engine,
    box: SecretBox,
    receiver: Receiver,
    caplog: pytest.LogCaptureFixture,
) -> None:
    key = codec()
    client = await codec_client(dev_env, key)
    settings = settings.replace(namespace=client.namespace)
    receiver.always("/crm", Reply(status=503))
    add_webhook(
        engine,
        box,
        alias="crm",
        type="session_created",
        url=receiver.url("/crm"),
        retry_schedule=[0, 0.2, 600],
    )
    caplog.set_level(logging.WARNING, logger="temporalio.activity")
    async with running_worker(client, settings, engine=engine, box=box):
        handle = await start(client, settings)
        await wait_for_requests(receiver, 2, "/crm")

        async def last_failure() -> Failure | None:
            pending = (await handle.describe()).raw_description.pending_activities
            return pending[0].last_failure if pending and pending[0].attempt >= 2 else None

        failure = await eventually(last_failure, lambda f: f is not None)
        assert failure is not None
    # What the Web UI shows of the pending attempt, without the codec server.
    assert failure.message.startswith("HTTP 503 from crm (127.0.0.1), attempt 2/3")
    assert await stack_trace_of(failure, key) == ""
    decoded = await data_converter(key).decode_failure(failure)
    assert isinstance(decoded, ApplicationError) and decoded.type == "WebhookUndelivered"
    assert decoded.message.startswith("HTTP 503 from crm (127.0.0.1), attempt 2/3")

    logged = [r for r in caplog.records if r.name == "temporalio.activity"]
    assert len(logged) == 2
    for record in logged:
        line = record.getMessage()
        assert record.exc_info is None and "\n" not in line
        assert line.startswith("WebhookUndelivered: HTTP 503 from crm (127.0.0.1), attempt ")
        assert line.endswith(f"({handle.id}, deliver)")


async def test_a_failed_attempt_reads_as_one_line_in_the_history(
    dev_env: WorkflowEnvironment,
    settings: Settings,
    engine: Engine,
    box: SecretBox,
    receiver: Receiver,
) -> None:
    """The history event of a failed attempt, as the Web UI reads it without the
    codec server: the one-line message in clear, nothing else readable."""
    key = codec()
    client = await codec_client(dev_env, key)
    settings = settings.replace(namespace=client.namespace)
    receiver.always("/gone", Reply(status=410))
    add_webhook(
        engine,
        box,
        alias="crm",
        type="session_created",
        url=receiver.url("/gone"),
        retry_schedule=[0, 5, 300],
    )
    async with running_worker(client, settings, engine=engine, box=box):
        handle = await start(client, settings)
        await wait_for_requests(receiver, 1, "/gone")

        async def failed() -> list[Failure]:
            events = (await handle.fetch_history()).events
            # A first attempt runs as a local activity: its failure is in a marker.
            return [
                e.activity_task_failed_event_attributes.failure
                if e.HasField("activity_task_failed_event_attributes")
                else e.marker_recorded_event_attributes.failure
                for e in events
                if e.HasField("activity_task_failed_event_attributes")
                or e.marker_recorded_event_attributes.HasField("failure")
            ]

        [failure] = await eventually(failed, bool)
    assert failure.message == "HTTP 410 Gone from crm (127.0.0.1), attempt 1/3; webhook disabled"
    assert failure.application_failure_info.type == "WebhookGone"
    assert failure.stack_trace == ""
    assert failure.encoded_attributes.metadata["encoding"] == ENCODING


def test_a_rejected_remote_data_answer_is_described_without_its_values() -> None:
    """The message of RemoteDataFailed is shown in clear: the answer's values
    (a customer's name, say) are not in it."""
    from pydantic import TypeAdapter, ValidationError

    from activities.contracts import FieldValue
    from activities.delivery.remote import problem as described

    try:
        TypeAdapter(list[FieldValue]).validate_python([{"name": "Dana Example"}])
    except ValidationError as err:
        problem = described(err)
    assert "Dana" not in problem and problem.startswith("0.")
