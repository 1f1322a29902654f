"""A project's share of a worker's attempt slots: one project with many slow
webhooks no longer takes every slot; what is over its share is put off as
``waiting`` (no attempt, no step of its ladder) while another project's
delivery goes at once. And the server's limits on a project's webhooks."""

from __future__ import annotations

import asyncio
import uuid
from pathlib import Path

import pytest
from sqlalchemy.engine import Engine
from sqlmodel import Session

from activities.contracts import DeliveryResult
from activities.contracts.limits import WebhookLimits
from activities.delivery.bulkhead import Bulkhead
from activities.errors import ConfigError
from activities.store.crypto import SecretBox
from activities.store.webhooks import (
    WebhookCreate,
    WebhookSettings,
    create_webhook,
    find_webhook,
    update_webhook,
)
from tests.activities.delivering import delivery_activities, logged, request, run_deliver
from tests.helpers import add_webhook
from worker.devstack.receiver import Receiver, Reply


async def test_a_project_alone_leaves_a_reserve_and_keeps_its_share_beside_another() -> None:
    bulkhead = Bulkhead(default_limit=10, slots=10, share=0.5)
    hog = [uuid.uuid4() for _ in range(10)]
    other = uuid.uuid4()
    for webhook in hog:
        bulkhead.belongs(webhook, "hog")
    bulkhead.belongs(other, "other")
    took = [await bulkhead.acquire(w, key=f"k{n}", limit=None, wait=0) for n, w in enumerate(hog)]
    assert took == [True] * 9 + [False]  # alone: all but one place
    assert bulkhead.refusal(hog[9], None) == (
        "project hog holds its share of this worker (9 of 10 attempt places)"
    )
    assert await bulkhead.acquire(other, key="o", limit=None, wait=0)  # the reserve
    for webhook in hog[:5]:
        await bulkhead.release(webhook, seconds=5.0)
    # Another project delivers now: the hog is held to half, however long it waits.
    assert bulkhead.project_in_flight("hog") == 4 and bulkhead.project_limit("hog") == 5
    assert await bulkhead.acquire(hog[0], key="again", limit=None, wait=0)
    assert not await bulkhead.acquire(hog[1], key="more", limit=None, wait=0.05)
    await bulkhead.release(hog[0], seconds=5.0)
    assert await bulkhead.acquire(hog[1], key="more", limit=None, wait=0)


def test_the_share_is_a_fraction_of_the_slots() -> None:
    with pytest.raises(ValueError, match="share"):
        Bulkhead(share=0)
    assert Bulkhead(slots=200, share=0.5).share_limit == 100
    assert Bulkhead(slots=200, share=1.0).solo_limit == 200


async def test_a_delivery_over_its_projects_share_waits_and_another_project_goes(
    engine: Engine, box: SecretBox, tmp_path: Path, receiver: Receiver
) -> None:
    slow = [
        add_webhook(engine, box, project="hog", type="storage_callback", url=receiver.url(f"/s{n}"))
        for n in range(4)
    ]
    quick = add_webhook(
        engine, box, project="calm", type="storage_callback", url=receiver.url("/quick")
    )
    for n in range(4):
        receiver.script(f"/s{n}", Reply(delay=3.0))
    bulkhead = Bulkhead(slots=4, share=0.5)  # alone 3 places; beside another, 2
    async with delivery_activities(engine, box, tmp_path, bulkhead=bulkhead) as activities:
        held = [
            asyncio.create_task(run_deliver(activities, request(w, 1, project="hog"), run=f"h{n}"))
            for n, w in enumerate(slow[:3])
        ]
        await asyncio.sleep(0.5)
        over = await run_deliver(activities, request(slow[3], 1, project="hog"), run="h3")
        assert over.waiting is not None, over
        assert over.waiting.reason.startswith(
            "project hog holds its share of this worker (3 of 4 attempt places) of hook-"
        )
        assert over.waiting.seconds >= 1
        started = asyncio.get_running_loop().time()
        other = await run_deliver(activities, request(quick, 1, project="calm"), run="c")
        assert isinstance(other, DeliveryResult) and other.status_code == 200
        assert asyncio.get_running_loop().time() - started < 2.0  # not behind the hog
        done = await asyncio.gather(*held)
        assert [r.status_code for r in done] == [200, 200, 200]
    [(row, attempts)] = logged(engine, slow[3])
    assert row.status == "waiting" and attempts == []  # waiting, never a failure
    assert receiver.at("/s3") == []


def test_max_in_flight_over_the_ceiling_is_one_line_and_changes_nothing(
    engine: Engine, box: SecretBox
) -> None:
    with pytest.raises(ConfigError) as refused:
        add_webhook(engine, box, type="form_loaded", url="https://a.example.com/", max_in_flight=51)
    assert str(refused.value) == (
        "max_in_flight 51 is over this server's ceiling of 50 (HOOKFLOW_MAX_IN_FLIGHT_CEILING)"
    )
    made = add_webhook(
        engine, box, alias="ok", type="form_loaded", url="https://a.example.com/", max_in_flight=50
    )
    with Session(engine) as session, pytest.raises(ConfigError, match="ceiling of 10"):
        webhook = find_webhook(session=session, ref="ok", project="acme")
        update_webhook(
            session=session,
            webhook=webhook,
            data=WebhookSettings(max_in_flight=11),
            box=box,
            limits=WebhookLimits(max_in_flight_ceiling=10),
        )
    with Session(engine) as session:
        assert find_webhook(session=session, ref=str(made)).max_in_flight == 50


def test_a_webhook_stored_over_the_ceiling_can_still_be_edited(
    engine: Engine, box: SecretBox
) -> None:
    """Stored with 200 when the API allowed up to 1000: its other settings change;
    only a new max_in_flight is checked."""
    made = add_webhook(engine, box, alias="big", type="form_loaded", url="https://a.example.com/")
    with Session(engine) as session:
        webhook = find_webhook(session=session, ref=str(made))
        webhook.max_in_flight = 200
        session.add(webhook)
        session.commit()
    with Session(engine) as session:
        webhook = find_webhook(session=session, ref=str(made))
        update_webhook(session=session, webhook=webhook, data=WebhookSettings(timeout=10), box=box)
    with Session(engine) as session, pytest.raises(ConfigError, match="ceiling of 50"):
        webhook = find_webhook(session=session, ref=str(made))
        update_webhook(
            session=session, webhook=webhook, data=WebhookSettings(max_in_flight=60), box=box
        )
    with Session(engine) as session:
        stored = find_webhook(session=session, ref=str(made))
        assert (stored.timeout, stored.max_in_flight) == (10, 200)


def test_a_project_has_at_most_its_webhooks(engine: Engine, box: SecretBox) -> None:
    limits = WebhookLimits(webhooks_per_project=3)

    def add(project: str, alias: str) -> None:
        data = WebhookCreate(
            project=project, alias=alias, type="form_loaded", url="https://a.example.com/"
        )
        with Session(engine) as session:
            create_webhook(session=session, data=data, box=box, limits=limits)

    for n in range(3):
        add("acme", f"h{n}")
    with pytest.raises(ConfigError) as refused:
        add("acme", "h3")
    assert str(refused.value) == (
        "project 'acme' has 3 webhooks, the most this server allows "
        "(HOOKFLOW_WEBHOOKS_PER_PROJECT): delete one first"
    )
    add("other", "h3")


async def test_first_attempts_have_the_share_of_the_local_slots(
    engine: Engine, box: SecretBox, tmp_path: Path, receiver: Receiver
) -> None:
    """First attempts run as local activities, on the worker's local slots: one
    project's slow ones leave the others' first attempts a place."""
    slow = [
        add_webhook(engine, box, project="hog", type="storage_callback", url=receiver.url(f"/l{n}"))
        for n in range(3)
    ]
    quick = add_webhook(
        engine, box, project="calm", type="storage_callback", url=receiver.url("/lq")
    )
    for n in range(3):
        receiver.script(f"/l{n}", Reply(delay=3.0))
    bulkhead = Bulkhead(slots=100, local_slots=2, share=0.5)  # alone 1 local place, then 1
    async with delivery_activities(engine, box, tmp_path, bulkhead=bulkhead) as activities:
        held = asyncio.create_task(
            run_deliver(activities, request(slow[0], 1, project="hog"), run="l0", local=True)
        )
        await asyncio.sleep(0.5)
        over = await run_deliver(
            activities, request(slow[1], 1, project="hog"), run="l1", local=True
        )
        assert over.waiting is not None and over.waiting.reason.startswith(
            "project hog holds its share of this worker (1 of 2 places for first attempts)"
        )
        # The same delivery as a regular activity has the worker's other slots.
        regular = asyncio.create_task(
            run_deliver(activities, request(slow[2], 1, project="hog"), run="l2")
        )
        other = await run_deliver(
            activities, request(quick, 1, project="calm"), run="lc", local=True
        )
        assert other.status_code == 200
        assert [r.status_code for r in await asyncio.gather(held, regular)] == [200, 200]
