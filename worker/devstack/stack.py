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
from pathlib import Path

from activities.errors import DevServerError, SettingsError
from worker.runtime.data_dir import STATE_FILE, StackState, read_state

LOCK_FILE = "stack.lock"


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
