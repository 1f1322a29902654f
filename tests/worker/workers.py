"""``hookflow worker`` as an operator runs it: a process of its own, its metrics
port scraped, its log read back."""

from __future__ import annotations

import os
import re
import signal
import subprocess
import sys
import time
from dataclasses import dataclass, field
from pathlib import Path

import httpx

HOOKFLOW = str(Path(sys.executable).parent / "hookflow")
_SAMPLE = re.compile(r"^([a-zA-Z_:][a-zA-Z0-9_:]*)(?:\{(.*)\})?\s+(\S+)$")
_LABEL = re.compile(r'([a-zA-Z_][a-zA-Z0-9_]*)="((?:[^"\\]|\\.)*)"')


def free_port() -> int:
    import socket

    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


@dataclass
class Metrics:
    """Prometheus text, parsed: ``value(name, **labels)`` sums the matching series."""

    samples: list[tuple[str, dict[str, str], float]]

    @classmethod
    def parse(cls, body: str) -> Metrics:
        samples = []
        for line in body.splitlines():
            match = _SAMPLE.match(line.strip())
            if match and not line.startswith("#"):
                name, labels, value = match.groups()
                samples.append((name, dict(_LABEL.findall(labels or "")), float(value)))
        return cls(samples)

    def value(self, name: str, **labels: str) -> float:
        return sum(
            value
            for sample, have, value in self.samples
            if sample == name and all(have.get(k) == v for k, v in labels.items())
        )

    def names(self) -> set[str]:
        return {name for name, _, _ in self.samples}


@dataclass
class WorkerProcess:
    env: dict[str, str]
    log: Path
    metrics_port: int = field(default_factory=free_port)
    args: tuple[str, ...] = ()
    metrics: bool = True
    """Serve ``--metrics-port``; without it, ready is the worker's start line."""
    process: subprocess.Popen[bytes] | None = None

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.metrics_port}"

    def start(self) -> WorkerProcess:
        with open(self.log, "ab") as log, open(self.log.with_suffix(".out"), "ab") as out:
            self.process = subprocess.Popen(
                [HOOKFLOW, "worker", *self._metrics_args(), *self.args],
                env={**os.environ, **self.env},
                stdout=out,
                stderr=log,
            )
        return self

    def _metrics_args(self) -> list[str]:
        return ["--metrics-port", str(self.metrics_port)] if self.metrics else []

    def wait_ready(self, timeout: float = 60.0) -> dict[str, object]:
        deadline = time.monotonic() + timeout
        last: object = None
        while time.monotonic() < deadline:
            assert self.process is not None and self.process.poll() is None, self.log.read_text()
            if not self.metrics:
                if "worker on " in self.log.with_suffix(".out").read_text():
                    return {"status": "ready"}
                time.sleep(0.2)
                continue
            try:
                reply = httpx.get(f"{self.url}/healthz", timeout=5)
                last = reply.json()
                if reply.status_code == 200:
                    return dict(reply.json())
            except httpx.HTTPError as err:
                last = err
            time.sleep(0.2)
        raise AssertionError(f"worker never ready: {last}\n{self.log.read_text()[-2000:]}")

    def scrape(self) -> Metrics:
        reply = httpx.get(f"{self.url}/metrics", timeout=10)
        assert reply.status_code == 200, reply.text
        assert reply.headers["content-type"].startswith("text/plain")
        return Metrics.parse(reply.text)

    def stop(self, signum: int = signal.SIGTERM) -> int | None:
        process, self.process = self.process, None
        if process is None:
            return None
        if process.poll() is None:
            process.send_signal(signum)
        try:
            return process.wait(timeout=30)
        except subprocess.TimeoutExpired:
            process.kill()
            return process.wait(timeout=10)
