"""A project's own share of a worker (``projects set --share``): the bulkhead
holds the project to it while others keep the default, and the gate reads the
shares from the project settings through a cache, never once per attempt."""

from __future__ import annotations

import uuid

import pytest
from sqlalchemy import event
from sqlalchemy.engine import Engine
from sqlmodel import Session

from activities.delivery.bulkhead import Bulkhead
from activities.delivery.endpoint import load_endpoint
from activities.delivery.gate import Gate
from activities.store.crypto import SecretBox
from activities.store.health import parse_share, project_share, set_share, shares
from tests.helpers import add_webhook


class FakeClock:
    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


async def _take(
    bulkhead: Bulkhead, project: str, count: int, webhook: uuid.UUID | None = None
) -> list[bool]:
    """``count`` attempts of ``project`` (to one webhook, else each to its own)."""
    took = []
    for n in range(count):
        to = webhook or uuid.uuid4()
        bulkhead.belongs(to, project)
        took.append(await bulkhead.acquire(to, key=f"{project}{n}", limit=None, wait=0))
    return took


async def test_a_project_with_its_own_share_is_held_to_it_beside_the_default() -> None:
    clock = FakeClock()
    bulkhead = Bulkhead(default_limit=20, slots=20, share=0.5, clock=clock)
    bulkhead.set_shares({"small": 0.2})
    assert bulkhead.share_limit_of("small") == 4 and bulkhead.share_limit_of("big") == 10
    # Both want places: small holds 4 of the 20, big its default half.
    assert await _take(bulkhead, "big", 1) == [True]
    assert await _take(bulkhead, "small", 6) == [True] * 4 + [False] * 2
    assert bulkhead.project_in_flight("small") == 4
    assert await _take(bulkhead, "big", 11) == [True] * 9 + [False] * 2
    assert bulkhead.project_in_flight("big") == 10
    # Alone a minute on, with nothing of big's under way: all but the reserve.
    quiet = Bulkhead(default_limit=20, slots=20, share=0.5, clock=clock)
    quiet.set_shares({"small": 0.2})
    big = uuid.uuid4()
    assert await _take(quiet, "big", 1, big) == [True]
    assert quiet.project_limit("small") == 4
    await quiet.release(big, seconds=1.0)
    clock.now += 61
    assert quiet.project_limit("small") == 18
    assert await _take(quiet, "small", 19) == [True] * 18 + [False]
    # Back to the default when the share is cleared.
    bulkhead.set_shares({})
    assert bulkhead.share_limit_of("small") == 10


def test_a_stored_share_out_of_bounds_falls_back_to_the_default() -> None:
    bulkhead = Bulkhead(slots=10, share=0.5)
    bulkhead.set_shares({"a": 0.0, "b": 1.5, "c": 1.0})
    assert [bulkhead.share_limit_of(p) for p in "abc"] == [5, 5, 10]


def test_parse_share_takes_a_fraction_or_default() -> None:
    assert parse_share("0.3") == 0.3 and parse_share(0.3) == 0.3 and parse_share(1) == 1.0
    assert parse_share(" Default ") is None
    for bad in ("0", 0, "-0.1", "1.01", 2, "nan", "inf", "", "30%", "half", True):
        with pytest.raises(ValueError, match="above 0 and at most 1"):
            parse_share(bad)


def test_a_share_is_stored_beside_the_other_settings(engine: Engine) -> None:
    with Session(engine) as session:
        assert project_share(session=session, project="acme") is None
        set_share(session=session, project="acme", share=0.3)
        set_share(session=session, project="beta", share=0.2)
        assert shares(session=session) == {"acme": 0.3, "beta": 0.2}
        set_share(session=session, project="beta", share=None)
        assert shares(session=session) == {"acme": 0.3}
        assert project_share(session=session, project="beta") is None


async def test_the_gate_reads_the_shares_once_per_ttl_not_per_attempt(
    engine: Engine, box: SecretBox
) -> None:
    webhook = add_webhook(
        engine, box, project="small", url="http://127.0.0.1:9/hook", type="storage_callback"
    )
    endpoint = load_endpoint(engine=engine, box=box, webhook_id=webhook)
    with Session(engine) as session:
        set_share(session=session, project="small", share=0.2)
    reads: list[str] = []

    def count(_conn: object, _cursor: object, statement: str, *_args: object) -> None:
        if "FROM project_settings" in statement:
            reads.append(statement)

    event.listen(engine, "before_cursor_execute", count)
    try:
        gate = Gate(engine=engine, bulkhead=Bulkhead(slots=10, share=0.5))
        for _ in range(20):
            await gate.admit(endpoint, inline=0)
        assert len(reads) == 1
        assert gate.bulkhead.share_limit_of("small") == 2
        with Session(engine) as session:
            set_share(session=session, project="small", share=0.5)
        await gate.admit(endpoint, inline=0)
        assert gate.bulkhead.share_limit_of("small") == 2  # still cached
        fresh = Gate(engine=engine, bulkhead=Bulkhead(slots=10, share=0.5), share_ttl=0)
        await fresh.admit(endpoint, inline=0)
        assert fresh.bulkhead.share_limit_of("small") == 5
    finally:
        event.remove(engine, "before_cursor_execute", count)
