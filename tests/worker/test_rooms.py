"""worker/'s rooms depend one way: the front doors (cli, api) on the services,
the services on the runtime; the runtime on none of them, and never on the dev
stack. Every import counts, lazy and type-only ones too."""

from __future__ import annotations

import ast
from pathlib import Path

WORKER = Path(__file__).parents[2] / "worker"
ALLOWED = {
    "runtime": set(),
    "services": {"runtime"},
    "devstack": {"runtime"},
    "api": {"services", "runtime", "devstack"},
    "cli": {"services", "runtime", "devstack", "api"},
}


def room_imports() -> dict[tuple[str, str], set[str]]:
    """(room, room it imports) -> the modules that do it."""
    found: dict[tuple[str, str], set[str]] = {}
    for path in WORKER.rglob("*.py"):
        parts = path.relative_to(WORKER).parts
        if len(parts) < 2:
            continue
        room = parts[0]
        for node in ast.walk(ast.parse(path.read_text())):
            names = []
            if isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
                names = [node.module]
            elif isinstance(node, ast.Import):
                names = [alias.name for alias in node.names]
            for name in names:
                bits = name.split(".")
                if bits[0] == "worker" and len(bits) > 1 and bits[1] != room:
                    found.setdefault((room, bits[1]), set()).add(str(path.relative_to(WORKER)))
    return found


def test_rooms_import_in_one_direction() -> None:
    edges = room_imports()
    assert set(ALLOWED) == {p.name for p in WORKER.iterdir() if (p / "__init__.py").exists()}
    wrong = {
        f"{room} -> {other}: {sorted(modules)}"
        for (room, other), modules in edges.items()
        if other not in ALLOWED[room]
    }
    assert not wrong
    # The check sees real imports: the doors do use the services and the runtime.
    assert {("cli", "services"), ("api", "services"), ("services", "runtime")} <= set(edges)
