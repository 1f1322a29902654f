"""The throughput benchmark, small: both sides deliver everything and every
figure is printed (the figures themselves are read by people, not asserted)."""

from __future__ import annotations

import subprocess
import sys

import pytest


@pytest.mark.timeout(300)
def test_the_benchmark_runs_both_sides_and_prints_every_figure() -> None:
    run = subprocess.run(
        [
            sys.executable,
            "-m",
            "benchmarks.throughput",
            "--server",
            "memory",
            "--shapes",
            "4x3",
            "--bursts",
            "6",
            "--latency-seconds",
            "1",
        ],
        capture_output=True,
        text=True,
        timeout=280,
    )
    assert run.returncode == 0, run.stderr[-3000:]
    lines = run.stdout.splitlines()
    for side in ("plain loop", "hookflow"):
        figures = [line for line in lines if line.strip().startswith(side)]
        # steady state, burst, latency at 20 events/s and at half the side's rate
        assert len(figures) == 4, run.stdout
        assert "deliveries/s" in figures[0] and "CPU per 1,000 deliveries" in figures[0]
        assert "sessions/s" in figures[1]
        assert all("p50" in line and "p99" in line for line in figures[2:]), run.stdout
    opened = [line for line in lines if "sessions open:" in line]
    assert len(opened) == 2 and all("worker RSS" in line for line in opened), run.stdout
