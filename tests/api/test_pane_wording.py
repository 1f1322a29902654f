"""Every error the pane can show from the store and the services says its
command-line flags and commands in the pane's words: a new error that names a
flag the pane does not know fails here, before a customer reads it."""

from __future__ import annotations

import ast
import re
from pathlib import Path

from worker.api.pane.wording import FLAGS, customer_words

ROOT = Path(__file__).resolve().parents[2]
SOURCES = [
    *sorted((ROOT / "activities/store").glob("*.py")),
    *sorted((ROOT / "worker/services").glob("*.py")),
    ROOT / "activities/delivery/retry.py",
    ROOT / "activities/delivery/filters.py",
]
FLAG = re.compile(r"--[a-z][a-z-]*")


def raised_texts(path: Path) -> list[str]:
    """The literal text of every exception raised in ``path`` (f-string holes as {})."""
    texts: list[str] = []
    for node in ast.walk(ast.parse(path.read_text())):
        if isinstance(node, ast.Raise) and isinstance(node.exc, ast.Call):
            for arg in node.exc.args:
                parts = [
                    n.value if isinstance(n, ast.Constant) and isinstance(n.value, str) else "{}"
                    for n in (arg.values if isinstance(arg, ast.JoinedStr) else [arg])
                ]
                texts.append("".join(parts))
    return texts


def test_every_flag_in_an_error_has_a_form_field() -> None:
    texts = [text for path in SOURCES for text in raised_texts(path)]
    flagged = [text for text in texts if FLAG.search(text) or "hookflow " in text]
    assert len(flagged) >= 4, flagged  # the scan finds the errors it guards
    for text in flagged:
        unknown = set(FLAG.findall(text)) - set(FLAGS)
        said = customer_words(text)
        assert not unknown, f"{text!r}: add {unknown} to wording.FLAGS"
        assert not FLAG.search(said) and "hookflow " not in said, (text, said)
        assert "`" not in said, said


def test_phrases_read_as_the_form_says_them() -> None:
    cases = {
        "credentials in the URL are not allowed: use --basic-auth": (
            "credentials in the URL are not allowed: put them under Authentication: Basic"
        ),
        "templates can be coupled to explicit webhooks only (--explicit)": (
            "templates can be coupled to explicit webhooks only (Mode: Explicit)"
        ),
        "project 'acme' has no secret 'crm': add it with `hookflow secrets add`": (
            "project 'acme' has no secret 'crm': ask your administrator to add it"
        ),
        "webhook crm is disabled (x): enable it with `hookflow webhooks update --enable` first": (
            "webhook crm is disabled (x): tick Enabled on the webhook's page and Save first"
        ),
    }
    for text, said in cases.items():
        assert customer_words(text) == said
