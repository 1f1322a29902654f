"""Order holds through exhaustion: the rest of a stream waits behind a failed
delivery until it is redelivered, and then everything says delivered."""

from __future__ import annotations

from temporalio.client import Client
from temporalio.worker import Worker

from activities.contracts import DeliveryStatus
from activities.store.crypto import SecretBox
from tests.helpers import add_webhook, start, wait_for_requests, wait_state
from worker.devstack.receiver import Receiver, Reply
from worker.runtime.settings import Settings
from workflows.names import SA_FAILED


async def test_an_exhausted_delivery_holds_its_stream_until_it_is_redelivered(
    client: Client, worker: Worker, settings: Settings, engine, box: SecretBox, receiver: Receiver
) -> None:
    hook = add_webhook(
        engine,
        box,
        alias="dw",
        type="storage_callback",
        url=receiver.url("/dw"),
        retry_schedule=[0, 0.2],
    )
    receiver.script("/dw", Reply(status=500), Reply(status=500))
    handle = await start(client, settings)
    for n in range(4):
        await handle.signal("storage_completed", {"storage": {"n": n}})
    state = await wait_state(
        handle,
        lambda s: (
            [d.status for d in s.deliveries] == [DeliveryStatus.FAILED] + [DeliveryStatus.HELD] * 3
        ),
    )
    assert [r.json()["storage"]["n"] for r in receiver.at("/dw")] == [0, 0]
    failed = (await handle.describe()).typed_search_attributes.get(SA_FAILED)
    assert failed == ["dw"]
    details = (await handle.describe()).raw_description.workflow_extended_info
    assert details is not None

    await handle.signal("redeliver", {"webhook_id": str(hook)})
    got = await wait_for_requests(receiver, 6, "/dw")
    assert [r.json()["storage"]["n"] for r in got] == [0, 0, 0, 1, 2, 3]
    state = await wait_state(
        handle,
        lambda s: (
            all(d.status == DeliveryStatus.DELIVERED for d in s.deliveries)
            and len(s.deliveries) == 4
        ),
    )
    assert state.deliveries[0].attempts == 3  # two before, one on redelivery
    assert (await handle.describe()).typed_search_attributes.get(SA_FAILED) is None


async def test_a_redelivery_with_nothing_failed_is_a_problem_not_a_resend(
    client: Client, worker: Worker, settings: Settings, engine, box: SecretBox, receiver: Receiver
) -> None:
    hook = add_webhook(engine, box, type="storage_callback", url=receiver.url("/ok"))
    handle = await start(client, settings)
    await handle.signal("storage_completed", {"storage": {"n": 1}})
    await wait_for_requests(receiver, 1, "/ok")
    await handle.signal("redeliver", {"webhook_id": str(hook)})
    state = await wait_state(handle, lambda s: bool(s.problems))
    assert state.problems == [f"redeliver: nothing failed or held for webhook {hook}"]
    assert len(receiver.at("/ok")) == 1
