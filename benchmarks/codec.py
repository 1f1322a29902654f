"""The payload codec's cost: hookflow's worker with and without it, in one run
on one dev server (in-process workers: ``hookflow worker`` itself always
encrypts; ``benchmarks.throughput`` compares it with the plain loop).

    .venv/bin/python -m benchmarks.codec [--sessions 100] [--events 10]

It times the codec itself too (CPU time of the thread that runs it), so
its cost per delivery is printed beside the rates.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import tempfile
import time
import uuid
from collections.abc import Callable, Sequence
from pathlib import Path

from temporalio.api.common.v1 import Payload
from temporalio.client import Client
from temporalio.converter import PayloadCodec

from activities.contracts import SessionState
from benchmarks.loopback import Loopback
from tests.helpers import add_webhook, codec_client, local_setup, start, start_dev_env
from worker.runtime.assembly import running_worker
from worker.runtime.codec import EncryptionCodec, KeyRing


async def run_hookflow(
    client: Client, receiver: Loopback, sessions: int, events: int, data_dir: Path
) -> float:
    """Deliveries per second in steady state: every session has started and
    knows its webhooks before the clock starts."""
    data_dir.mkdir()
    settings, engine, box = local_setup(data_dir, key="bench")
    add_webhook(engine, box, project="bench", type="storage_callback", url=receiver.url("/hf"))
    async with running_worker(client, settings, engine=engine, box=box):
        base = receiver.count("/hf")
        handles = [
            await start(client, settings, project="bench", id=uuid.uuid4().hex[:10])
            for _ in range(sessions)
        ]
        for handle in handles:
            while not (await handle.query("state", result_type=SessionState)).webhooks:
                await asyncio.sleep(0.01)
        started = time.perf_counter()
        for n in range(events):
            await asyncio.gather(
                *(h.signal("storage_completed", {"storage": {"n": n}}) for h in handles)
            )
        await receiver.wait_for("/hf", base + sessions * events)
        elapsed = time.perf_counter() - started
        await asyncio.gather(*(h.signal("delete") for h in handles))
    engine.dispose()
    return sessions * events / elapsed


async def main() -> None:
    parser = argparse.ArgumentParser(description=(__doc__ or "").splitlines()[0])
    parser.add_argument("--sessions", type=int, default=50)
    parser.add_argument("--events", type=int, default=10)
    args = parser.parse_args()
    env = await start_dev_env()
    total = args.sessions * args.events
    codec = TimedCodec(EncryptionCodec(KeyRing((os.urandom(32),))))
    try:
        with Loopback() as receiver, tempfile.TemporaryDirectory() as tmp:
            shape = (args.sessions, args.events)
            plain = await run_hookflow(env.client, receiver, *shape, Path(tmp) / "plain")
            encrypted = await run_hookflow(
                await codec_client(env, codec), receiver, *shape, Path(tmp) / "codec"
            )
    finally:
        await env.shutdown()
    print(f"{total} deliveries ({args.sessions} sessions x {args.events} events), in memory")
    print(f"  hookflow          {plain:7.1f} deliveries/s")
    print(f"  hookflow + codec  {encrypted:7.1f} deliveries/s  ({encrypted / plain:.2f}x)")
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


if __name__ == "__main__":
    asyncio.run(main())
