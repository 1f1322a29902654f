"""``hookflow webhooks list --after``: the next page's cursor on stderr, every
webhook once by project and alias; a bad cursor is one error line."""

from __future__ import annotations

import json
import re
from pathlib import Path

from activities.store.crypto import SecretBox
from activities.store.database import init_db, make_engine
from tests.helpers import add_webhook
from tests.worker.cli import Cli
from worker.runtime.settings import Settings


def test_webhooks_list_pages_with_after(cli: Cli, tmp_path: Path) -> None:
    engine = make_engine(f"sqlite:///{tmp_path / 'hookflow.db'}")
    init_db(engine)
    box = SecretBox(Settings(data_dir=tmp_path).secret_key())
    expected = [(p, f"h{n}") for p in ("acme", "beta") for n in range(5)]
    for project, alias in reversed(expected):
        add_webhook(
            engine,
            box,
            project=project,
            alias=alias,
            type="session_created",
            url="http://127.0.0.1:9/r",
        )
    seen: list[tuple[str, str]] = []
    after: list[str] = []
    while True:
        code, out, err = cli.run("webhooks", "list", "--limit", "4", "--json", *after)
        assert code == 0, err
        seen += [(w["project"], w["alias"]) for w in json.loads(out)]
        found = re.search(r"^next page: --after (\S+)$", err, re.MULTILINE)
        if not found:
            break
        after = ["--after", found[1]]
    assert seen == expected  # none skipped, none repeated, in order

    code, out, err = cli.run("webhooks", "list", "--project", "beta", "--limit", "3")
    assert len(out.splitlines()) == 4 and "next page: --after" in err
    code, out, err = cli.run("webhooks", "list", "--project", "beta")
    assert len(out.splitlines()) == 6 and "next page" not in err

    code, err = cli.fails("webhooks", "list", "--after", "bm90IG91cnM")
    assert code != 0 and len(err.strip().splitlines()) == 1 and "invalid cursor" in err
    engine.dispose()
