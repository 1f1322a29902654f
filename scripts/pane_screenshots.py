"""The README's screenshots of the pane, made from a real stack:

    python -m scripts.pane_screenshots [--out docs]

starts ``hookflow up`` in a folder of its own (free ports, loopback allowed),
a receiver on 127.0.0.1, adds webhooks that succeed, fail and are disabled,
runs a session through its submission, then signs in to the pane with
Debian's Chromium (never a downloaded browser) and saves each page as PNG.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import signal
import socket
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import httpx
from playwright.async_api import Page, async_playwright

from worker.devstack.receiver import Receiver, Reply

ROOT = Path(__file__).resolve().parent.parent
CHROMIUM = "/usr/bin/chromium"
FLAGS = ["--headless", "--no-sandbox", "--disable-gpu", "--no-first-run"]
HOOKFLOW = str(Path(sys.executable).parent / "hookflow")


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


@contextmanager
def stack(folder: Path) -> Iterator[tuple[str, dict[str, str]]]:
    """``hookflow up`` on free ports; the pane's URL and the environment its commands need."""
    env = {k: v for k, v in os.environ.items() if not k.startswith(("HOOKFLOW_", "TEMPORAL_"))}
    env["HOOKFLOW_DATA_DIR"] = str(folder / ".hookflow")
    flags = ["--port", "--ui-port", "--codec-port", "--api-port", "--http-port"]
    ports = [part for flag in flags for part in (flag, str(free_port()))]
    argv = [HOOKFLOW, "up", "--allow-networks", "127.0.0.0/8", *ports]
    argv += ["--temporal-metrics-port", str(free_port())]
    up = subprocess.Popen(
        argv, cwd=folder, env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True
    )
    try:
        url = _ready(up)
        yield url, env
    finally:
        up.send_signal(signal.SIGINT)
        try:
            up.wait(timeout=30)
        except subprocess.TimeoutExpired:
            up.kill()


def _ready(up: subprocess.Popen[str]) -> str:
    """The pane's URL, once ``hookflow up`` says it runs."""
    assert up.stdout is not None
    url, seen, deadline = "", [], time.monotonic() + 180
    for line in up.stdout:
        seen.append(line)
        if "REST API, pane:" in line:
            url = line.split()[3]
        if "Press Ctrl-C to stop." in line:
            return url
        if time.monotonic() > deadline:
            break
    raise SystemExit("hookflow up did not start:\n" + "".join(seen))


def api_key(env: dict[str, str], folder: Path) -> str:
    made = subprocess.run(
        [HOOKFLOW, "keys", "create", "--project", "acme", "--name", "pane"],
        cwd=folder,
        env=env,
        capture_output=True,
        text=True,
        check=True,
    )
    return made.stdout.strip().splitlines()[-1]


async def setup(url: str, key: str, rx: Receiver) -> str:
    """Webhooks in each state of health and a submitted session; its id."""
    rx.always("/crm", Reply(headers={"content-type": "application/json", "x-request-id": "r-7"}))
    rx.always("/dms", Reply(status=503, body=b'{"error": "maintenance"}'))
    hooks = [
        {"alias": "crm", "type": "form_submitted", "url": rx.url("/crm"),
         "basic_username": "crm", "basic_password": "s3cret", "headers": {"X-Tenant": "acme"}},
        {"alias": "dms", "type": "session_created", "url": rx.url("/dms"),
         "retry_schedule": [0, 1]},
        {"alias": "sms-gateway", "type": "send_sms", "url": rx.url("/sms"),
         "enabled": False, "disabled_reason": "new provider from Monday"},
    ]  # fmt: skip
    headers = {"authorization": f"Bearer {key}"}
    async with httpx.AsyncClient(base_url=f"{url}/api/v1", headers=headers, timeout=60) as http:
        for hook in hooks:
            (await http.post("/webhooks", json=hook)).raise_for_status()
        made = await http.post("/sessions", json={"template": "loan-application"})
        session_id = str(made.raise_for_status().json()["id"])
        submitted = {"client": {"ip": "203.0.113.7"}, "form_data": {"amount": 25000}}
        signal_url = f"/sessions/{session_id}/signals/form_submitted"
        (await http.post(signal_url, json=submitted)).raise_for_status()
        for _ in range(300):
            found = (await http.get(f"/deliveries?session={session_id}")).json()
            if sorted(d["status"] for d in found) == ["delivered", "failed"]:
                return session_id
            await asyncio.sleep(0.2)
    raise SystemExit(f"the session's deliveries did not settle: {found}")


async def shoot(url: str, key: str, session_id: str, out: Path) -> list[Path]:
    saved: list[Path] = []

    async def save(page: Page, name: str) -> None:
        path = out / f"{name}.png"
        await page.screenshot(path=str(path), full_page=True)
        saved.append(path)

    async with async_playwright() as playwright:
        browser = await playwright.chromium.launch(
            executable_path=CHROMIUM, args=FLAGS, chromium_sandbox=False
        )
        page = await browser.new_page(viewport={"width": 1400, "height": 900})
        await page.goto(f"{url}/login")
        await page.fill("input[name=key]", key)
        await page.click("button:has-text('Sign in')")
        await page.wait_for_selector("td.health")
        await save(page, "pane-webhooks")
        await page.click("text=crm")
        await page.click("#test")
        await page.wait_for_selector("#test-result")
        await save(page, "pane-webhook")
        await page.goto(f"{url}/deliveries?session={session_id}")
        for row in await page.locator("li.delivery summary").all():
            await row.click()
        await save(page, "pane-deliveries")
        await page.goto(f"{url}/sessions/{session_id}")
        await save(page, "pane-session")
        await browser.close()
    return saved


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--out", type=Path, default=ROOT / "docs")
    out: Path = parser.parse_args().out
    out.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory() as tmp, Receiver() as rx, stack(Path(tmp)) as (url, env):
        key = api_key(env, Path(tmp))
        session_id = asyncio.run(setup(url, key, rx))
        for path in asyncio.run(shoot(url, key, session_id, out)):
            print(path)  # noqa: T201  (a script's output)


if __name__ == "__main__":
    main()
