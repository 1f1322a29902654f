"""Expected failures read as one line: in the worker's log and in the Web UI.

A delivery that fails (HTTP 503, a timeout, a refused destination) is what
hookflow exists to handle, not a bug: its ``ApplicationError`` carries a
``FailureType`` and a one-line message that says everything. The SDK would
log a traceback for each one and attach the Python stack trace that the UI
shows on every pending activity; both are noise there, so they are dropped
for expected failures only. Anything else keeps its traceback.

With the payload codec, the SDK moves every failure's message and stack trace
into encoded attributes, and the Web UI shows "Encoded failure". An expected
failure's message is written to carry no personal data and no secret (the
webhook's alias and host, an HTTP status, the attempt and the next one:
"HTTP 500 from crm (crm.example.com), attempt 2/8; next attempt in 5s"), so
it stays in clear, one line; its details, and everything about any other
failure, stay encoded.

A validation error reads as one line too (``describe_validation``), on the
command line and in the API's answers alike.
"""

from __future__ import annotations

import logging
from typing import Any, TypeGuard

from temporalio.api.failure.v1 import Failure
from temporalio.converter import DefaultFailureConverterWithEncodedAttributes, PayloadConverter
from temporalio.exceptions import ApplicationError

from activities.contracts import FailureType
from worker.runtime.messages import describe_validation as describe_validation

EXPECTED_TYPES = frozenset(kind.value for kind in FailureType)
# The SDK marks its "Completing activity as failed" records with this extra.
_SDK_FAILURE_MARK = "__temporal_error_identifier"


def is_expected(error: BaseException | None) -> TypeGuard[ApplicationError]:
    """An ``ApplicationError`` whose type is one of hookflow's ``FailureType``s."""
    return isinstance(error, ApplicationError) and error.type in EXPECTED_TYPES


MAX_CLEAR_MESSAGE = 300
"""An expected failure's message in clear is one line of at most this many characters."""


def clear_message(message: str) -> str:
    """An expected failure's message as the Web UI shows it: one line, bounded."""
    return " ".join(message.split())[:MAX_CLEAR_MESSAGE]


class ExpectedFailureConverter(DefaultFailureConverterWithEncodedAttributes):
    """The SDK's converter (message and stack trace encoded by the codec), except
    that an expected failure has no stack trace and keeps its one-line message
    in clear as well, so that the Web UI reads it; its details stay encoded."""

    def to_failure(
        self, exception: BaseException, payload_converter: PayloadConverter, failure: Failure
    ) -> None:
        if not is_expected(exception):
            super().to_failure(exception, payload_converter, failure)
            return
        if exception.__traceback__ is not None:
            # The exception is done with once converted: the SDK logged it already.
            exception = exception.with_traceback(None)
        super().to_failure(exception, payload_converter, failure)
        # In place of "Encoded failure"; decoding restores the same message.
        failure.message = clear_message(exception.message)


class OneLineExpectedFailures(logging.Filter):
    """Turns the SDK's "Completing activity as failed" record of an expected
    failure into one line: activity, workflow, failure type and message."""

    def filter(self, record: logging.LogRecord) -> bool:
        error = record.exc_info[1] if record.exc_info else None
        if getattr(record, _SDK_FAILURE_MARK, None) != "ActivityFailure" or not is_expected(error):
            return True
        details: dict[str, Any] = getattr(record, "temporal_activity", None) or {}
        where = ", ".join(
            str(details[key]) for key in ("workflow_id", "activity_type") if details.get(key)
        )
        record.msg = f"{error.type}: {error.message}" + (f" ({where})" if where else "")
        record.args = None
        record.exc_info = None
        record.exc_text = None
        return True


_FILTER = OneLineExpectedFailures()


def quiet_expected_failures() -> None:
    """Install the filter on the SDK's activity logger (idempotent)."""
    logger = logging.getLogger("temporalio.activity")
    if _FILTER not in logger.filters:
        logger.addFilter(_FILTER)
