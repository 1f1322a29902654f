"""CPU per POST of each HTTP transport, side by side in one run.

Each lever POSTs the same delivery-sized request to a loopback receiver in a
process of its own, through the worker's own
``HttpClients.post`` (guard, cap, decoding, one timeout), and this process's
CPU time is read around it (``time.process_time``), so the receiver's work is
not counted. The receiver is a bare asyncio server that answers each request
in one write: ``benchmarks.loopback``'s answers its headers and body in two
small writes, which Nagle's algorithm and delayed ACKs hold for 40 ms each,
so every lever would wait on it alike and none could go above ~25 POST/s per
connection.


- ``httpx``: httpx's client over httpcore, the guard as httpcore's network
  backend (``HOOKFLOW_HTTP_TRANSPORT=httpx``);
- ``aiohttp-via-httpx``: httpx's client (``HttpClients.client``) over the
  aiohttp transport: the transport lever alone;
- ``aiohttp``: the default, ``HttpClients.post`` straight to the aiohttp
  transport (no httpx request or response built): the transport lever and
  the lean path together; the guard in aiohttp's resolver and connector;
- ``aiohttp-bare``: aiohttp's own session, no httpx, no guard, no cap: a
  floor, not a choice, for what the httpx layer above it still costs.

Rounds alternate between the levers and the median round is reported, so a
machine that slows down midway does not favour one of them. Run
``HOOKFLOW_HTTP_TRANSPORT=httpx python -m benchmarks.throughput`` against the
default to see the same lever in a whole worker.

    .venv/bin/python -m benchmarks.transport [--posts 2000] [--concurrency 1,16] [--rounds 5]
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import json
import multiprocessing
import platform
import statistics
import time
from collections.abc import Awaitable, Callable, Iterator
from dataclasses import dataclass
from typing import Any

import aiohttp

from activities.delivery.decoding import ACCEPT_ENCODING, read_body
from activities.delivery.guard import parse_networks
from activities.delivery.http import RESPONSE_CAP, HttpClients

Post = Callable[[], Awaitable[int]]

# A delivery as hookflow sends it: about 1.5 KB of JSON and its signed headers.
BODY = json.dumps(
    {
        "type": "WHEF_SESSION_UPDATED",
        "session": {"id": "s-000123", "state": "active", "tags": ["a", "b", "c"]},
        "event": {"sequence": 42, "data": {f"field{i}": "value " * 4 for i in range(40)}},
    }
).encode()
HEADERS = {
    "content-type": "application/json",
    "webhook-id": "msg_2Kq7x1c9Tz",
    "webhook-timestamp": "1767225600",
    "webhook-signature": "v1,K5oZfzN95Z9UVu1EsfQmfVNQhnkZ2pj9o9NDN/H/pI4=",
}


ANSWER = (
    b"HTTP/1.1 200 OK\r\ncontent-type: application/json\r\ncontent-length: 21\r\n\r\n"
    b'{"status": "success"}'
)


class _Answer(asyncio.Protocol):
    """HTTP/1.1 with keep-alive, enough for these POSTs: each gets ``ANSWER``."""

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        assert isinstance(transport, asyncio.Transport)
        self._transport = transport
        self._buffer = b""

    def data_received(self, data: bytes) -> None:
        self._buffer += data
        while (end := self._buffer.find(b"\r\n\r\n")) >= 0:
            head = self._buffer[:end].lower()
            start = head.find(b"content-length:")
            length = int(head[start + 15 :].split(b"\r\n", 1)[0]) if start >= 0 else 0
            if len(self._buffer) < end + 4 + length:
                return
            self._buffer = self._buffer[end + 4 + length :]
            self._transport.write(ANSWER)


def _serve(conn: Any) -> None:
    async def serve() -> None:
        loop = asyncio.get_running_loop()
        server = await loop.create_server(_Answer, "127.0.0.1", 0, backlog=1024)
        conn.send(server.sockets[0].getsockname()[1])
        await loop.run_in_executor(None, conn.recv)  # until told to stop
        server.close()

    asyncio.run(serve())


@contextlib.contextmanager
def receiver() -> Iterator[str]:
    """The URL of a receiver running in a process of its own."""
    ctx = multiprocessing.get_context("spawn")
    parent, child = ctx.Pipe()
    process = ctx.Process(target=_serve, args=(child,), daemon=True)
    process.start()
    try:
        yield f"http://127.0.0.1:{parent.recv()}/bench"
    finally:
        parent.send("stop")
        process.join(5)
        if process.is_alive():
            process.kill()


@dataclass
class Figure:
    cpu: float
    wall: float
    posts: int

    @property
    def cpu_ms(self) -> float:
        return self.cpu / self.posts * 1000

    @property
    def per_second(self) -> float:
        return self.posts / self.wall


async def run(post: Post, posts: int, concurrency: int) -> Figure:
    left = posts

    async def worker() -> None:
        nonlocal left
        while left > 0:
            left -= 1
            status = await post()
            assert status == 200, status

    cpu, wall = time.process_time(), time.perf_counter()
    await asyncio.gather(*(worker() for _ in range(concurrency)))
    return Figure(time.process_time() - cpu, time.perf_counter() - wall, posts)


def clients_post(http: HttpClients, url: str) -> Post:
    async def post() -> int:
        reply = await http.post(url, content=BODY, headers=HEADERS, timeout=10, verify_ssl=True)
        return reply.status_code

    return post


def via_httpx_post(http: HttpClients, url: str) -> Post:
    async def post() -> int:
        client = http.client(verify_ssl=True)
        request = client.build_request(
            "POST", url, content=BODY, headers={**HEADERS, "accept-encoding": ACCEPT_ENCODING}
        )
        async with asyncio.timeout(10):
            response = await client.send(request, stream=True)
            try:
                await read_body(response.aiter_raw(), content_encoding="", cap=RESPONSE_CAP)
            finally:
                await response.aclose()
        return response.status_code

    return post


def bare_post(session: aiohttp.ClientSession, url: str) -> Post:
    async def post() -> int:
        async with session.post(url, data=BODY, headers=HEADERS) as response:
            await response.read()
            return response.status

    return post


async def measure(opts: argparse.Namespace) -> None:
    allowed = parse_networks("127.0.0.0/8")
    with receiver() as url:
        http = {name: HttpClients(allowed=allowed, transport=name) for name in ("httpx", "aiohttp")}
        session = aiohttp.ClientSession(trust_env=False, auto_decompress=False)
        levers: dict[str, Post] = {
            "httpx": clients_post(http["httpx"], url),
            "aiohttp-via-httpx": via_httpx_post(http["aiohttp"], url),
            "aiohttp": clients_post(http["aiohttp"], url),
            "aiohttp-bare": bare_post(session, url),
        }
        try:
            print(
                f"{opts.posts} POSTs of {len(BODY)} bytes per round, {opts.rounds} rounds, "
                f"median round; Python {platform.python_version()}, "
                f"httpx {_version('httpx')}, aiohttp {aiohttp.__version__}"
            )
            for concurrency in opts.concurrency:
                rounds: dict[str, list[Figure]] = {name: [] for name in levers}
                for post in levers.values():  # warm: connections, caches, imports
                    await run(post, min(200, opts.posts), concurrency)
                for _ in range(opts.rounds):
                    for name, post in levers.items():
                        rounds[name].append(await run(post, opts.posts, concurrency))
                report(concurrency, rounds)
        finally:
            for clients in http.values():
                await clients.aclose()
            await session.close()


def report(concurrency: int, rounds: dict[str, list[Figure]]) -> None:
    print(f"\nconcurrency {concurrency}")
    print(f"  {'lever':<19}{'CPU s per 1,000 POSTs':>22}{'POST/s':>10}{'CPU vs httpx':>14}")
    base = statistics.median(f.cpu_ms for f in rounds["httpx"])
    for name, figures in rounds.items():
        cpu = statistics.median(f.cpu_ms for f in figures)
        rate = statistics.median(f.per_second for f in figures)
        print(f"  {name:<19}{cpu:>22.3f}{rate:>10.0f}{cpu / base:>14.2f}")


def _version(name: str) -> str:
    from importlib.metadata import version

    return version(name)


def main() -> None:
    parser = argparse.ArgumentParser(description=(__doc__ or "").splitlines()[0])
    parser.add_argument("--posts", type=int, default=2000, help="POSTs per lever per round")
    parser.add_argument(
        "--concurrency",
        type=lambda text: [int(n) for n in text.split(",")],
        default=[1, 16],
        help="POSTs in flight at once (comma separated: one table each)",
    )
    parser.add_argument("--rounds", type=int, default=5)
    asyncio.run(measure(parser.parse_args()))


if __name__ == "__main__":
    main()
