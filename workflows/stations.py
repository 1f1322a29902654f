"""A business process's stations: their data merged, their files, how one ended."""

from __future__ import annotations

from typing import Any

from pydantic import JsonValue
from temporalio import workflow
from temporalio.exceptions import CancelledError, ChildWorkflowError, TerminatedError

with workflow.unsafe.imports_passed_through():
    from activities.contracts import FileRef, SessionState, StationResult
    from workflows import calls


def merged_form_data(stations: list[StationResult]) -> dict[str, JsonValue]:
    """The process's form data: every station's fields; where two stations set
    the same field, the earlier station's value stays (each station's own data
    is in ``sessions[i].form_data``)."""
    merged: dict[str, JsonValue] = {}
    for station in stations:
        for key, value in station.form_data.items():
            merged.setdefault(key, value)
    return merged


def process_attachments(stations: list[StationResult]) -> list[FileRef]:
    """Every file of the process but the final signed document, each once, in
    station order: the stations' attachments and earlier stations' documents."""
    final = stations[-1].document
    files: dict[str, FileRef] = {}
    for station in stations:
        extra = [station.document] if station.document and station.document != final else []
        for file in [*station.attachments, *extra]:
            files.setdefault(file.ref, file)
    return list(files.values())


async def ending(station: workflow.ChildWorkflowHandle[Any, SessionState]) -> str:
    """How a station's session ended without being submitted, in a few words."""
    try:
        ended = await station
    except ChildWorkflowError as err:
        return f"was {_ended_how(err)}"
    return f"ended {ended.status.value} before it was submitted"


def _ended_how(err: ChildWorkflowError) -> str:
    if isinstance(err.cause, TerminatedError):
        return "terminated"
    if isinstance(err.cause, CancelledError):
        return "cancelled"
    return f"failed ({calls.one_line(err.cause or err)})"
