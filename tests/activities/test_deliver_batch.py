"""The delivery activity sends an event, then the events behind it, each its own
attempt; paused and deleted webhooks; the latency of every attempt."""

from __future__ import annotations

import asyncio
import json
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy.engine import Engine
from sqlmodel import Session
from temporalio.exceptions import ApplicationError

from activities.contracts import FailureType
from activities.delivery.activity import DeliveryActivities
from activities.store.crypto import SecretBox
from activities.store.tables import Webhook
from tests.activities.delivering import delivery_activities, logged, request, run_deliver
from tests.helpers import add_webhook
from tests.worker.cli import Cli
from worker.devstack.receiver import Receiver, Reply


@pytest.fixture
async def activities(
    engine: Engine, box: SecretBox, tmp_path: Path
) -> AsyncIterator[DeliveryActivities]:
    async with delivery_activities(engine, box, tmp_path) as acts:
        yield acts


def hook(engine: Engine, box: SecretBox, receiver: Receiver, path: str, **fields: object):  # type: ignore[no-untyped-def]
    return add_webhook(engine, box, type="storage_callback", url=receiver.url(path), **fields)


async def test_batch_sends_each_event_with_its_own_id_and_log_row(
    activities: DeliveryActivities, engine: Engine, box: SecretBox, receiver: Receiver
) -> None:
    webhook = hook(engine, box, receiver, "/batch")
    req = request(webhook, 1, 2, 3)
    result = await run_deliver(activities, req)

    got = receiver.at("/batch")
    assert [r.json()["event"]["sequence"] for r in got] == [1, 2, 3]
    sent_ids = [req.envelope.event.id] + [e.event.id for e in req.following]
    assert [r.headers["webhook-id"] for r in got] == sent_ids
    assert result.attempt == 1 and result.status_code == 200 and result.stopped is None
    assert [s.event_id for s in result.following] == sent_ids[1:]
    assert all(s.status_code == 200 and s.latency_ms > 0 for s in result.following)
    log = logged(engine, webhook)
    assert [(d.sequence, d.status, len(a)) for d, a in log] == [
        (1, "delivered", 1),
        (2, "delivered", 1),
        (3, "delivered", 1),
    ]


async def test_first_failing_following_event_ends_the_batch(
    activities: DeliveryActivities, engine: Engine, box: SecretBox, receiver: Receiver
) -> None:
    webhook = hook(engine, box, receiver, "/stops")
    receiver.script("/stops", Reply(), Reply(), Reply(status=500))
    req = request(webhook, 1, 2, 3, 4)
    result = await run_deliver(activities, req)

    assert [r.json()["event"]["sequence"] for r in receiver.at("/stops")] == [1, 2, 3]
    assert [s.event_id for s in result.following] == [req.following[0].event.id]
    assert result.stopped is not None and "HTTP 500" in result.stopped
    assert "\n" not in result.stopped
    log = logged(engine, webhook)
    assert [(d.sequence, d.status) for d, _ in log] == [
        (1, "delivered"),
        (2, "delivered"),
        (3, "pending"),  # the workflow sends it again; event 4 was never tried
    ]
    assert [a.outcome for a in log[2][1]] == ["retrying"]


async def test_a_failing_first_event_raises_its_ladder_and_sends_nothing_behind_it(
    activities: DeliveryActivities, engine: Engine, box: SecretBox, receiver: Receiver
) -> None:
    webhook = hook(engine, box, receiver, "/down")
    receiver.always("/down", Reply(status=503))
    with pytest.raises(ApplicationError) as caught:
        await run_deliver(activities, request(webhook, 1, 2, retry_schedule=[0, 7, 60]))
    err = caught.value
    assert err.type == FailureType.UNDELIVERED and not err.non_retryable
    assert err.next_retry_delay is not None
    assert 5.5 <= err.next_retry_delay.total_seconds() <= 8.5  # 7 s, +/-20% jitter
    assert "attempt 1/3" in str(err)
    assert len(receiver.at("/down")) == 1


async def test_attempt_offset_continues_the_ladder_of_an_earlier_batch(
    activities: DeliveryActivities, engine: Engine, box: SecretBox, receiver: Receiver
) -> None:
    webhook = hook(engine, box, receiver, "/offset")
    receiver.always("/offset", Reply(status=503))
    req = request(webhook, 3, retry_schedule=[0, 1, 1], attempt_offset=2)
    with pytest.raises(ApplicationError) as caught:
        await run_deliver(activities, req)
    assert caught.value.type == FailureType.EXHAUSTED and caught.value.non_retryable
    assert "attempt 3/3" in str(caught.value)


async def test_a_disabled_webhook_holds_the_batch_and_sends_nothing(
    activities: DeliveryActivities,
    engine: Engine,
    box: SecretBox,
    receiver: Receiver,
    cli: Cli,
) -> None:
    webhook = hook(engine, box, receiver, "/paused", enabled=False, disabled_reason="maintenance")
    req = request(webhook, 1, 2, 3)
    with pytest.raises(ApplicationError) as caught:
        await run_deliver(activities, req)
    assert caught.value.type == FailureType.PAUSED and caught.value.non_retryable
    assert "maintenance" in str(caught.value)
    assert receiver.at("/paused") == []
    log = logged(engine, webhook)
    assert [(d.sequence, d.status, a) for d, a in log] == [
        (1, "held", []),
        (2, "held", []),
        (3, "held", []),
    ]
    listed = json.loads(cli.ok("deliveries", "list", "--status", "held", "--json"))
    assert sorted(row["sequence"] for row in listed) == [1, 2, 3]


async def test_a_deleted_webhook_is_unavailable(
    activities: DeliveryActivities, engine: Engine, box: SecretBox, receiver: Receiver
) -> None:
    webhook = hook(engine, box, receiver, "/deleted")
    with Session(engine) as session:
        session.delete(session.get(Webhook, webhook))
        session.commit()
    with pytest.raises(ApplicationError) as caught:
        await run_deliver(activities, request(webhook, 1, 2))
    assert caught.value.type == FailureType.UNAVAILABLE and caught.value.non_retryable
    assert logged(engine, webhook) == []


async def test_timeouts_and_refusals_log_their_real_latency(
    activities: DeliveryActivities, engine: Engine, box: SecretBox, receiver: Receiver
) -> None:
    slow = hook(engine, box, receiver, "/slow", timeout=0.5)
    receiver.always("/slow", Reply(delay=2.0))
    with pytest.raises(ApplicationError):
        await run_deliver(activities, request(slow, 1))
    (_, [timed_out]), *_ = logged(engine, slow)
    assert timed_out.error == "timed out after 0.5s"
    assert 450 <= timed_out.latency_ms < 1500

    closed = add_webhook(
        engine, box, type="storage_callback", url=f"http://127.0.0.1:{_free_port()}/"
    )
    with pytest.raises(ApplicationError):
        await run_deliver(activities, request(closed, 1))
    (_, [refused]), *_ = logged(engine, closed)
    assert refused.status_code is None and "ConnectError" in (refused.error or "")
    assert refused.latency_ms > 0


async def test_a_trickling_endpoint_costs_at_most_its_timeout(
    activities: DeliveryActivities, engine: Engine, box: SecretBox
) -> None:
    """An endpoint that sends its answer a byte at a time never trips a read
    timeout; the attempt still ends at the webhook's timeout."""

    async def trickle(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        await reader.readuntil(b"\r\n\r\n")
        writer.write(b"HTTP/1.1 200 OK\r\ncontent-length: 1000\r\n\r\n")
        try:
            for _ in range(1000):
                writer.write(b"x")
                await writer.drain()
                await asyncio.sleep(0.1)
        except ConnectionError:
            pass
        writer.close()

    server = await asyncio.start_server(trickle, "127.0.0.1", 0)
    port = server.sockets[0].getsockname()[1]
    webhook = add_webhook(
        engine, box, type="storage_callback", url=f"http://127.0.0.1:{port}/", timeout=1.0
    )
    try:
        started = asyncio.get_running_loop().time()
        with pytest.raises(ApplicationError) as caught:
            await run_deliver(activities, request(webhook, 1))
        took = asyncio.get_running_loop().time() - started
    finally:
        server.close()
    assert "timed out after 1s" in str(caught.value)
    assert took < 2.0
    (_, [attempt]), *_ = logged(engine, webhook)
    assert 950 <= attempt.latency_ms < 2000


def _free_port() -> int:
    import socket

    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


async def test_a_batch_lost_with_its_worker_sends_nothing_twice(
    engine: Engine, box: SecretBox, tmp_path: Path, receiver: Receiver
) -> None:
    """The batch heartbeats what it delivered; the next attempt (after the lost
    worker's heartbeat timeout) starts after it."""
    webhook = add_webhook(engine, box, type="storage_callback", url=receiver.url("/b"))
    req = request(webhook, 1, 2, 3, 4)
    beats: list[Any] = []
    async with delivery_activities(engine, box, tmp_path) as activities:
        first = await run_deliver(activities, req, heartbeats=beats)
        assert [e.event_id for e in first.following] == [e.event.id for e in req.following]
        # What the last heartbeat said, as if the worker died before completing:
        # the head and the first following event were delivered.
        lost = {**beats[-1], "following": beats[-1]["following"][:1]}
        again = await run_deliver(activities, req, attempt=2, resumed=[lost])
    assert again.attempt == first.attempt  # the head is not sent again
    assert [e.event_id for e in again.following] == [e.event.id for e in req.following]
    sequences = [r.json()["event"]["sequence"] for r in receiver.at("/b")]
    assert sequences == [1, 2, 3, 4, 3, 4]  # only what the lost attempt had not confirmed
