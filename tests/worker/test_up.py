"""``hookflow up`` as a user runs it: a real process, real ports, Ctrl-C, a restart."""

from __future__ import annotations

import contextlib
import json
import os
import signal
import socket
import stat
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from worker.devstack.receiver import Receiver
from worker.runtime.codec import new_key

HOOKFLOW = str(Path(sys.executable).parent / "hookflow")


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


def free_ports_in_a_row(count: int) -> int:
    """A port P with P + 1 ... P + count - 1 free too: the metrics ports of
    ``count`` workers."""
    for _ in range(100):
        first = free_port()
        with contextlib.ExitStack() as held:
            try:
                for port in range(first, first + count):
                    probe = held.enter_context(socket.socket())
                    probe.bind(("127.0.0.1", port))
            except OSError:
                continue
            return first
    raise AssertionError(f"no {count} free ports in a row")


class Up:
    def __init__(self, data_dir: Path) -> None:
        self.data_dir = data_dir
        self.port, self.ui_port, self.codec_port = free_port(), free_port(), free_port()
        self.api_port, self.http_port, self.metrics_port = free_port(), free_port(), free_port()
        self.env = {
            **os.environ,
            "HOOKFLOW_DATA_DIR": str(data_dir),
            "TEMPORAL_ADDRESS": f"127.0.0.1:{self.port}",
            "HOOKFLOW_ALLOW_NETWORKS": "127.0.0.0/8",
            "HOOKFLOW_WORKERS": "2",  # whatever this machine's cores
        }
        self.env.pop("HOOKFLOW_DATABASE_URL", None)
        self.env.pop("HOOKFLOW_SECRET_KEY", None)
        self.env.pop("HOOKFLOW_CODEC_KEY", None)
        self.process: subprocess.Popen[str] | None = None

    def command(self) -> list[str]:
        return [
            HOOKFLOW,
            "up",
            "--port",
            str(self.port),
            "--ui-port",
            str(self.ui_port),
            "--codec-port",
            str(self.codec_port),
            "--api-port",
            str(self.api_port),
            "--http-port",
            str(self.http_port),
            "--temporal-metrics-port",
            str(self.metrics_port),
        ]

    def start(self, *extra: str) -> str:
        self.process = subprocess.Popen(
            [*self.command(), *extra],
            env=self.env,
            stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT,
            text=True,
        )
        assert self.process.stdout is not None
        lines = []
        deadline = time.monotonic() + 90
        while time.monotonic() < deadline:
            line = self.process.stdout.readline()
            if not line:
                break
            lines.append(line)
            if "Press Ctrl-C" in line:
                return "".join(lines)
        self.process.terminate()
        self.process.wait(timeout=30)
        raise AssertionError("hookflow up did not start:\n" + "".join(lines))

    def stop(self, signum: int = signal.SIGTERM) -> int:
        assert self.process is not None
        self.process.send_signal(signum)
        code = self.process.wait(timeout=30)
        self.process = None
        return code

    def temporal_cli(self, *args: str) -> subprocess.CompletedProcess[str]:
        """The temporal CLI against this test's server."""
        return subprocess.run(
            [
                str(Path(sys.executable).parent / "temporal"),
                *args,
                "--address",
                f"127.0.0.1:{self.port}",
            ],
            capture_output=True,
            text=True,
            timeout=60,
            check=False,
        )

    def hookflow(self, *args: str, **env: str) -> subprocess.CompletedProcess[str]:
        return subprocess.run(
            [HOOKFLOW, *args],
            env={**self.env, **env},
            capture_output=True,
            text=True,
            timeout=60,
            check=False,
        )


@pytest.fixture
def up(tmp_path: Path) -> Iterator[Up]:
    runner = Up(tmp_path / "data")
    yield runner
    if runner.process is not None:  # a test failed midway: stop it as a user would
        runner.process.terminate()
        try:
            runner.process.wait(timeout=30)
        except subprocess.TimeoutExpired:
            runner.process.kill()


def temporal_processes(data_dir: Path) -> list[str]:
    # -ww: whole command lines (without a terminal, ps would cut them at 80 columns).
    found = subprocess.run(["ps", "-ww", "-eo", "args"], capture_output=True, text=True, check=True)
    return [line for line in found.stdout.splitlines() if str(data_dir) in line]


def test_up_runs_everything_stops_cleanly_and_keeps_state(up: Up) -> None:
    banner = up.start()
    assert f"http://127.0.0.1:{up.ui_port}" in banner
    assert f"REST API, pane:    http://127.0.0.1:{up.api_port}" in banner
    assert httpx.get(f"http://127.0.0.1:{up.ui_port}/", timeout=10).status_code == 200
    assert (up.data_dir / "temporal.db").exists() and (up.data_dir / "hookflow.db").exists()

    added = up.hookflow(
        "webhooks",
        "add",
        "--project",
        "acme",
        "--alias",
        "crm",
        "--type",
        "session_created",
        "--url",
        "http://127.0.0.1:9/none",
    )
    assert added.returncode == 0, added.stderr
    created = up.hookflow("sessions", "create", "--project", "acme", "--id", "keepme0001")
    assert created.returncode == 0, created.stderr

    key = up.hookflow("keys", "create", "--project", "acme").stdout.splitlines()[-1]
    api = httpx.Client(
        base_url=f"http://127.0.0.1:{up.api_port}",
        headers={"authorization": f"Bearer {key}"},
        timeout=30,
    )
    made = api.post("/api/v1/sessions", json={"id": "viaapi0001"})
    assert made.status_code == 201, made.text
    assert "viaapi0001 (acme): active" in up.hookflow("sessions", "show", "viaapi0001").stdout
    assert [w["alias"] for w in api.get("/api/v1/webhooks").json()] == ["crm"]
    api.close()

    assert up.stop(signal.SIGTERM) == 0
    assert temporal_processes(up.data_dir) == []
    with pytest.raises(httpx.ConnectError):
        httpx.get(f"http://127.0.0.1:{up.api_port}/openapi.json", timeout=5)

    up.start()
    shown = up.hookflow("sessions", "show", "keepme0001")
    assert shown.returncode == 0, shown.stderr
    assert "keepme0001 (acme): active" in shown.stdout
    assert "crm" in up.hookflow("webhooks", "list").stdout
    assert up.stop(signal.SIGINT) == 0
    assert temporal_processes(up.data_dir) == []


def test_up_serves_metrics_and_readiness(up: Up) -> None:
    metrics_port = free_ports_in_a_row(4)  # each worker's metrics, then its exporter's
    banner = up.start("--metrics-port", str(metrics_port), "--log-format", "json")
    assert f"Metrics:           http://127.0.0.1:{metrics_port}/metrics and /healthz" in banner
    health = httpx.get(f"http://127.0.0.1:{metrics_port}/healthz", timeout=10)
    assert health.status_code == 200, health.text
    assert health.json()["status"] == "ready"
    scraped = httpx.get(f"http://127.0.0.1:{metrics_port}/metrics", timeout=10).text
    assert "# TYPE temporal_request counter" in scraped  # the SDK's exporter, through this port
    assert "temporal_worker_task_slots_available{" in scraped
    assert up.stop() == 0
    with pytest.raises(httpx.ConnectError):
        httpx.get(f"http://127.0.0.1:{metrics_port}/healthz", timeout=5)


def test_api_command_serves_the_same_store_and_stops_on_ctrl_c(up: Up) -> None:
    key = up.hookflow("keys", "create", "--project", "acme").stdout.splitlines()[-1]
    process = subprocess.Popen(
        [HOOKFLOW, "api", "--port", str(up.api_port)],
        # The codec key `up` would have made: here Temporal is not running at all.
        env={**up.env, "HOOKFLOW_CODEC_KEY": new_key()},
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
    )
    try:
        assert process.stdout is not None
        first = process.stdout.readline()
        assert first.startswith(f"hookflow API and pane: http://127.0.0.1:{up.api_port}")
        api = httpx.Client(
            base_url=f"http://127.0.0.1:{up.api_port}",
            headers={"authorization": f"Bearer {key}"},
            timeout=30,
        )
        made = api.post(
            "/api/v1/webhooks",
            json={"alias": "crm", "type": "archive", "url": "https://dms.example.com/a"},
        )
        assert made.status_code == 201, made.text
        assert "crm" in up.hookflow("webhooks", "list").stdout  # the same database
        no_temporal = api.post("/api/v1/sessions", json={})
        assert no_temporal.status_code == 503
        assert no_temporal.json()["detail"].startswith(
            f"cannot reach Temporal at 127.0.0.1:{up.port}"
        )
        api.close()
    finally:
        process.send_signal(signal.SIGINT)
        assert process.wait(timeout=30) == 0


def test_killed_up_leaves_no_server_behind(up: Up) -> None:
    up.start()
    assert up.process is not None
    up.process.kill()  # no chance to clean up
    up.process.wait(timeout=10)
    up.process = None
    deadline = time.monotonic() + 15
    while temporal_processes(up.data_dir) and time.monotonic() < deadline:
        time.sleep(0.2)
    assert temporal_processes(up.data_dir) == []


def test_busy_port_is_one_clear_line(up: Up) -> None:
    with socket.socket() as holder:
        holder.bind(("127.0.0.1", up.port))
        holder.listen()
        done = subprocess.run(
            [HOOKFLOW, "up", "--port", str(up.port), "--ui-port", str(up.ui_port)],
            env=up.env,
            capture_output=True,
            text=True,
            timeout=60,
            check=False,
        )
    assert done.returncode == 1
    assert done.stderr.strip() == (
        f"hookflow: error: port {up.port} (Temporal frontend) is already in use: "
        "stop what holds it or pass another port"
    )
    assert temporal_processes(up.data_dir) == []
    # Refused before anything was written to the data dir.
    for name in ("codec.key", "secret.key", "hookflow.db", "stack.lock", "stack.json"):
        assert not (up.data_dir / name).exists(), name
    with socket.socket() as holder:
        holder.bind(("127.0.0.1", up.api_port))
        holder.listen()
        done = subprocess.run(
            [HOOKFLOW, "up", "--port", str(up.port), "--ui-port", str(up.ui_port)]
            + ["--api-port", str(up.api_port)],
            env=up.env,
            capture_output=True,
            text=True,
            timeout=60,
            check=False,
        )
    assert done.returncode == 1
    assert done.stderr.strip() == (
        f"hookflow: error: port {up.api_port} (API) is already in use: "
        "stop what holds it or pass another port"
    )
    assert temporal_processes(up.data_dir) == []


def test_demo_against_a_running_hookflow(up: Up) -> None:
    up.start()
    done = up.hookflow("demo")
    assert done.returncode == 0, done.stderr
    assert "Traceback" not in done.stderr  # expected failures are one line each
    assert done.stderr.count("WebhookUndelivered: HTTP 50") == 2
    out = done.stdout
    answers = [line.split()[3] for line in out.splitlines() if "/form_submitted " in line]
    assert answers == ["503", "500", "200"]
    assert "[6/6]" in out and "The receiver got (every attempt" in out
    for code in (
        "WHEF_SESSION_CREATED",
        "WHEF_CLIENT_LOGGED_IN",
        "WHEF_CLIENT_FORM_LOADED",
        "WHEF_CLIENT_FORM_SUBMITTED",
        "WHP_ARCHIVE",
        "WHEF_SESSION_DELETED",
    ):
        assert code in out
    assert "WHEF_CLIENT_FORM_SUBMITTED -> demo-form_submitted took 3 attempts" in out
    assert f"http://127.0.0.1:{up.ui_port}/namespaces/default/workflows/session-" in out
    # Disabled, not deleted: the suggested follow-up names them.
    listed = [
        line for line in up.hookflow("webhooks", "list").stdout.splitlines() if "demo-" in line
    ]
    assert len(listed) == 6 and all(" no (the demo is over" in line for line in listed)
    session_id = out.split("HookflowSessionId = ")[1].split('"')[1]
    follow_up = up.hookflow("deliveries", "list", "--session", session_id).stdout
    assert "(deleted)" not in follow_up and "demo-form_submitted" in follow_up
    shown = up.hookflow("sessions", "show", session_id)  # ended, its worker gone
    assert shown.stdout.startswith(f"session {session_id} (demo): deleted, 6 events; ended ")
    assert up.stop() == 0


def test_demo_without_temporal_is_one_line(up: Up) -> None:
    done = up.hookflow("demo", HOOKFLOW_CODEC_KEY=new_key())
    assert done.returncode == 1
    assert done.stderr.startswith(f"hookflow: error: cannot reach Temporal at 127.0.0.1:{up.port}")
    assert len(done.stderr.strip().splitlines()) == 1


def test_worker_registers_search_attributes_on_a_bare_server(up: Up, tmp_path: Path) -> None:
    # A plain dev server without hookflow's search attributes, as a cluster may be.
    up.env["HOOKFLOW_CODEC_KEY"] = new_key()
    server = subprocess.Popen(
        [
            str(Path(sys.executable).parent / "temporal"),
            "server",
            "start-dev",
            "--headless",
            "--ip",
            "127.0.0.1",
            "--port",
            str(up.port),
            "--log-level",
            "error",
        ],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    try:
        worker = None
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline:
            listed = up.temporal_cli("operator", "search-attribute", "list")
            if listed.returncode == 0:
                break
            time.sleep(0.5)
        assert "HookflowProject" not in listed.stdout
        worker = subprocess.Popen(
            [HOOKFLOW, "worker"],
            env=up.env,
            stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT,
            text=True,
        )
        assert worker.stdout is not None
        assert worker.stdout.readline().startswith("worker on 127.0.0.1:")
        listed = up.temporal_cli("operator", "search-attribute", "list")
        assert "HookflowFailedWebhooks" in listed.stdout and "KeywordList" in listed.stdout
        created = up.hookflow("sessions", "create", "--project", "acme", "--id", "bare000001")
        assert created.returncode == 0, created.stderr
    finally:
        if worker is not None:
            worker.terminate()
            worker.wait(timeout=30)
        server.terminate()
        server.wait(timeout=30)


def test_up_encrypts_serves_its_codec_to_the_ui_and_refuses_a_wrong_key(
    up: Up, tmp_path: Path
) -> None:
    banner = up.start()
    codec_url = f"http://127.0.0.1:{up.codec_port}"
    assert f"Codec server:      {codec_url}" in banner
    assert stat.S_IMODE((up.data_dir / "codec.key").stat().st_mode) == 0o600
    assert stat.S_IMODE(up.data_dir.stat().st_mode) == 0o700  # temporal.db included
    ui_settings = httpx.get(f"http://127.0.0.1:{up.ui_port}/api/v1/settings", timeout=10).json()
    assert ui_settings["Codec"]["Endpoint"] == codec_url
    preflight = httpx.options(
        f"{codec_url}/decode",
        headers={
            "origin": f"http://localhost:{up.ui_port}",
            "access-control-request-method": "POST",
            "access-control-request-headers": "content-type,x-namespace",
        },
        timeout=10,
    )
    assert preflight.headers["access-control-allow-origin"] == f"http://localhost:{up.ui_port}"
    assert "loopback only, no token: every user of this machine can decode" in banner
    assert httpx.post(f"{codec_url}/encode", content="{}", timeout=10).status_code == 404

    created = up.hookflow("sessions", "create", "--project", "acme", "--template", "t-7431")
    assert created.returncode == 0, created.stderr
    workflow_id = f"session-acme:{created.stdout.strip()}"
    show = ("workflow", "show", "--workflow-id", workflow_id, "--detailed")
    assert "t-7431" not in up.temporal_cli(*show).stdout.replace("HookflowTemplate", "")
    decoded = up.temporal_cli(*show, "--codec-endpoint", codec_url)
    assert "input[0].template: t-7431" in decoded.stdout, decoded.stderr

    wrong = up.hookflow("worker", HOOKFLOW_CODEC_KEY=new_key())
    assert wrong.returncode == 1
    assert wrong.stderr.startswith(
        "hookflow: error: the sessions on task queue hookflow are encrypted with codec key "
    )
    assert wrong.stderr.strip().endswith("HOOKFLOW_CODEC_KEY or codec.key is wrong")
    assert len(wrong.stderr.strip().splitlines()) == 1
    missing = up.hookflow("worker", HOOKFLOW_DATA_DIR=str(tmp_path / "elsewhere"))
    assert missing.returncode == 1
    assert missing.stderr.startswith("hookflow: error: no codec key: set HOOKFLOW_CODEC_KEY or ")
    assert len(missing.stderr.strip().splitlines()) == 1
    assert up.stop() == 0


def test_up_honours_the_codec_token(up: Up) -> None:
    up.env["HOOKFLOW_CODEC_TOKEN"] = "t0ken-7431"
    banner = up.start("--codec-allow-encode")
    assert "token required (HOOKFLOW_CODEC_TOKEN)" in banner
    codec_url = f"http://127.0.0.1:{up.codec_port}"
    created = up.hookflow("sessions", "create", "--project", "acme", "--template", "t-7431")
    assert created.returncode == 0, created.stderr
    show = (
        "workflow",
        "show",
        "--workflow-id",
        f"session-acme:{created.stdout.strip()}",
        "--detailed",
    )
    refused = up.temporal_cli(*show, "--codec-endpoint", codec_url)
    assert "input[0].template: t-7431" not in refused.stdout
    assert httpx.post(f"{codec_url}/decode", content="{}", timeout=10).status_code == 401
    decoded = up.temporal_cli(
        *show, "--codec-endpoint", codec_url, "--codec-auth", "Bearer t0ken-7431"
    )
    assert "input[0].template: t-7431" in decoded.stdout, decoded.stderr
    # Asked for, /encode is served: behind the token too.
    empty = '{"payloads": []}'
    assert httpx.post(f"{codec_url}/encode", content=empty, timeout=10).status_code == 401
    auth = {"authorization": "Bearer t0ken-7431"}
    encoded = httpx.post(f"{codec_url}/encode", content=empty, headers=auth, timeout=10)
    assert encoded.status_code == 200, encoded.text
    assert up.stop() == 0


def test_one_data_dir_one_stack_that_every_command_finds(up: Up, tmp_path: Path) -> None:
    banner = up.start()
    assert f"Temporal HTTP API: http://127.0.0.1:{up.http_port}" in banner
    assert f"Temporal metrics:  http://127.0.0.1:{up.metrics_port}/metrics" in banner
    metrics = httpx.get(f"http://127.0.0.1:{up.metrics_port}/metrics", timeout=10)
    assert metrics.status_code == 200
    assert up.process is not None
    state = json.loads((up.data_dir / "stack.json").read_text())
    assert state["pid"] == up.process.pid
    assert state["temporal_address"] == f"127.0.0.1:{up.port}"

    other = Up(up.data_dir)  # the same data dir, every port different
    second = subprocess.run(
        other.command(), env=other.env, capture_output=True, text=True, timeout=60, check=False
    )
    assert second.returncode == 1
    assert second.stderr.strip() == (
        f"hookflow: error: {up.data_dir} is in use by another hookflow up "
        f"(pid {up.process.pid}, Temporal at 127.0.0.1:{up.port}): "
        "stop it first, or give another --data-dir"
    )
    assert len(temporal_processes(up.data_dir)) == 1

    # Another folder, no TEMPORAL_ADDRESS: --data-dir alone finds the stack and its ports.
    env = {k: v for k, v in up.env.items() if k not in ("TEMPORAL_ADDRESS", "HOOKFLOW_DATA_DIR")}
    created = subprocess.run(
        [HOOKFLOW, "--data-dir", str(up.data_dir), "sessions", "create", "--project", "acme"],
        env=env,
        cwd=tmp_path,
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert created.returncode == 0, created.stderr
    session_id = created.stdout.split()[-1]
    shown = up.hookflow("sessions", "show", session_id, TEMPORAL_ADDRESS="")
    assert f"session {session_id} (acme): active" in shown.stdout, shown.stderr
    assert up.stop() == 0


def test_allowed_networks_reach_the_worker_and_are_remembered(up: Up) -> None:
    del up.env["HOOKFLOW_ALLOW_NETWORKS"]  # as in a fresh terminal
    banner = up.start("--allow-networks", "127.0.0.0/8")
    assert "Deliveries reach:  127.0.0.0/8  (--allow-networks)" in banner
    assert up.stop() == 0
    banner = up.start()  # `make run` again, without the option
    assert "Deliveries reach:  127.0.0.0/8  (--allow-networks)" in banner
    with Receiver() as receiver:
        added = up.hookflow(
            "webhooks",
            "add",
            "--project",
            "acme",
            "--alias",
            "local",
            "--type",
            "session_created",
            "--url",
            receiver.url("/local"),
        )
        assert added.returncode == 0, added.stderr
        created = up.hookflow("sessions", "create", "--project", "acme")
        assert created.returncode == 0, created.stderr
        got = receiver.wait_for(1, path="/local")
    assert got[0].json()["session"]["id"] == created.stdout.strip()
    assert up.stop() == 0
    banner = up.start("--allow-networks", "")
    assert "Deliveries reach:  public addresses only" in banner
    assert up.stop() == 0
