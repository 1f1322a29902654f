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


def test_every_patch_has_the_level_new_workflows_take_it_at() -> None:
    assert set(patches.LEVEL) == set(patches.REMOVE_AFTER)
    assert patches.START_MEMO == {patches.CODE_MEMO: max(patches.LEVEL.values())}


def test_no_patch_outlives_its_day() -> None:
    today = datetime.now(UTC).date()
    overdue = {p: day for p, day in patches.REMOVE_AFTER.items() if day < today}
    assert not overdue, (
        f"remove these patches and their old branches (every session started before "
        f"them has closed): {overdue}"
    )
