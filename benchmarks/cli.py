"""How long a ``hookflow`` command takes to answer, beside ``python -c pass``.

.venv/bin/python -m benchmarks.cli [--runs 10] [--source DIR]

Each command runs in a fresh interpreter, as the ``hookflow`` script runs it
(``worker.cli.main:entry_point``), against a temporary data dir holding one
webhook (created before timing, so no command pays for creating the store).
Figures are wall-clock seconds: the best of ``--runs`` and the median.
``--source DIR`` times another checkout of hookflow (say, an older commit
extracted with ``git archive``) with the same interpreter, for a before/after
in one run.
"""

from __future__ import annotations

import argparse
import os
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Sequence
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
ENTRY = "from worker.cli.main import entry_point; entry_point()"
WEBHOOK = ["--type", "form_submitted", "--url", "https://crm.example.com/hooks/forms"]
COMMANDS: list[tuple[str, list[str]]] = [
    ("hookflow --help", ["--help"]),
    ("hookflow webhooks --help", ["webhooks", "--help"]),
    ("hookflow webhooks list", ["webhooks", "list"]),
    ("hookflow webhooks show crm", ["webhooks", "show", "crm"]),
    ("hookflow webhooks add ...", ["webhooks", "add", "--project", "acme", *WEBHOOK]),
    ("hookflow secrets list", ["secrets", "list"]),
    ("hookflow keys list", ["keys", "list"]),
]


def timed(argv: Sequence[str], *, cwd: Path, env: dict[str, str]) -> float:
    started = time.perf_counter()
    done = subprocess.run(argv, cwd=cwd, env=env, capture_output=True, text=True, check=False)
    elapsed = time.perf_counter() - started
    if done.returncode != 0:
        raise SystemExit(f"{' '.join(argv[3:])} failed: {done.stderr.strip()[-300:]}")
    return elapsed


def measure(source: Path, runs: int) -> list[tuple[str, float, float]]:
    with tempfile.TemporaryDirectory(prefix="hookflow-cli-") as tmp:
        data = Path(tmp) / ".hookflow"
        env = {**os.environ, "HOOKFLOW_DATA_DIR": str(data)}
        for name in ("HOOKFLOW_DATABASE_URL", "HOOKFLOW_SECRET_KEY", "HOOKFLOW_ALLOW_NETWORKS"):
            env.pop(name, None)
        hookflow = [sys.executable, "-c", ENTRY]
        # The store as `hookflow up` leaves it: created, migrated, one webhook.
        timed(
            [*hookflow, "webhooks", "add", "--project", "acme", "--alias", "crm", *WEBHOOK],
            cwd=source,
            env=env,
        )
        rows = []
        baseline = [timed([sys.executable, "-c", "pass"], cwd=source, env=env) for _ in range(runs)]
        rows.append(("python -c pass", min(baseline), statistics.median(baseline)))
        for label, args in COMMANDS:
            times = []
            for run in range(runs):
                argv = list(args)
                if args[:2] == ["webhooks", "add"]:
                    argv += ["--alias", f"bench-{run}"]
                times.append(timed([*hookflow, *argv], cwd=source, env=env))
            rows.append((label, min(times), statistics.median(times)))
        return rows


def main(argv: Sequence[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--runs", type=int, default=10, help="runs of each command")
    parser.add_argument("--source", type=Path, action="append", help="another checkout to time")
    args = parser.parse_args(argv)
    sources = [ROOT, *(path.resolve() for path in args.source or [])]
    results = {source: measure(source, args.runs) for source in sources}
    cpus = os.cpu_count()
    print(f"wall seconds, best and median of {args.runs} runs ({cpus} CPUs)")
    header = "command".ljust(30) + "".join(f"{str(s)[-22:]:>26}" for s in sources)
    print(header)
    for index, (label, *_rest) in enumerate(results[ROOT]):
        cells = "".join(
            f"{results[s][index][1]:>14.3f} ({results[s][index][2]:.3f})" + " " * 2 for s in sources
        )
        print(f"{label.ljust(30)}{cells}")


if __name__ == "__main__":
    main()
