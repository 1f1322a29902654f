"""``hookflow deliveries list --after``: the next page's cursor on stderr, every row
once while new deliveries arrive; a bad cursor is one error line."""

from __future__ import annotations

import json
import re
from datetime import timedelta
from pathlib import Path

from activities.store.database import init_db, make_engine
from tests.paging import BASE, add_deliveries
from tests.worker.cli import Cli


def test_list_pages_with_after(cli: Cli, tmp_path: Path) -> None:
    engine = make_engine(f"sqlite:///{tmp_path / 'hookflow.db'}")
    init_db(engine)
    expected = add_deliveries(engine, 17, status="held")
    add_deliveries(engine, 3, status="delivered")
    seen: list[str] = []
    args = ["deliveries", "list", "--status", "held", "--limit", "4", "--json"]
    after: list[str] = []
    while True:
        code, out, err = cli.run(*args, *after)
        assert code == 0, err
        seen += [row["id"] for row in json.loads(out)]
        add_deliveries(engine, 2, status="held", start=BASE + timedelta(days=len(seen)))
        found = re.search(r"^next page: --after (\S+)$", err, re.MULTILINE)
        if not found:
            break
        after = ["--after", found[1]]
    assert seen == expected

    table = cli.run("deliveries", "list", "--limit", "3")
    assert len(table[1].splitlines()) == 4 and "next page: --after" in table[2]

    code, err = cli.fails("deliveries", "list", "--after", "bm90IG91cnM")
    assert code != 0 and len(err.strip().splitlines()) == 1 and "invalid cursor" in err
    engine.dispose()
