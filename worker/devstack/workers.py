"""The worker processes of ``hookflow up --workers N``, supervised.

The API shares its process with no worker: each worker is ``hookflow worker``
in a process of its own, so workflow tasks and activities use every core and
never make an API call wait. The pool starts them, waits until each polls,
restarts one that dies (one log line; a worker that keeps dying is restarted
less and less often), and stops them all on Ctrl-C or SIGTERM. A worker also
ends when ``hookflow up`` dies without cleaning up (``prepare_child``), so no
orphan is left.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import os
import signal
import sys
from collections.abc import Callable, Mapping, Sequence
from typing import TYPE_CHECKING

from activities.errors import DevServerError
from worker.devstack.devserver import prepare_child

if TYPE_CHECKING:
    from worker.runtime.settings import Settings

log = logging.getLogger("hookflow.worker")

READY = b"ready\n"
"""What a worker writes to its ``--ready-fd`` once it polls its task queue."""
STABLE_SECONDS = 10.0
"""A worker that ran this long before dying is restarted at once; one that
died sooner waits 0.5 s, then 1, 2, ... up to MAX_BACKOFF."""
MAX_BACKOFF = 30.0


def worker_command(extra: Sequence[str]) -> list[str]:
    """``hookflow worker`` under this Python (the same install as ``up``)."""
    return [sys.executable, "-m", "worker.cli.main", "worker", *extra]


def worker_args(
    *, log_format: str, metrics_host: str, metrics_port: int | None, index: int, count: int
) -> list[str]:
    """The options of worker ``index`` (1..``count``): the log format of ``up``;
    with ``--metrics-port P``, worker i serves its metrics on port P + i - 1, and
    the SDK's exporter behind them listens on loopback port P + count + i - 1
    (known to the stack, so that no delivery reaches it)."""
    args = ["--log-format", log_format]
    if metrics_port:
        args += ["--metrics-host", metrics_host, "--metrics-port", str(metrics_port + index - 1)]
        args += ["--exporter-port", str(metrics_port + count + index - 1)]
    return args


def worker_env(settings: Settings, *, allowed: str) -> dict[str, str]:
    """A worker's environment: this stack's address, queue and networks, whatever
    the user's environment says (the rest of it, database and keys, is inherited),
    and the public URL ``up`` chose."""
    public = {"HOOKFLOW_PUBLIC_URL": settings.public_url} if settings.public_url else {}
    return {
        **os.environ,
        **public,
        "HOOKFLOW_DATA_DIR": str(settings.data_dir),
        "TEMPORAL_ADDRESS": settings.temporal_address,
        "TEMPORAL_NAMESPACE": settings.namespace,
        "HOOKFLOW_TASK_QUEUE": settings.task_queue,
        "HOOKFLOW_ALLOW_NETWORKS": allowed,
        "HOOKFLOW_STACK_ENDPOINTS": ",".join(f"{host}:{port}" for host, port in settings.stack),
    }


def describe_exit(code: int) -> str:
    if code < 0:
        with contextlib.suppress(ValueError):
            return f"was killed by {signal.Signals(-code).name}"
    return f"exited with code {code}"


class WorkerPool:
    """``count`` worker processes, each started with ``args(index)`` (index 1..count)."""

    def __init__(
        self,
        count: int,
        *,
        args: Callable[[int], Sequence[str]],
        env: Mapping[str, str],
        ready_timeout: float = 60.0,
    ) -> None:
        self.count = count
        self._args = args
        self._env = dict(env)
        self._ready_timeout = ready_timeout
        self._processes: dict[int, asyncio.subprocess.Process] = {}
        self._tasks: list[asyncio.Task[None]] = []
        self._stopping = asyncio.Event()

    @property
    def pids(self) -> list[int]:
        return [self._processes[index].pid for index in sorted(self._processes)]

    async def start(self) -> None:
        """Start every worker and wait until each polls; DevServerError (and none
        left running) when one does not."""
        try:
            started = await asyncio.gather(*(self._spawn(i) for i in range(1, self.count + 1)))
            for index, ready in enumerate(started, start=1):
                if not ready:
                    code = self._processes[index].returncode
                    raise DevServerError(
                        f"worker {index} did not start"
                        + (f": it {describe_exit(code)}" if code is not None else "")
                        + " (its error is above)"
                    )
        except BaseException:
            await self.stop()
            raise
        self._tasks = [asyncio.create_task(self._supervise(i)) for i in range(1, self.count + 1)]

    async def _spawn(self, index: int) -> bool:
        """Start worker ``index``; whether it said it polls before it ended or timed out."""
        read_fd, write_fd = os.pipe()
        try:
            process = await asyncio.create_subprocess_exec(
                *worker_command([*self._args(index), "--ready-fd", str(write_fd)]),
                env=self._env,
                pass_fds=(write_fd,),
                start_new_session=True,  # Ctrl-C reaches `up`, which stops the workers in order
                preexec_fn=prepare_child,
            )
        except BaseException:
            os.close(read_fd)
            raise
        finally:
            os.close(write_fd)  # only the child holds it: EOF when the child ends
        self._processes[index] = process
        try:
            said = await asyncio.wait_for(_first_line(read_fd), self._ready_timeout)
        except TimeoutError:
            with contextlib.suppress(ProcessLookupError):
                process.kill()
            await process.wait()
            return False
        if said != READY:  # it ended before it polled
            await process.wait()
        return said == READY

    async def _supervise(self, index: int) -> None:
        """Restart worker ``index`` whenever it ends, until the pool stops."""
        loop = asyncio.get_running_loop()
        quick_deaths = 0
        while True:
            process = self._processes[index]
            began = loop.time()
            code = await process.wait()
            if self._stopping.is_set():
                return
            quick_deaths = quick_deaths + 1 if loop.time() - began < STABLE_SECONDS else 0
            delay = min(MAX_BACKOFF, 0.5 * 2 ** (quick_deaths - 1)) if quick_deaths else 0.0
            log.warning(
                "worker %d (pid %d) %s; restarting it%s",
                index,
                process.pid,
                describe_exit(code),
                f" in {delay:g}s" if delay else "",
            )
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self._stopping.wait(), delay)
            if self._stopping.is_set():
                return
            try:
                await self._spawn(index)
            except OSError as err:  # no process could be made: the next round waits longer
                log.error("worker %d could not be started: %s", index, err)

    async def stop(self, *, grace: float = 10.0) -> None:
        """SIGTERM every worker, SIGKILL those still running after ``grace`` seconds."""
        self._stopping.set()
        for task in self._tasks:
            task.cancel()
        await asyncio.gather(*self._tasks, return_exceptions=True)
        self._tasks = []
        running = [p for p in self._processes.values() if p.returncode is None]
        for process in running:
            with contextlib.suppress(ProcessLookupError):
                process.send_signal(signal.SIGTERM)
        try:
            await asyncio.wait_for(asyncio.gather(*(p.wait() for p in running)), grace)
        except TimeoutError:
            for process in running:
                if process.returncode is None:
                    with contextlib.suppress(ProcessLookupError):
                        process.kill()
            await asyncio.gather(*(p.wait() for p in running))


async def _first_line(read_fd: int) -> bytes:
    """The first line a worker writes to its ready pipe (b"" when it ends first)."""
    loop = asyncio.get_running_loop()
    reader = asyncio.StreamReader()
    transport, _ = await loop.connect_read_pipe(
        lambda: asyncio.StreamReaderProtocol(reader), os.fdopen(read_fd, "rb", buffering=0)
    )
    try:
        return await reader.readline()
    finally:
        transport.close()
