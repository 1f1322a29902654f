"""README's walk-through, run as written: every fenced block after a
``<!-- walkthrough -->`` line, command by command, in order, against a real
stack (``hookflow up`` with its Temporal dev server, worker, API) and real
``hookflow receive`` receivers on loopback. So README and product cannot
disagree again.

What the test does for the reader: ``make run ARGS=...`` is ``hookflow up
ARGS`` (the Makefile says so; checked) on free ports; the receivers' ports
(9000, 9001) are free ports too; a command whose comment names another
terminal runs in the background; ``<ID>`` is the id the last ``sessions
create`` printed and ``<DELIVERY ID>`` the first delivery ``deliveries list
--session <ID>`` names. Everything runs in a folder of its own (its
``.hookflow`` is the data dir; ``.venv`` links to this one's)."""

from __future__ import annotations

import json
import os
import re
import shlex
import signal
import socket
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
MARK = "<!-- walkthrough -->"
BLOCK = re.compile(re.escape(MARK) + r"\s*\n```[a-z]*\n(.*?)\n```", re.DOTALL)
COMMENT = re.compile(r"\s{2,}#\s*(.*)$")
RECEIVER_PORT = re.compile(r"\b900\d\b")
UP_PORTS = ("--port", "--ui-port", "--codec-port", "--api-port", "--http-port")


@dataclass(frozen=True)
class Step:
    command: str
    comment: str = ""

    @property
    def background(self) -> bool:
        """Another terminal's command: it runs until stopped."""
        return "terminal" in self.comment and not self.command.startswith(("export ", "make "))


def walkthrough(text: str) -> list[Step]:
    """The commands of the marked blocks, continuation lines joined, comments apart."""
    steps: list[Step] = []
    for block in BLOCK.findall(text):
        for line in block.replace("\\\n", " ").splitlines():
            comment = COMMENT.search(line)
            command = line[: comment.start()] if comment else line
            if command.strip():
                steps.append(Step(" ".join(command.split()), comment[1] if comment else ""))
    return steps


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


@dataclass
class Background:
    """A process of a terminal of its own, its output collected as it comes."""

    process: subprocess.Popen[str]
    lines: list[str] = field(default_factory=list)

    def __post_init__(self) -> None:
        threading.Thread(target=self._read, daemon=True).start()

    def _read(self) -> None:
        assert self.process.stdout is not None
        for line in self.process.stdout:
            self.lines.append(line)

    def wait_for(self, text: str, timeout: float) -> None:
        deadline = time.monotonic() + timeout
        while not any(text in line for line in self.lines):
            if self.process.poll() is not None or time.monotonic() > deadline:
                raise AssertionError(f"never printed {text!r}:\n{''.join(self.lines)}")
            time.sleep(0.2)

    def stop(self) -> None:
        if self.process.poll() is None:
            self.process.send_signal(signal.SIGINT)
            try:
                self.process.wait(timeout=30)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait()


@dataclass
class Walk:
    folder: Path
    env: dict[str, str]
    ports: dict[str, str]
    running: list[Background] = field(default_factory=list)
    session_id: str | None = None
    outputs: list[tuple[str, str]] = field(default_factory=list)

    def text(self, command: str) -> str:
        command = RECEIVER_PORT.sub(
            lambda port: self.ports.setdefault(port[0], str(free_port())), command
        )
        if "<ID>" in command:
            assert self.session_id, f"{command}: no session created before"
            command = command.replace("<ID>", self.session_id)
        if "<DELIVERY ID>" in command:
            command = command.replace("<DELIVERY ID>", self.first_delivery())
        return command

    def start(self, argv: list[str], ready: str | None, timeout: float = 120) -> Background:
        process = subprocess.Popen(
            argv,
            cwd=self.folder,
            env=self.env,
            stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT,
            text=True,
            start_new_session=True,
        )
        running = Background(process)
        self.running.append(running)
        if ready:
            running.wait_for(ready, timeout)
        return running

    def run(self, command: str) -> str:
        done = subprocess.run(
            ["bash", "-c", command],
            cwd=self.folder,
            env=self.env,
            capture_output=True,
            text=True,
            timeout=180,
        )
        assert done.returncode == 0, f"{command}\n{done.stdout}\n{done.stderr}"
        self.outputs.append((command, done.stdout))
        return done.stdout

    def first_delivery(self) -> str:
        deadline = time.monotonic() + 60
        while True:
            listed = self.run(f"hookflow deliveries list --session {self.session_id} --json")
            found = json.loads(listed)
            if found:
                return str(found[0]["id"])
            assert time.monotonic() < deadline, "no delivery logged"
            time.sleep(0.5)

    def step(self, step: Step) -> None:
        command = self.text(step.command)
        if command.startswith("make run"):
            self.up(command)
        elif command.startswith("export "):
            name, _, value = command.removeprefix("export ").partition("=")
            self.env[name] = self.run(f'printf %s "{value}"')
        elif step.background:
            argv = shlex.split(command)
            port = argv[argv.index("--port") + 1]
            self.start(argv, ready=None)
            wait_port(int(port))
        else:
            out = self.run(command)
            if command.startswith("hookflow sessions create"):
                self.session_id = out.strip().splitlines()[-1]

    def up(self, command: str) -> None:
        """``make run ARGS="..."``: the Makefile's ``hookflow up $(ARGS)``, on free ports."""
        args = shlex.split(command.split("ARGS=", 1)[1]) if "ARGS=" in command else [""]
        ports = [part for flag in UP_PORTS for part in (flag, str(free_port()))]
        argv = [str(ROOT / ".venv/bin/hookflow"), "up", *shlex.split(args[0]), *ports]
        argv += ["--temporal-metrics-port", str(free_port())]
        self.start(argv, ready="Press Ctrl-C to stop.", timeout=180)

    def stop(self) -> None:
        for running in reversed(self.running):
            running.stop()


def wait_port(port: int, timeout: float = 30) -> None:
    deadline = time.monotonic() + timeout
    while True:
        try:
            with socket.create_connection(("127.0.0.1", port), timeout=1):
                return
        except OSError:
            assert time.monotonic() < deadline, f"nothing listens on {port}"
            time.sleep(0.2)


@pytest.fixture
def walk(tmp_path: Path) -> Iterator[Walk]:
    (tmp_path / ".venv").symlink_to(ROOT / ".venv")
    env = {k: v for k, v in os.environ.items() if not k.startswith(("HOOKFLOW_", "TEMPORAL_"))}
    env["PATH"] = f"{Path(sys.executable).parent}:{env.get('PATH', '')}"
    walking = Walk(folder=tmp_path, env=env, ports={})
    yield walking
    walking.stop()


def test_the_makefile_runs_hookflow_up_with_args() -> None:
    makefile = (ROOT / "Makefile").read_text()
    assert re.search(r"^run:.*\n\t\$\(BIN\)/hookflow up \$\(ARGS\)$", makefile, re.MULTILINE)


def test_the_walkthrough_parses_into_commands() -> None:
    steps = walkthrough((ROOT / "README.md").read_text())
    assert steps[0].command.startswith("make run")
    assert [s.command.split()[:3] for s in steps if s.background] == [
        [".venv/bin/hookflow", "receive", "--port"],
        ["hookflow", "receive", "--port"],
    ]
    joined = next(s.command for s in steps if "--alias crm" in s.command)
    assert joined.endswith("--basic-auth crm:s3cret --header X-Tenant=acme")


@pytest.mark.timeout(600)
def test_the_readme_walkthrough_runs_as_written(walk: Walk) -> None:
    steps = walkthrough((ROOT / "README.md").read_text())
    try:
        for step in steps:
            walk.step(step)
    finally:
        walk.stop()
    said = {command.split(" --")[0]: out for command, out in walk.outputs}
    created = said["hookflow webhooks add"]
    assert created.startswith("created webhook lookup in acme: ")
    [receiver, remote] = walk.running[1:]
    heard = "".join(receiver.lines)
    assert "WHEF_CLIENT_FORM_SUBMITTED" in heard and "WHP_ARCHIVE" in heard, heard
    shown = next(
        out for command, out in walk.outputs if command.startswith("hookflow deliveries show")
    )
    assert "delivered" in shown and "attempt 1 request headers:" in shown, shown
    assert "s3cret" not in shown and "Y3JtOnMzY3JldA" not in shown  # crm:s3cret stays masked
    answered = next(out for command, out in walk.outputs if "field-changed" in command)
    assert answered.splitlines()[-1].split() == ["customer_name", "Dana"]
    assert remote.lines, "the remote-data receiver heard nothing"
