"""What a data dir tells every command: where it is, and the stack ``hookflow up``
runs on it (``stack.json``), whose address, queue and networks are the
defaults of the settings. ``worker/devstack/stack.py`` writes that file."""

from __future__ import annotations

from datetime import datetime
from pathlib import Path
from urllib.parse import urlsplit

from pydantic import BaseModel, ValidationError

DEFAULT_DATA_DIR = ".hookflow"
STATE_FILE = "stack.json"


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
    """Worker processes (``--workers``); worker i's metrics: ``hookflow_metrics_port`` + i - 1,
    its SDK exporter's: ``hookflow_metrics_port`` + workers + i - 1."""

    def endpoints(self) -> list[str]:
        """Every socket the stack listens on, as ``host:port``."""
        found = [self.temporal_address]
        for url in (self.ui_url, self.codec_url):
            found.append(urlsplit(url).netloc)
        ports = [self.http_port, self.metrics_port, self.api_port]
        if self.hookflow_metrics_port:
            # worker i's metrics, then its SDK exporter's (``worker_args``)
            ports += [self.hookflow_metrics_port + i for i in range(2 * self.workers or 1)]
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
