"""A hookflow installation in processes of its own, to hurt on purpose: a Temporal
dev server on a data dir, ``hookflow worker`` processes, and a producer of
session events that keeps trying through outages. Loopback only."""

from __future__ import annotations

import asyncio
import os
import signal
import socket
import subprocess
import sys
import time
import uuid
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from temporalio.client import Client
from temporalio.service import RPCError

from activities.contracts import CreateSession, session_workflow_id
from worker.cli.output import CommandError
from worker.devstack.devserver import DevServer
from worker.runtime.codec import EncryptionCodec, KeyRing, data_converter, new_key
from worker.runtime.settings import Settings
from worker.services.sessions import start_session

BIN = Path(sys.executable).parent


CODEC_KEY = new_key()


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


class Server:
    """The dev server on a data dir of its own: killed and restarted on the same
    files and ports, it keeps every session."""

    def __init__(self, data_dir: Path) -> None:
        self._server = DevServer(data_dir=data_dir, port=free_port(), ui_port=free_port())

    @property
    def address(self) -> str:
        return self._server.address

    async def start(self) -> Client:
        await self._server.start()
        return await self.client()

    async def client(self) -> Client:
        # Encrypts as hookflow's own clients and workers do (the workers get CODEC_KEY).
        codec = EncryptionCodec(KeyRing.parse(CODEC_KEY, source="benchmark"))
        return await Client.connect(self.address, data_converter=data_converter(codec))

    def kill(self) -> None:
        """SIGKILL, as a crash would: no shutdown of any kind."""
        process = self._server._process
        if process is not None:
            os.killpg(process.pid, signal.SIGKILL)
            process.wait()
            self._server._process = None

    async def stop(self) -> None:
        await self._server.stop()


@dataclass
class WorkerProcess:
    """``hookflow worker`` in a process of its own."""

    env: dict[str, str]
    log: Path
    process: subprocess.Popen[bytes] | None = None

    def start(self) -> WorkerProcess:
        with open(self.log, "ab") as out:
            self.process = subprocess.Popen(
                [str(BIN / "hookflow"), "worker"],
                env={**os.environ, **self.env},
                stdout=out,
                stderr=subprocess.STDOUT,
                start_new_session=True,
            )
        return self

    @property
    def alive(self) -> bool:
        return self.process is not None and self.process.poll() is None

    def kill(self) -> None:
        if self.process is not None and self.process.poll() is None:
            os.killpg(self.process.pid, signal.SIGKILL)
            self.process.wait()

    def stop(self) -> None:
        if self.process is not None and self.process.poll() is None:
            os.killpg(self.process.pid, signal.SIGTERM)
            try:
                self.process.wait(15)
            except subprocess.TimeoutExpired:
                self.kill()


def worker_env(settings: Settings, address: str) -> dict[str, str]:
    return {
        "TEMPORAL_ADDRESS": address,
        "HOOKFLOW_DATA_DIR": str(settings.data_dir),
        "HOOKFLOW_TASK_QUEUE": settings.task_queue,
        "HOOKFLOW_DATABASE_URL": settings.database_url,
        "HOOKFLOW_SECRET_KEY": settings.secret_key_env or "",
        "HOOKFLOW_ALLOW_NETWORKS": "127.0.0.0/8",
        "HOOKFLOW_CODEC_KEY": CODEC_KEY,
    }


@dataclass
class Producer:
    """Sessions and their events, each sent until the server acknowledged it
    (an event id makes a repeat harmless); ``produced`` counts acknowledged events."""

    settings: Settings
    project: str
    clients: list[Client]
    produced: set[tuple[str, int]] = field(default_factory=set)
    last_at: float = 0.0

    async def sessions(self, count: int) -> list[str]:
        ids = [uuid.uuid4().hex[:10] for _ in range(count)]
        for first in range(0, count, 25):
            await asyncio.gather(*(self._start(i) for i in ids[first : first + 25]))
        return ids

    async def events(self, ids: list[str], rounds: int, *, every: float) -> None:
        for n in range(1, rounds + 1):
            await asyncio.gather(*(self._signal(i, n) for i in ids))
            await asyncio.sleep(every)

    async def _start(self, session_id: str) -> None:
        req = CreateSession.model_validate({"id": session_id, "project": self.project})

        async def start() -> None:
            try:
                await start_session(self.clients[0], self.settings, req)
            except CommandError:  # started by an earlier try whose answer was lost
                pass

        await self._retry(start)

    async def _signal(self, session_id: str, n: int) -> None:
        payload = {"storage": {"n": n}, "event_id": f"{session_id}-{n}"}
        handle = self.clients[0].get_workflow_handle(session_workflow_id(self.project, session_id))
        await self._retry(lambda: handle.signal("storage_completed", payload))
        self.produced.add((session_id, n))
        self.last_at = time.time()

    async def _retry(self, call: Callable[[], Awaitable[Any]], timeout: float = 120.0) -> None:
        deadline = time.monotonic() + timeout
        while True:
            try:
                await call()
                return
            except (RPCError, RuntimeError):
                if time.monotonic() > deadline:
                    raise
                await asyncio.sleep(0.5)


async def wait_until(check: Callable[[], bool], *, timeout: float, every: float = 0.2) -> bool:
    deadline = time.monotonic() + timeout
    while not check():
        if time.monotonic() > deadline:
            return False
        await asyncio.sleep(every)
    return True
