"""Time from a ``field_changed`` update call to its answer, with a loopback endpoint.

.venv/bin/python -m benchmarks.remote_data [--calls 200]
"""

from __future__ import annotations

import argparse
import asyncio
import statistics
import tempfile
import time
from pathlib import Path

from activities.contracts import FieldValue
from tests.helpers import add_webhook, local_setup, start, start_dev_env
from worker.devstack.receiver import Receiver, Reply
from worker.runtime.assembly import running_worker

CHANGE = {"change": {"id": "customer_id", "type": "text", "value": "C-1042"}, "fields": []}


async def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--calls", type=int, default=200)
    args = parser.parse_args()
    env = await start_dev_env()
    with tempfile.TemporaryDirectory() as tmp, Receiver() as receiver:
        settings, engine, box = local_setup(Path(tmp), key="bench")
        add_webhook(engine, box, project="bench", type="remote_data", url=receiver.url("/crm"))
        receiver.always("/crm", Reply(body=b'[{"id": "customer_name", "value": "Dana"}]'))
        async with running_worker(env.client, settings, engine=engine, box=box):
            handle = await start(env.client, settings, project="bench")
            timings = []
            for _ in range(args.calls):
                started = time.perf_counter()
                await handle.execute_update("field_changed", CHANGE, result_type=list[FieldValue])
                timings.append((time.perf_counter() - started) * 1000)
    await env.shutdown()
    timings.sort()
    p95 = timings[int(len(timings) * 0.95) - 1]
    print(f"field_changed, {args.calls} calls, dev server in memory, loopback endpoint")
    median = statistics.median(timings)
    print(f"  median {median:6.1f} ms   p95 {p95:6.1f} ms   max {timings[-1]:6.1f} ms")


if __name__ == "__main__":
    asyncio.run(main())
