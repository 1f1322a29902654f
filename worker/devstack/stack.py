"""The stack a data dir runs: how every command finds what ``hookflow up`` started.

``hookflow up`` holds a lock on ``<data dir>/stack.lock`` for as long as it runs
(one data dir, one server: a second ``up`` is refused) and writes
``<data dir>/stack.json``: its pid, ports and task queue, and the networks
its worker lets through. Every other command reads that file for the
defaults of ``TEMPORAL_ADDRESS``, ``TEMPORAL_NAMESPACE``,
``HOOKFLOW_TASK_QUEUE`` and ``HOOKFLOW_ALLOW_NETWORKS``, so it reaches the
stack of its data dir whatever ports that stack chose; the environment still
wins. The file stays when the stack stops: the next ``up`` keeps the
networks it was given.
"""

from __future__ import annotations

import fcntl
import json
import os
from datetime import datetime
from pathlib import Path
from urllib.parse import urlsplit

from pydantic import BaseModel, ValidationError

from activities.errors import DevServerError, SettingsError

DEFAULT_DATA_DIR = ".hookflow"
STATE_FILE = "stack.json"
LOCK_FILE = "stack.lock"


class StackState(BaseModel):
    """What ``stack.json`` holds."""

    pid: int
    temporal_address: str
    namespace: str = "default"
    task_queue: str
    ui_url: str
    codec_url: str
    http_port: int
    metrics_port: int
    allow_networks: str = ""
    """CIDRs the stack's worker lets through, as given (``--allow-networks``)."""
    started_at: datetime
    api_port: int | None = None
    hookflow_metrics_port: int | None = None
    workers: int = 0
    """Worker processes (``--workers``); worker i's metrics: ``hookflow_metrics_port`` + i - 1."""

    def endpoints(self) -> list[str]:
        """Every socket the stack listens on, as ``host:port``."""
        found = [self.temporal_address]
        for url in (self.ui_url, self.codec_url):
            found.append(urlsplit(url).netloc)
        ports = [self.http_port, self.metrics_port, self.api_port]
        if self.hookflow_metrics_port:
            ports += [self.hookflow_metrics_port + i for i in range(max(1, self.workers))]
        found += [f"127.0.0.1:{port}" for port in ports if port]
        return found


def discover_data_dir(cwd: Path) -> Path:
    """The nearest ``.hookflow`` in ``cwd`` or a folder above it (as git finds
    ``.git``), else ``cwd/.hookflow``."""
    for folder in (cwd, *cwd.parents):
        if (folder / DEFAULT_DATA_DIR).is_dir():
            return folder / DEFAULT_DATA_DIR
    return cwd / DEFAULT_DATA_DIR


def read_state(data_dir: Path) -> StackState | None:
    """The data dir's ``stack.json``, or None when there is none (or it is unreadable)."""
    try:
        return StackState.model_validate_json((data_dir / STATE_FILE).read_bytes())
    except (OSError, ValidationError):
        return None


def remembered_env(data_dir: Path) -> dict[str, str]:
    """Environment defaults from the data dir's stack: where it runs, what it allows."""
    state = read_state(data_dir)
    if state is None:
        return {}
    return {
        "TEMPORAL_ADDRESS": state.temporal_address,
        "TEMPORAL_NAMESPACE": state.namespace,
        "HOOKFLOW_TASK_QUEUE": state.task_queue,
        "HOOKFLOW_ALLOW_NETWORKS": state.allow_networks,
        "HOOKFLOW_STACK_ENDPOINTS": ",".join(state.endpoints()),
    }


def in_use(data_dir: Path) -> bool:
    """Whether a ``hookflow up`` holds this data dir now."""
    try:
        fd = os.open(data_dir / LOCK_FILE, os.O_RDONLY)
    except OSError:
        return False
    try:
        fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
    except BlockingIOError:
        return True
    finally:
        os.close(fd)  # closing also releases a lock this probe took
    return False


class Claim:
    """A data dir held by one ``hookflow up``: the lock lives as long as the claim
    (or the process: the system drops it when the process ends, however it ends)."""

    def __init__(self, data_dir: Path) -> None:
        self._fd: int | None = os.open(data_dir / LOCK_FILE, os.O_RDWR | os.O_CREAT, 0o600)
        try:
            fcntl.flock(self._fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            self.release()
            raise DevServerError(_in_use_message(data_dir)) from None

    def release(self) -> None:
        if self._fd is not None:
            os.close(self._fd)
            self._fd = None

    def __enter__(self) -> Claim:
        return self

    def __exit__(self, *_exc: object) -> None:
        self.release()


def refuse_if_in_use(data_dir: Path) -> None:
    """DevServerError naming the ``hookflow up`` that holds the data dir, if one
    does; writes nothing (``up`` checks this before anything else)."""
    if in_use(data_dir):
        raise DevServerError(_in_use_message(data_dir))


def claim(data_dir: Path) -> Claim:
    """Hold the data dir for one ``hookflow up``; DevServerError when another holds it."""
    return Claim(data_dir)


def _in_use_message(data_dir: Path) -> str:
    state = read_state(data_dir)
    where = f" (pid {state.pid}, Temporal at {state.temporal_address})" if state else ""
    return (
        f"{data_dir} is in use by another hookflow up{where}: "
        "stop it first, or give another --data-dir"
    )


def write_state(data_dir: Path, state: StackState) -> None:
    """Write ``stack.json`` whole (a reader never sees half of it), 0600."""
    tmp = data_dir / f".{STATE_FILE}.{os.getpid()}"
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "w") as out:
        out.write(json.dumps(state.model_dump(mode="json"), indent=2) + "\n")
    os.replace(tmp, data_dir / STATE_FILE)


def require_data_dir(data_dir: Path, *, given: bool) -> None:
    """Refuse to create a data dir nobody named: a command run from the wrong
    folder would otherwise write webhooks that the running worker never sees."""
    if given or data_dir.exists():
        return
    raise SettingsError(
        f"no hookflow data dir here: {data_dir} does not exist. Run this where `hookflow up` "
        "(`make run`) runs, or name a data dir with --data-dir or HOOKFLOW_DATA_DIR"
    )
