"""The payload codec's cost: hookflow's worker with and without it, beside the
plain loop, in one run on one dev server (in-process workers: ``hookflow
worker`` itself always encrypts).

    .venv/bin/python -m benchmarks.codec [--sessions 100] [--events 10]

It times the codec itself too (CPU time of the thread that runs it), so
its cost per delivery is printed beside the rates.
"""

from __future__ import annotations

import argparse
import asyncio
import multiprocessing
import os
import sys
import tempfile
import time
import uuid
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

import httpx
from temporalio.api.common.v1 import Payload
from temporalio.client import Client
from temporalio.converter import PayloadCodec
from temporalio.worker import Worker

from activities.contracts import SessionState
from benchmarks.plain import PlainActivities, PlainSession
from tests.helpers import add_webhook, codec_client, local_setup, start, start_dev_env
from worker.assembly import running_worker
from worker.codec import EncryptionCodec, KeyRing
from worker.receiver import Receiver

BIN = Path(sys.executable).parent


# --- the receiver, in a process of its own -----------------------------------------


def _serve(port_out: Any, stop: Any, counter: Any) -> None:
    with Receiver() as receiver:
        port_out.put(receiver.port)
        while not stop.wait(0.05):
            counter.value = len(receiver.requests)


class ReceiverProcess:
    def __enter__(self) -> ReceiverProcess:
        ctx = multiprocessing.get_context("spawn")
        self._stop = ctx.Event()
        self._counter = ctx.Value("i", 0)
        ports: Any = ctx.Queue()
        self._process = ctx.Process(target=_serve, args=(ports, self._stop, self._counter))
        self._process.start()
        self.port = ports.get(timeout=30)
        return self

    def url(self, path: str) -> str:
        return f"http://127.0.0.1:{self.port}{path}"

    @property
    def count(self) -> int:
        return int(self._counter.value)

    async def wait_for(self, count: int, timeout: float = 600) -> None:
        deadline = time.monotonic() + timeout
        while self.count < count:
            if time.monotonic() > deadline:
                raise TimeoutError(f"{self.count} of {count} deliveries arrived")
            await asyncio.sleep(0.02)

    def __exit__(self, *_exc: object) -> None:
        self._stop.set()
        self._process.join(10)


# --- runs ------------------------------------------------------------------------


async def run_plain(client: Client, receiver: ReceiverProcess, sessions: int, events: int) -> float:
    queue = f"plain-{uuid.uuid4().hex[:6]}"
    async with httpx.AsyncClient() as http:
        worker = Worker(
            client,
            task_queue=queue,
            workflows=[PlainSession],
            activities=[PlainActivities(http).post],
            max_concurrent_activities=200,
        )
        async with worker:
            base = receiver.count
            handles = [
                await client.start_workflow(
                    PlainSession.run,
                    receiver.url("/plain"),
                    id=f"plain-{uuid.uuid4()}",
                    task_queue=queue,
                )
                for _ in range(sessions)
            ]
            started = time.perf_counter()
            for n in range(events):
                await asyncio.gather(*(h.signal(PlainSession.event, {"n": n}) for h in handles))
            await receiver.wait_for(base + sessions * events)
            elapsed = time.perf_counter() - started
            await asyncio.gather(*(h.signal(PlainSession.finish) for h in handles))
    return sessions * events / elapsed


async def run_hookflow(
    client: Client, receiver: ReceiverProcess, sessions: int, events: int, data_dir: Path
) -> float:
    settings, engine, box = local_setup(data_dir, key="bench")
    add_webhook(engine, box, project="bench", type="storage_callback", url=receiver.url("/hf"))
    async with running_worker(client, settings, engine=engine, box=box):
        base = receiver.count
        handles = [
            await start(client, settings, project="bench", id=uuid.uuid4().hex[:10])
            for _ in range(sessions)
        ]
        # Steady state, as for the plain loop: every session has started and
        # knows its webhooks before the clock starts.
        for handle in handles:
            while not (await handle.query("state", result_type=SessionState)).webhooks:
                await asyncio.sleep(0.01)
        started = time.perf_counter()
        for n in range(events):
            await asyncio.gather(
                *(h.signal("storage_completed", {"storage": {"n": n}}) for h in handles)
            )
        await receiver.wait_for(base + sessions * events)
        elapsed = time.perf_counter() - started
        await asyncio.gather(*(h.signal("delete") for h in handles))
    engine.dispose()
    return sessions * events / elapsed


async def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sessions", type=int, default=50)
    parser.add_argument("--events", type=int, default=10)
    parser.add_argument("--only", choices=["plain", "hookflow"], help="Run one side (profiling).")
    args = parser.parse_args()
    env = await start_dev_env()
    total = args.sessions * args.events
    try:
        with ReceiverProcess() as receiver, tempfile.TemporaryDirectory() as tmp:
            plain = hookflow = encrypted = float("nan")
            if args.only != "hookflow":
                plain = await run_plain(env.client, receiver, args.sessions, args.events)
            if args.only != "plain":
                hookflow = await run_hookflow(
                    env.client, receiver, args.sessions, args.events, _dir(tmp, "plain")
                )
                codec = TimedCodec(EncryptionCodec(KeyRing((os.urandom(32),))))
                encrypted = await run_hookflow(
                    await codec_client(env, codec),
                    receiver,
                    args.sessions,
                    args.events,
                    _dir(tmp, "codec"),
                )
    finally:
        await env.shutdown()
    shape = f"{args.sessions} sessions x {args.events} events"
    print(f"{total} deliveries ({shape}), dev server in memory")
    print(f"  plain loop        {plain:7.1f} deliveries/s")
    print(f"  hookflow          {hookflow:7.1f} deliveries/s  ({hookflow / plain:.2f}x)")
    print(
        f"  hookflow + codec  {encrypted:7.1f} deliveries/s  ({encrypted / plain:.2f}x; "
        f"{encrypted / hookflow:.2f} of hookflow without the codec)"
    )
    per_delivery = codec.seconds / total
    print(
        f"  codec: {codec.payloads} payloads encrypted or decrypted, "
        f"{codec.seconds / codec.payloads * 1e6:.0f} us each, "
        f"{per_delivery * 1e3:.2f} ms per delivery "
        f"({per_delivery * encrypted:.1%} of the time per delivery with the codec)"
    )


class TimedCodec(PayloadCodec):
    """The codec, timed: what it costs per payload."""

    def __init__(self, inner: EncryptionCodec) -> None:
        self._inner = inner
        self.payloads = 0
        self.seconds = 0.0

    async def encode(self, payloads: Sequence[Payload]) -> list[Payload]:
        return self._timed(self._inner.encrypt, payloads)

    async def decode(self, payloads: Sequence[Payload]) -> list[Payload]:
        return self._timed(self._inner.decrypt, payloads)

    def _timed(
        self, apply: Callable[[Payload], Payload], payloads: Sequence[Payload]
    ) -> list[Payload]:
        # CPU time of this thread: what the codec costs, not how busy the machine is.
        started = time.thread_time()
        done = [apply(payload) for payload in payloads]
        self.seconds += time.thread_time() - started
        self.payloads += len(payloads)
        return done


def _dir(root: str, name: str) -> Path:
    path = Path(root) / name
    path.mkdir()
    return path


if __name__ == "__main__":
    asyncio.run(main())
