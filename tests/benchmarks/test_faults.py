"""The fault-injection script, small: a worker killed during load loses nothing
and keeps every session's order; an outage inside the ladder fails nothing, and
one past it is recovered by a bulk redelivery; the sessions and the delivery
log agree on every delivery."""

from __future__ import annotations

from pathlib import Path

import pytest

from benchmarks.faults import Load, Recovery, run_all


@pytest.mark.timeout(120)
async def test_a_worker_killed_during_load_loses_nothing(tmp_path: Path) -> None:
    # A load of about 3 s, so that the kill lands inside it even on a busy machine.
    load = Load(sessions=6, events=15, every=0.2, timeout=60, webhook_timeout=2)
    [tally] = await run_all(["worker-kill"], load, tmp_path)
    assert tally.note.startswith("killed at ")  # during the load, not after it
    killed_at = int(tally.note.split()[-1].split("/")[0])
    assert 0 < killed_at < 90
    assert tally.produced == 90
    assert tally.distinct == 90 and tally.lost == 0
    assert tally.order_violations == 0
    assert tally.drain is not None


@pytest.mark.timeout(120)
async def test_an_outage_inside_the_ladder_fails_nothing(tmp_path: Path) -> None:
    # 12 sessions: enough failed attempts in a row to open the circuit, so that
    # the deliveries wait the outage out (20 s, inside a ladder of 107 s).
    load = Load(sessions=12, events=4, every=0.2, timeout=60, inside_outage=20)
    [tally] = await run_all(["outage-inside-ladder"], load, tmp_path)
    assert tally.produced == 48
    assert tally.distinct == 48 and tally.lost == 0
    assert tally.order_violations == 0
    assert tally.failed == 0 and tally.alerts == 0
    assert tally.disagreements == 0, tally.examples


@pytest.mark.timeout(120)
async def test_an_outage_past_the_ladder_is_recovered_by_a_bulk_redelivery(
    tmp_path: Path,
) -> None:
    # 4 sessions: each head fails its two attempts before the circuit opens.
    load = Load(sessions=4, events=5, every=0.2, timeout=60, past_outage=10)
    [tally] = await run_all(["outage-past-ladder"], load, tmp_path)
    assert tally.recovery == Recovery(by_sessions=4, in_log=4, found=4)
    assert tally.alerts == 4
    assert tally.produced == 20
    assert tally.distinct == 20 and tally.lost == 0
    assert tally.order_violations == 0
    assert tally.failed == 0  # redelivered, and delivered
    assert tally.disagreements == 0, tally.examples
