"""An expected failure (a receiver answering 503) is one log line and carries no
stack trace to the Web UI; an unexpected exception keeps its traceback."""

from __future__ import annotations

import logging
from dataclasses import replace

import pytest
from sqlalchemy.engine import Engine
from temporalio.api.failure.v1 import Failure
from temporalio.exceptions import ApplicationError
from temporalio.testing import WorkflowEnvironment

from activities.store.crypto import SecretBox
from tests.helpers import add_webhook, codec_client, eventually, start, wait_for_requests
from worker.devstack.receiver import Receiver, Reply
from worker.runtime.assembly import running_worker
from worker.runtime.codec import EncryptionCodec, KeyRing, data_converter, new_key, parse_key
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
    # The message still travels encrypted, as every failure does.
    assert (await encoded(expected, key)).message == "Encoded failure"


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
    settings = replace(settings, namespace=client.namespace)
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
