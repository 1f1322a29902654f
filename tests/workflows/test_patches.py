"""Patch ids: each declared once with its removal day, none outliving it."""

from __future__ import annotations

import re
from datetime import UTC, datetime
from pathlib import Path

from workflows import patches

WORKFLOWS = Path(patches.__file__).parent


def test_every_patched_call_names_a_declared_patch() -> None:
    calls = {
        match.group(1)
        for path in WORKFLOWS.glob("*.py")
        if path.name != "patches.py"  # (``takes`` passes its argument on)
        for match in re.finditer(r"(?:workflow\.patched|takes)\(([^)]*)\)", path.read_text())
    }
    assert calls, "no workflow.patched call found"
    declared = {
        name
        for name, value in vars(patches).items()
        if isinstance(value, str) and value in patches.REMOVE_AFTER
    }
    # Each call names a constant of workflows/patches.py, never an inline string.
    assert calls <= declared, calls - declared


# The levels as shipped: a level once given never changes (workflows started at
# it hold it in their memo); a new level may only be added.
SHIPPED = {
    "local-activities": 1,
    "handover-after-drain": 1,
    "storage-after-archive": 1,
    "delivery-log": 1,
    "project-ids": 1,
    "lean-start": 1,
}


def test_levels_are_only_ever_added() -> None:
    assert set(patches.LEVEL) <= set(patches.REMOVE_AFTER)
    kept = {p: patches.LEVEL.get(p) for p in SHIPPED if p in patches.REMOVE_AFTER}
    assert kept == {p: level for p, level in SHIPPED.items() if p in patches.REMOVE_AFTER}
    assert patches.START_MEMO == {patches.CODE_MEMO: max(patches.LEVEL.values())}


def test_no_patch_outlives_its_day() -> None:
    today = datetime.now(UTC).date()
    overdue = {p: day for p, day in patches.REMOVE_AFTER.items() if day < today}
    assert not overdue, (
        f"remove these patches and their old branches (every session started before "
        f"them has closed): {overdue}"
    )
