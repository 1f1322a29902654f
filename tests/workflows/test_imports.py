"""Workflow code sees contracts and activity names only: importing it loads no
HTTP client, database, cryptography or XML library."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

from activities import catalog
from activities.catalog import BY_SIGNAL, CATALOG, HookType, register
from activities.contracts import ClientSignal

WORKFLOW_MODULES = sorted(
    f"workflows.{path.stem}"
    for path in (Path(__file__).parents[2] / "workflows").glob("*.py")
    if path.stem != "__init__"
)
HEAVY = ("httpx", "httpcore", "sqlalchemy", "sqlmodel", "cryptography", "xmltodict")


@pytest.mark.parametrize("module", WORKFLOW_MODULES)
def test_a_workflow_module_loads_no_io_library(module: str) -> None:
    probe = f"import sys, {module}\nprint(','.join(m for m in {HEAVY!r} if m in sys.modules))"
    loaded = subprocess.run(
        [sys.executable, "-c", probe], capture_output=True, text=True, check=True
    ).stdout.strip()
    assert loaded == "", f"{module} loads {loaded}"


def test_every_built_in_signal_is_routed_by_the_catalog() -> None:
    signals = {hook.signal: hook.name for hook in catalog._types() if hook.signal}
    assert {name: BY_SIGNAL[name].name for name in signals} == signals
    assert set(signals) >= {"client_logged_in", "form_loaded", "form_submitted", "expire"}


def test_a_type_is_registered_once_with_a_signal_of_its_own() -> None:
    hook = HookType(
        name="document_signed_twice",
        event="WHEF_DOCUMENT_SIGNED_TWICE",
        title="t",
        trigger="t",
        request_example={},
        signal="form_loaded",
        payload=ClientSignal,
    )
    with pytest.raises(ValueError, match="signal name of its own"):
        register(hook)
    with pytest.raises(ValueError, match="already exists"):
        register(CATALOG["archive"])
    assert "document_signed_twice" not in CATALOG
