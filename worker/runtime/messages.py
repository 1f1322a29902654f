"""A validation error as one line, on the command line and in the API's answers
alike (light: pydantic only, so a command that reports one loads no more)."""

from __future__ import annotations

from pydantic import ValidationError


def describe_validation(err: ValidationError) -> str:
    """The first problem of a validation error, on one line."""
    first = err.errors()[0]
    where = ".".join(str(part) for part in first["loc"])
    message = str(first["msg"]).removeprefix("Value error, ")
    more = f" (and {err.error_count() - 1} more)" if err.error_count() > 1 else ""
    return f"{where}: {message}{more}" if where else f"{message}{more}"
