"""What tracing costs per delivery attempt: off (the default) and on.

Off, hookflow installs nothing (no tracer provider, no interceptor, no
instrumentation); the one thing an attempt still does is look for a trace id
for its log line. On, each POST gets an httpx client span and a
``traceparent`` header. Each mode runs in a process of its own (a tracer
provider is set once per process): N POSTs through the worker's own HTTP
clients to a loopback receiver that answers at once, one at a time, after a warm-up.

    .venv/bin/python -m benchmarks.tracing [--posts 2000]
"""

from __future__ import annotations

import argparse
import asyncio
import json
import statistics
import subprocess
import sys
import time

from activities.delivery.guard import parse_networks
from activities.delivery.http import HttpClients
from activities.log.observe import trace_id

_ANSWER = b"HTTP/1.1 200 OK\r\ncontent-type: application/json\r\ncontent-length: 2\r\n\r\n{}"


async def _answer(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
    """A receiver that costs next to nothing: reads a request, answers in one write."""
    try:
        while True:
            head = await reader.readuntil(b"\r\n\r\n")
            length = next(
                int(line.split(b":", 1)[1])
                for line in head.split(b"\r\n")
                if line.lower().startswith(b"content-length:")
            )
            await reader.readexactly(length)
            writer.write(_ANSWER)
            await writer.drain()
    except (asyncio.IncompleteReadError, ConnectionError):
        writer.close()


async def _posts(count: int) -> list[float]:
    server = await asyncio.start_server(_answer, "127.0.0.1", 0)
    port = server.sockets[0].getsockname()[1]
    http = HttpClients(allowed=parse_networks("127.0.0.0/8"))
    timings: list[float] = []
    url = f"http://127.0.0.1:{port}/hook"
    for n in range(count + 200):
        began = time.perf_counter()
        await http.post(url, content=b'{"n": 1}', headers={}, timeout=5, verify_ssl=True)
        if n >= 200:  # warm-up
            timings.append((time.perf_counter() - began) * 1e6)
    await http.aclose()
    server.close()
    return timings


def run_mode(mode: str, count: int) -> None:
    if mode == "on":
        from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter

        from worker.runtime.tracing import setup_tracing

        setup_tracing({}, exporter=InMemorySpanExporter())
    timings = asyncio.run(_posts(count))
    began = time.perf_counter()
    for _ in range(100_000):
        trace_id()
    lookup = (time.perf_counter() - began) / 100_000 * 1e9
    sys.stdout.write(json.dumps({"timings": timings, "lookup_ns": lookup}) + "\n")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--posts", type=int, default=2000)
    parser.add_argument("--mode", choices=("off", "on"))
    args = parser.parse_args()
    if args.mode:
        run_mode(args.mode, args.posts)
        return
    results = {}
    for mode in ("off", "on", "off", "on"):  # twice each, interleaved
        out = subprocess.run(
            [
                sys.executable,
                "-m",
                "benchmarks.tracing",
                "--mode",
                mode,
                "--posts",
                str(args.posts),
            ],
            check=True,
            capture_output=True,
            text=True,
        ).stdout
        results.setdefault(mode, []).append(json.loads(out.splitlines()[-1]))
    for mode, runs in results.items():
        medians = [statistics.median(r["timings"]) for r in runs]
        lookups = [r["lookup_ns"] for r in runs]
        print(
            f"tracing {mode:3}: POST median {', '.join(f'{m:.0f}' for m in medians)} us; "
            f"trace id look-up {', '.join(f'{x:.0f}' for x in lookups)} ns"
        )


if __name__ == "__main__":
    main()
