"""The attempt log never rewinds a settled delivery: an attempt arriving after its
row was delivered (a late duplicate, an activity retried after its commit) is
counted but leaves it delivered; only a redelivery's attempts move it again."""

from __future__ import annotations

import asyncio
import uuid
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest
from sqlmodel import Session

from activities.log.attempts import AttemptLog, AttemptRecord, list_deliveries
from activities.store.crypto import SecretBox
from activities.store.database import init_db, make_engine
from tests.activities.test_store import envelope
from tests.postgres import postgres_schema


@pytest.fixture(params=["sqlite", "postgresql"])
def url(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[str]:
    if request.param == "sqlite":
        yield f"sqlite:///{tmp_path / 'log.db'}"
    else:
        with postgres_schema() as found:
            yield found


def _record(hook: uuid.UUID, outcome: str, sequence: int, *, again: bool = False) -> AttemptRecord:
    return AttemptRecord(
        webhook_id=hook,
        project="acme",
        envelope=envelope(session_id="s1", sequence=sequence),
        started_at=datetime.now(UTC),
        status_code=200 if outcome == "delivered" else 409,
        latency_ms=1.0,
        outcome=outcome,
        error=None if outcome == "delivered" else "HTTP 409",
        response=None,
        redelivery=again,
    )


def test_a_delivered_row_is_not_rewound_unless_redelivered(url: str) -> None:
    engine = make_engine(url)
    init_db(engine)
    log, hook = AttemptLog(engine, box=SecretBox("k")), uuid.uuid4()

    async def attempts() -> None:
        await log.record(_record(hook, "retrying", 1))
        await log.record(_record(hook, "delivered", 1))
        await log.record(_record(hook, "failed", 1))  # late: after it was delivered
        # Both in one batch: the failure after the success does not win either.
        await asyncio.gather(
            log.record(_record(hook, "delivered", 2)), log.record(_record(hook, "retrying", 2))
        )
        await log.record(_record(hook, "delivered", 3))
        await log.record(_record(hook, "retrying", 3, again=True))  # redelivered, failing

    asyncio.run(attempts())
    with Session(engine) as session:
        rows = {d.sequence: d for d in list_deliveries(session=session, session_id="s1")}
    engine.dispose()
    assert (rows[1].status, rows[1].attempts, rows[1].last_error) == ("delivered", 3, None)
    assert (rows[2].status, rows[2].attempts) == ("delivered", 2)
    assert (rows[3].status, rows[3].attempts, rows[3].last_error) == ("pending", 2, "HTTP 409")


def test_one_write_that_fails_fails_its_own_caller_only(url: str) -> None:
    """Attempts and marks committed together: when the batch's transaction fails
    because of one of them, the others are written alone and their callers
    return; only the failing one's caller sees the error (and retries)."""
    engine = make_engine(url)
    init_db(engine)
    hook = uuid.uuid4()
    bad = _record(hook, "retrying", 2)

    class Flaky(AttemptLog):
        def _write(self, items: list[Any]) -> None:
            if bad in items:
                raise RuntimeError("the database refused this row")
            super()._write(items)

    log = Flaky(engine, box=SecretBox("k"))

    async def together() -> list[BaseException | None]:
        return await asyncio.gather(
            log.record(_record(hook, "delivered", 1)),
            log.record(bad),
            log.record(_record(hook, "delivered", 3)),
            return_exceptions=True,
        )

    outcomes = asyncio.run(together())
    with Session(engine) as session:
        rows = {d.sequence: d.status for d in list_deliveries(session=session, session_id="s1")}
    engine.dispose()
    assert outcomes[0] is None and outcomes[2] is None
    assert isinstance(outcomes[1], RuntimeError)
    assert rows == {1: "delivered", 3: "delivered"}
