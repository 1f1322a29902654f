"""A remote-data answer is only delivered when it can fill the form: a list of
``{"id", "value"}``. Anything else is refused at the attempt, so the delivery
log says failed, with the reason, as the caller is told."""

from __future__ import annotations

import dataclasses
from typing import TYPE_CHECKING

from pydantic import TypeAdapter, ValidationError

from activities.contracts import FieldValue

if TYPE_CHECKING:  # the workflows import ``problem``: no HTTP library loaded with it
    from activities.delivery.sender import Verdict

_VALUES = TypeAdapter(list[FieldValue])


def problem(err: ValidationError | TypeError) -> str:
    """What is wrong with an answer, without the answer's values: the message
    is shown in clear in the Web UI, and an answer may hold personal data."""
    if isinstance(err, TypeError):
        return str(err)
    first = err.errors(include_input=False, include_url=False)[0]
    where = ".".join(str(part) for part in first["loc"])
    more = f" (and {err.error_count() - 1} more)" if err.error_count() > 1 else ""
    return f"{where}: {first['msg']}{more}" if where else f"{first['msg']}{more}"


def checked(verdict: Verdict) -> Verdict:
    """``verdict`` as is when its answer is usable, else refused with the reason."""
    if verdict.outcome != "delivered":
        return verdict
    try:
        if not isinstance(verdict.response, list):
            raise TypeError("not a list")
        _VALUES.validate_python(verdict.response)
    except (ValidationError, TypeError) as err:
        error = f"answer is not [{{id, value}}]: {problem(err)}"
        return dataclasses.replace(verdict, outcome="refused", error=error, response=None)
    return verdict
