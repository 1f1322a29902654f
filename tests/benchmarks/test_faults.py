"""The fault-injection script, small: a worker killed during load loses nothing
and keeps every session's order."""

from __future__ import annotations

from pathlib import Path

import pytest

from benchmarks.faults import Load, run_all


@pytest.mark.timeout(120)
async def test_a_worker_killed_during_load_loses_nothing(tmp_path: Path) -> None:
    load = Load(sessions=6, events=5, every=0.2, timeout=60, webhook_timeout=2)
    [tally] = await run_all(["worker-kill"], load, tmp_path)
    assert tally.note.startswith("killed at ")  # during the load, not after it
    killed_at = int(tally.note.split()[-1].split("/")[0])
    assert 0 < killed_at < 30
    assert tally.produced == 30
    assert tally.distinct == 30 and tally.lost == 0
    assert tally.order_violations == 0
    assert tally.drain is not None
