"""Printing for the command line: tables, JSON and one-line errors; JSON and ``K=V`` in."""

from __future__ import annotations

import asyncio
import json
from collections.abc import Awaitable, Callable, Sequence
from pathlib import Path
from typing import Any, TypeVar

import click


class CommandError(click.ClickException):
    """A command failed; ``main`` prints it as one line and exits non-zero."""


def print_json(value: Any) -> None:
    if hasattr(value, "model_dump"):  # a pydantic model
        value = value.model_dump(mode="json")
    elif isinstance(value, list) and value and hasattr(value[0], "model_dump"):
        value = [item.model_dump(mode="json") for item in value]
    click.echo(json.dumps(value, indent=2, default=str))


def print_table(headers: Sequence[str], rows: Sequence[Sequence[Any]]) -> None:
    cells = [[str(h) for h in headers]] + [["" if c is None else str(c) for c in r] for r in rows]
    widths = [max(len(row[i]) for row in cells) for i in range(len(headers))]
    for row in cells:
        click.echo(
            "  ".join(cell.ljust(width) for cell, width in zip(row, widths, strict=True)).rstrip()
        )


def print_fields(pairs: Sequence[tuple[str, Any]]) -> None:
    width = max(len(name) for name, _ in pairs)
    for name, value in pairs:
        click.echo(f"{name.ljust(width)}  {'' if value is None else value}")


def plural(count: int, singular: str, many: str | None = None) -> str:
    """``1 delivery``, ``2 deliveries``, ``0 events``."""
    return f"{count} {singular if count == 1 else many or singular + 's'}"


def load_json_arg(text: str, what: str) -> Any:
    """JSON given inline or as ``@FILE``."""
    from activities.contracts import MAX_SIGNAL_BYTES

    if text.startswith("@"):
        try:
            text = Path(text[1:]).read_text()
        except OSError as err:
            raise CommandError(f"{what}: cannot read {text[1:]}: {err.strerror}") from None
    if len(text.encode()) > MAX_SIGNAL_BYTES:
        raise CommandError(f"{what}: larger than {MAX_SIGNAL_BYTES // 1024} KiB")
    try:
        return json.loads(text)
    except json.JSONDecodeError as err:
        raise CommandError(f"{what}: not valid JSON: {err.msg} at line {err.lineno}") from None


def parse_pairs(values: Sequence[str], what: str) -> dict[str, str]:
    """``K=V`` options into a dict; a malformed one is an error."""
    pairs: dict[str, str] = {}
    for item in values:
        key, sep, value = item.partition("=")
        if not sep or not key.strip():
            raise CommandError(f"{what} must look like KEY=VALUE, got {item!r}")
        pairs[key.strip()] = value
    return pairs


T = TypeVar("T")
P = TypeVar("P")


def print_list(
    items: Sequence[T], *, as_json: bool, headers: Sequence[str], row: Callable[[T], Sequence[Any]]
) -> None:
    """``--json``: the items as a JSON list; otherwise a table, one row each."""
    if as_json:
        print_json(list(items))
    else:
        print_table(headers, [row(item) for item in items])


async def follow(
    work: Awaitable[T],
    poll: Callable[[], Awaitable[P]],
    describe: Callable[[P], str],
    *,
    every: float = 0.5,
) -> T:
    """Await ``work``, printing ``describe(poll())`` to stderr whenever it changes."""
    task = asyncio.ensure_future(work)
    last = ""
    while True:
        finished = task.done()
        try:
            line = describe(await poll())
        except Exception:  # progress is best effort; the work decides the outcome
            line = last
        if line != last:
            click.echo(line, err=True)
            last = line
        if finished:
            return task.result()
        await asyncio.wait([task], timeout=every)


_Command = TypeVar("_Command", bound=Callable[..., Any])


def paged(command: _Command) -> _Command:
    """``--limit`` and ``--after``, as every list that pages takes them."""
    command = click.option(
        "--after", metavar="CURSOR", help="The next page: the cursor the last page printed."
    )(command)
    return click.option("--limit", type=click.IntRange(1, 10_000), default=100, show_default=True)(
        command
    )


def print_next(cursor: str | None) -> None:
    """After a full page, on stderr: how to ask for the next one."""
    if cursor:
        click.echo(f"next page: --after {cursor}", err=True)
