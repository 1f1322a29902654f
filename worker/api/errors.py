"""Errors as the API answers them: JSON with one clear line, and the right status.

Every ``HookflowError`` maps to a status here, once; routes raise the same
errors the command line prints.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse, Response
from pydantic import BaseModel, ValidationError
from sqlalchemy.exc import SQLAlchemyError
from starlette.exceptions import HTTPException

from activities.errors import (
    ConfigError,
    Conflict,
    HookflowError,
    NotFound,
    TemporalUnavailable,
    TooLarge,
    UpstreamFailed,
    WorkflowClosed,
)
from worker.runtime.failures import describe_validation


class Unauthorized(HookflowError):
    """No key, a malformed, unknown or revoked key."""


class Forbidden(HookflowError):
    """The key's project is not the one the request names."""


class ErrorOut(BaseModel):
    """Every error answer: one line for a person, a stable code for a program."""

    detail: str
    code: str


# Most specific first: NotFound and Conflict are ConfigErrors too.
_STATUSES: list[tuple[type[HookflowError], int, str]] = [
    (Unauthorized, 401, "unauthorized"),
    (Forbidden, 403, "forbidden"),
    (NotFound, 404, "not_found"),
    (Conflict, 409, "conflict"),
    (WorkflowClosed, 409, "closed"),
    (ConfigError, 422, "invalid"),
    (TooLarge, 413, "too_large"),
    (UpstreamFailed, 424, "upstream_failed"),  # a 4xx: the request failed on a dependency
    (TemporalUnavailable, 503, "temporal_unavailable"),
]

ERROR_RESPONSES: dict[int | str, dict[str, Any]] = {
    status: {"model": ErrorOut, "description": description}
    for status, description in (
        (401, "No valid key"),
        (403, "The body names another project"),
        (404, "Not found (or another project's)"),
        (409, "Conflict"),
        (413, "Too large: nothing was written"),
        (422, "Invalid input: nothing was written"),
    )
}


def status_of(err: HookflowError) -> tuple[int, str]:
    for kind, status, code in _STATUSES:
        if isinstance(err, kind):
            return status, code
    return 422, "invalid"


def error(status: int, code: str, detail: str) -> JSONResponse:
    headers = {"WWW-Authenticate": "Bearer"} if status == 401 else None
    body = ErrorOut(detail=" ".join(detail.split())[:500], code=code)
    return JSONResponse(body.model_dump(), status_code=status, headers=headers)


HtmlError = Callable[[Request, int, str], Response]


def install(app: FastAPI, *, html: HtmlError) -> None:
    """Answer every failure as ``ErrorOut`` (the pane's pages: as a page, by ``html``)."""

    @app.exception_handler(HookflowError)
    async def _hookflow(request: Request, err: HookflowError) -> Response:
        status, code = status_of(err)
        if _wants_page(request):
            return html(request, status, str(err))
        return error(status, code, str(err))

    @app.exception_handler(RequestValidationError)
    async def _request(_request: Request, err: RequestValidationError) -> JSONResponse:
        return error(422, "invalid", _first_problem(err.errors()))

    @app.exception_handler(ValidationError)
    async def _model(_request: Request, err: ValidationError) -> JSONResponse:
        return error(422, "invalid", describe_validation(err))

    @app.exception_handler(UnicodeError)
    async def _unicode(_request: Request, _err: UnicodeError) -> JSONResponse:
        return error(422, "invalid", "text must be valid Unicode")

    @app.exception_handler(SQLAlchemyError)
    async def _database(_request: Request, err: SQLAlchemyError) -> JSONResponse:
        cause = err.__cause__ or err
        if isinstance(cause, UnicodeError | OverflowError):
            return error(422, "invalid", "a value cannot be stored (invalid text or number)")
        return error(503, "database", f"database error: {type(cause).__name__}")

    @app.exception_handler(HTTPException)
    async def _http(_request: Request, err: HTTPException) -> JSONResponse:
        codes = {404: "not_found", 405: "method_not_allowed"}
        return error(err.status_code, codes.get(err.status_code, "error"), str(err.detail))


def _wants_page(request: Request) -> bool:
    path = request.url.path
    accepts = request.headers.get("accept", "")
    return not path.startswith("/api/") and path != "/openapi.json" and "text/html" in accepts


def _first_problem(problems: Any) -> str:
    if not problems:
        return "invalid request"
    first = problems[0]
    where = ".".join(str(part) for part in first.get("loc", ()) if part != "body")
    message = str(first.get("msg", "invalid")).removeprefix("Value error, ")
    more = f" (and {len(problems) - 1} more)" if len(problems) > 1 else ""
    return f"{where}: {message}{more}" if where else f"{message}{more}"
