"""Log lines: plain text by default, one JSON object a line with ``--log-format json``."""

from __future__ import annotations

import json
import logging

from activities.log.observe import error_kind
from worker.runtime.logs import JsonFormatter, TextFormatter

FIELDS = {"outcome": "delivered", "session": "xM72By4JkM", "status_code": 200, "error": None}


def record() -> logging.LogRecord:
    line = logging.LogRecord("hookflow.attempts", logging.INFO, __file__, 1, "attempt", (), None)
    line.fields = FIELDS
    return line


def test_text_appends_the_fields() -> None:
    assert TextFormatter().format(record()) == (
        "INFO hookflow.attempts: attempt outcome=delivered session=xM72By4JkM status_code=200"
    )


def test_json_is_one_object_a_line() -> None:
    text = JsonFormatter().format(record())
    assert "\n" not in text
    line = json.loads(text)
    assert line["level"] == "info" and line["logger"] == "hookflow.attempts"
    assert {k: line[k] for k in FIELDS} == FIELDS
    assert line["time"].endswith("+00:00")


def test_an_error_is_named_without_what_it_quotes() -> None:
    assert (
        error_kind("HTTP 302 redirect to 'https://x.example/?token=abc' not followed") == "HTTP 302"
    )
    assert error_kind("HTTP 200 with an error body") == "HTTP 200"
    assert error_kind("ConnectError: [Errno 111] Connection refused") == "ConnectError"
    assert error_kind("timed out after 5s") == "timed out after 5s"
    assert error_kind("destination a.example refused: 10.0.0.1 is private") == (
        "destination a.example refused"
    )
