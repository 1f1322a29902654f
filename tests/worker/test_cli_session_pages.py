"""``hookflow sessions list --after``: Temporal's page token as an opaque cursor;
every session once over several pages; a bad cursor is one error line."""

from __future__ import annotations

import asyncio
import json
import re
import uuid

from temporalio.client import Client
from temporalio.worker import Worker

from tests.helpers import eventually
from tests.worker.cli import Cli
from tests.worker.session_commands import cli_fixture, client_fixture  # noqa: F401
from worker.services.cursors import encode_cursor


async def test_sessions_list_pages_with_after(cli: Cli, client: Client, worker: Worker) -> None:
    project = f"p{uuid.uuid4().hex[:8]}"

    def create() -> str:
        return cli.ok("sessions", "create", "--project", project, "--template", "t").strip()

    created = [await asyncio.to_thread(create) for _ in range(7)]

    def listed() -> list[str]:
        return [
            s["id"] for s in json.loads(cli.ok("sessions", "list", "--project", project, "--json"))
        ]

    await eventually(lambda: asyncio.to_thread(listed), lambda ids: len(ids) == 7, timeout=15)

    seen: list[str] = []
    after: list[str] = []
    pages = 0
    while True:
        args = ["sessions", "list", "--project", project, "--limit", "3", "--json", *after]
        code, out, err = await asyncio.to_thread(cli.run, *args)
        assert code == 0, err
        seen += [s["id"] for s in json.loads(out)]
        pages += 1
        found = re.search(r"^next page: --after (\S+)$", err, re.MULTILINE)
        if not found:
            break
        after = ["--after", found[1]]
    assert pages >= 3
    assert len(seen) == len(set(seen)) and sorted(seen) == sorted(created)  # once each
    assert seen == await asyncio.to_thread(listed)  # in the order of one long page

    table = await asyncio.to_thread(
        cli.run, "sessions", "list", "--project", project, "--limit", "2"
    )
    assert "next page: --after" in table[2] and "2 sessions" in table[2]

    garbage_token = encode_cursor(["Z2FyYmFnZQ"])  # a cursor of ours, a token Temporal refuses
    for bad in ("bm90IG91cnM", "%%%", garbage_token):
        code, err = await asyncio.to_thread(cli.fails, "sessions", "list", "--after", bad)
        assert code != 0 and len(err.strip().splitlines()) == 1, err
        assert "invalid cursor" in err
