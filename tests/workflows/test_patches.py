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
        for match in re.finditer(r"workflow\.patched\(([^)]*)\)", path.read_text())
    }
    assert calls, "no workflow.patched call found"
    declared = {
        name
        for name, value in vars(patches).items()
        if isinstance(value, str) and value in patches.REMOVE_AFTER
    }
    # Each call names a constant of workflows/patches.py, never an inline string.
    assert calls <= declared, calls - declared


def test_no_patch_outlives_its_day() -> None:
    today = datetime.now(UTC).date()
    overdue = {p: day for p, day in patches.REMOVE_AFTER.items() if day < today}
    assert not overdue, (
        f"remove these patches and their old branches (every session started before "
        f"them has closed): {overdue}"
    )
