"""``hookflow receive``: a local receiver that prints one line per request."""

from __future__ import annotations

import json
import signal
import subprocess
from pathlib import Path

import httpx

from tests.worker.test_up import HOOKFLOW, free_port


def test_receive_answers_and_prints_one_line_per_request() -> None:
    port = free_port()
    process = subprocess.Popen(
        [HOOKFLOW, "receive", "--port", str(port), "--status", "503"],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    try:
        assert process.stdout is not None
        assert (
            process.stdout.readline() == f"receiving on http://127.0.0.1:{port}/ (Ctrl-C stops)\n"
        )
        body = {"event": {"type": "WHEF_SESSION_CREATED", "sequence": 1}}
        answer = httpx.post(
            f"http://127.0.0.1:{port}/hook",
            content=json.dumps(body),
            headers={"webhook-id": "evt_1", "webhook-signature": "v1,abc"},
            timeout=10,
        )
        assert answer.status_code == 503
        line = process.stdout.readline()
        assert line == "POST /hook  #1 WHEF_SESSION_CREATED  webhook-id evt_1  signed  -> 503\n"
    finally:
        process.send_signal(signal.SIGINT)
        assert process.wait(timeout=10) == 0


def test_a_busy_port_is_one_line() -> None:
    port = free_port()
    first = subprocess.Popen(
        [HOOKFLOW, "receive", "--port", str(port)], stdout=subprocess.PIPE, text=True
    )
    try:
        assert first.stdout is not None
        first.stdout.readline()
        second = subprocess.run(
            [HOOKFLOW, "receive", "--port", str(port)], capture_output=True, text=True, timeout=30
        )
        assert second.returncode == 1
        assert second.stderr.startswith(f"hookflow: error: cannot listen on 127.0.0.1:{port}: ")
        assert len(second.stderr.strip().splitlines()) == 1
    finally:
        first.send_signal(signal.SIGTERM)
        first.wait(timeout=10)


def test_receive_answers_remote_data_with_a_file(tmp_path: Path) -> None:
    values = [{"id": "customer_name", "value": "Dana Example"}, {"id": "tier", "value": 2}]
    answers = tmp_path / "answer.json"
    answers.write_text(json.dumps(values))
    port = free_port()
    process = subprocess.Popen(
        [HOOKFLOW, "receive", "--port", str(port), "--answer", str(answers)],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    try:
        assert process.stdout is not None
        assert process.stdout.readline().startswith("receiving on ")
        assert process.stdout.readline() == f"answering remote data with {answers}\n"
        field_changed = {"event": {"type": "WHEF_FORM_FIELD_CHANGED", "sequence": 3}}
        answer = httpx.post(f"http://127.0.0.1:{port}/crm", json=field_changed, timeout=10)
        assert answer.status_code == 200 and answer.json() == values
        other = {"event": {"type": "WHEF_SESSION_CREATED", "sequence": 1}}
        answer = httpx.post(f"http://127.0.0.1:{port}/crm", json=other, timeout=10)
        assert answer.json() == {"status": "success"}
        assert "#3 WHEF_FORM_FIELD_CHANGED" in process.stdout.readline()
    finally:
        process.send_signal(signal.SIGINT)
        assert process.wait(timeout=10) == 0


def test_an_answer_file_that_is_not_a_list_of_values_is_one_line(tmp_path: Path) -> None:
    answers = tmp_path / "answer.json"
    answers.write_text('{"customer_name": "Dana"}')
    done = subprocess.run(
        [HOOKFLOW, "receive", "--port", str(free_port()), "--answer", str(answers)],
        capture_output=True,
        text=True,
        timeout=30,
    )
    assert done.returncode == 1
    assert done.stderr == (
        f'hookflow: error: --answer: {answers} must hold a list of {{"id": ..., "value": ...}}\n'
    )
