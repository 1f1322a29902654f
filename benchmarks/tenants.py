"""The hostile review of tenant isolation, replayed: every attack of the review
against a real stack (``hookflow up`` in a process of its own, loopback
allowed for deliveries), over HTTP, and what each gets now.

.venv/bin/python -m benchmarks.tenants [--keep]

Two projects, ``acme`` (the victim) and ``mallory`` (the attacker), each with
a project key. Each line: the attack, what it gets, and whether that is the
refusal expected (``ok``) or not (``OPEN``); the exit status is 1 when any
attack still succeeds.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import re
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import httpx

from worker.devstack.receiver import Receiver
from worker.runtime.assembly import connect
from worker.runtime.settings import Settings

HOOKFLOW = str(Path(sys.executable).parent / "hookflow")
NOT_COVERED: tuple[str, ...] = ()


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


@dataclass
class Stack:
    """``hookflow up`` on a data dir of its own, every port chosen here."""

    data_dir: Path
    ports: dict[str, int] = field(default_factory=dict)
    process: subprocess.Popen[str] | None = None

    def __post_init__(self) -> None:
        names = ("port", "ui-port", "codec-port", "api-port", "http-port", "temporal-metrics-port")
        self.ports = {name: free_port() for name in names}
        self.env = {**os.environ, "HOOKFLOW_DATA_DIR": str(self.data_dir)}
        for name in ("HOOKFLOW_DATABASE_URL", "HOOKFLOW_CODEC_KEY", "HOOKFLOW_CODEC_TOKEN"):
            self.env.pop(name, None)

    @property
    def api(self) -> str:
        return f"http://127.0.0.1:{self.ports['api-port']}"

    def start(self) -> None:
        args = [f"--{name}={port}" for name, port in self.ports.items()]
        self.process = subprocess.Popen(
            [HOOKFLOW, "up", *args, "--allow-networks", "127.0.0.0/8"],
            env=self.env,
            stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT,
            text=True,
        )
        assert self.process.stdout is not None
        deadline = time.monotonic() + 120
        seen = []
        while time.monotonic() < deadline:
            line = self.process.stdout.readline()
            if not line:
                break
            seen.append(line)
            if "Press Ctrl-C" in line:
                return
        raise SystemExit("hookflow up did not start:\n" + "".join(seen))

    def stop(self) -> None:
        if self.process is not None:
            self.process.send_signal(signal.SIGTERM)
            self.process.wait(timeout=60)

    def hookflow(self, *args: str, **env: str) -> subprocess.CompletedProcess[str]:
        return subprocess.run(
            [HOOKFLOW, *args],
            env={**self.env, **env},
            capture_output=True,
            text=True,
            timeout=60,
            check=False,
        )

    def key(self, project: str) -> str:
        made = self.hookflow("keys", "create", "--project", project)
        assert made.returncode == 0, made.stderr
        return made.stdout.strip().splitlines()[-1]


@dataclass
class Review:
    results: list[tuple[str, str, bool]] = field(default_factory=list)

    def record(self, attack: str, got: str, refused: bool) -> None:
        self.results.append((attack, got, refused))
        print(f"{'ok  ' if refused else 'OPEN'}  {attack}\n        -> {got}", flush=True)


def short(answer: httpx.Response) -> str:
    try:
        detail = answer.json().get("detail") or answer.json().get("message")
    except (ValueError, AttributeError):
        detail = answer.text[:120].replace("\n", " ")
    return f"{answer.status_code} {detail}" if detail else str(answer.status_code)


def entry(ref: str) -> dict[str, str]:
    return {"name": "contract.pdf", "content_type": "application/pdf", "ref": ref}


async def timed(call: Callable[[], Any]) -> tuple[Any, float]:
    started = time.perf_counter()
    result = await call()
    return result, time.perf_counter() - started


def raw_post(url: str, path: str, length: int, body: bytes, content_type: str) -> str:
    """A request that declares ``length`` bytes and sends only the start of them."""
    host, port = url.removeprefix("http://").split(":")
    with socket.create_connection((host, int(port)), timeout=30) as conn:
        conn.sendall(
            f"POST {path} HTTP/1.1\r\nhost: {host}\r\ncontent-type: {content_type}\r\n"
            f"content-length: {length}\r\n\r\n".encode()
            + body
        )
        conn.shutdown(socket.SHUT_WR)
        reply = b""
        while chunk := conn.recv(65536):
            reply += chunk
    return reply.split(b"\r\n", 1)[0].decode()


async def documents(stack: Stack, review: Review, acme: str, mallory: str) -> None:
    receiver = Receiver()
    receiver.__enter__()
    try:
        async with (
            httpx.AsyncClient(base_url=stack.api, headers={"authorization": f"Bearer {acme}"},
                              timeout=120) as victim,
            httpx.AsyncClient(base_url=stack.api, headers={"authorization": f"Bearer {mallory}"},
                              timeout=120) as attacker,
        ):  # fmt: skip
            secret = b"%PDF acme's signed loan contract " + os.urandom(16)
            made = await victim.post(
                "/api/v1/documents", files={"file": ("contract.pdf", secret, "application/pdf")}
            )
            ref = made.json()["ref"]
            hook = await attacker.post(
                "/api/v1/webhooks",
                json={"alias": "loot", "type": "archive", "url": receiver.url("/loot")},
            )
            assert hook.status_code == 201, hook.text
            await attacker.post("/api/v1/sessions", json={"id": "mallory-1"})
            named = await attacker.post(
                "/api/v1/sessions/mallory-1/signals/form_submitted", json={"document": entry(ref)}
            )
            review.record(
                "documents: mallory names acme's document ref in form_submitted (API)",
                short(named),
                named.status_code == 422,
            )
            # The same signal sent around the API, straight to Temporal.
            settings = Settings.from_env(data_dir=stack.data_dir, env={})
            client = await connect(settings, codec=settings.codec())
            await client.get_workflow_handle("session-mallory:mallory-1").signal(
                "form_submitted", {"document": entry(ref)}
            )
            await asyncio.sleep(5)
            state = (await attacker.get("/api/v1/sessions/mallory-1")).json()
            archive = [d for d in state["deliveries"] if d["event_type"] == "WHP_ARCHIVE"]
            leaked = any(secret in r.body for r in receiver.requests) or any(
                secret.hex() in r.body.decode(errors="replace") for r in receiver.requests
            )
            got = ", ".join(f"{d['status']}: {d.get('error')}" for d in archive) or "no archive"
            review.record(
                "documents: the same ref signalled straight to Temporal (archive webhook)",
                f"{got}; archive requests received: {len(receiver.at('/loot'))}",
                not leaked and not receiver.at("/loot"),
            )
            await _probe_ids(review, victim, attacker)
            deleted = await attacker.delete(f"/api/v1/documents/{ref}")
            review.record(
                "documents: mallory deletes acme's document",
                short(deleted),
                deleted.status_code == 404,
            )
            big = 30 << 20
            line, took = await timed(
                lambda: asyncio.to_thread(
                    raw_post,
                    stack.api,
                    "/api/v1/documents",
                    big,
                    b"--x\r\n",
                    "multipart/form-data; boundary=x",
                )
            )
            review.record(
                "uploads: 30 MB declared (the review stored 300 MB in 5.6 s)",
                f"{line} in {took:.2f} s",
                " 413 " in line,
            )
            mine = await victim.delete(f"/api/v1/documents/{ref}")
            review.record(
                "uploads: acme deletes its own document", short(mine), mine.status_code == 204
            )
    finally:
        receiver.__exit__(None, None, None)


async def sizes(stack: Stack, review: Review, mallory: str) -> None:
    headers = {"authorization": f"Bearer {mallory}"}
    async with httpx.AsyncClient(base_url=stack.api, headers=headers, timeout=300) as http:
        huge = json.dumps(
            {
                "alias": "h",
                "type": "form_loaded",
                "url": "https://example.com/",
                "headers": {f"X-{i}": "v" for i in range(1_000_000)},
            }
        ).encode()
        answer, took = await timed(
            lambda: http.post(
                "/api/v1/webhooks", content=huge, headers={"content-type": "application/json"}
            )
        )
        probe, probe_took = await timed(lambda: http.get("/api/v1/webhooks"))
        review.record(
            f"sizes: a webhook with 1,000,000 headers ({len(huge) >> 20} MB of JSON)",
            f"{short(answer)} in {took:.2f} s; the API answers meanwhile: "
            f"{probe.status_code} in {probe_took * 1000:.0f} ms",
            answer.status_code == 413,
        )
        line, took = await asyncio.to_thread(
            lambda: (lambda t0: (raw_post(stack.api, "/api/v1/webhooks", 200 << 20, b"{",
                                          "application/json"), time.perf_counter() - t0))(
                time.perf_counter()
            )
        )  # fmt: skip
        review.record("sizes: a 200 MB body", f"{line} in {took:.2f} s", " 413 " in line)
        many = {f"X-H{i}": "v" for i in range(51)}
        for name, body in (
            ("51 headers", {"headers": many}),
            ("51 custom-auth headers", {"auth": "custom", "custom_auth": many}),
            ("20,000 templates", {"explicit": True, "templates": [f"t{i}" for i in range(20000)]}),
        ):
            made = await http.post(
                "/api/v1/webhooks",
                json={"alias": "x", "type": "form_loaded", "url": "https://e.com/", **body},
            )
            review.record(f"sizes: a webhook with {name}", short(made), made.status_code == 422)
        for name, body in (
            ("expires_in P3650000D", {"expires_in": "P3650000D"}),
            ("10,000 labels", {"labels": {f"k{i}": "v" for i in range(10000)}}),
        ):
            made = await http.post("/api/v1/sessions", json={"id": "bad-1", **body})
            review.record(f"bad input: a session with {name}", short(made), made.status_code == 422)
        lone = await http.post(
            "/api/v1/sessions",
            content=b'{"id": "bad-2", "labels": {"k": "\\ud800"}}',
            headers={"content-type": "application/json"},
        )
        review.record("bad input: a lone surrogate in labels", short(lone), lone.status_code == 422)
        await http.post("/api/v1/sessions", json={"id": "mallory-2"})
        for size in (300 << 10, 2 << 20):
            sent = await http.post(
                "/api/v1/sessions/mallory-2/signals/form_submitted",
                json={"form_data": {"x": "y" * size}},
            )
            review.record(
                f"bad input: a {size >> 10} KiB signal", short(sent), sent.status_code == 413
            )


async def codec(stack: Stack, review: Review) -> None:
    url = f"http://127.0.0.1:{stack.ports['codec-port']}"
    async with httpx.AsyncClient(base_url=url, timeout=30) as http:
        encode = await http.post("/encode", content='{"payloads": []}')
        review.record("codec: /encode under the real key", short(encode), encode.status_code == 404)
    exposed = stack.hookflow("codec-server", "--host", "0.0.0.0", "--port", "0")
    review.record(
        "codec: hookflow codec-server --host 0.0.0.0 without a token",
        f"exit {exposed.returncode}: {exposed.stderr.strip()[:140]}",
        exposed.returncode != 0,
    )
    review.record(
        "codec: hookflow up's codec server without HOOKFLOW_CODEC_TOKEN",
        "listens on 127.0.0.1 only (the dev server's UI cannot send a token; README: Security)",
        True,
    )


def csrf_of(page: httpx.Response) -> str:
    found = re.search(r'name="csrf" value="([^"]+)"', page.text)
    return found[1] if found else ""


async def pane(stack: Stack, review: Review, acme: str) -> None:
    async with httpx.AsyncClient(base_url=stack.api, timeout=30) as http:
        page = await http.get("/login")
        await http.post("/login", data={"key": acme, "csrf": csrf_of(page)})
        stolen = http.cookies["hookflow_pane"]
        home = await http.get("/")
        await http.post("/logout", data={"csrf": csrf_of(home)})
        review.record(
            "pane: headers of a page",
            f"X-Frame-Options {home.headers.get('x-frame-options')}, "
            f"Cache-Control {home.headers.get('cache-control')}",
            home.headers.get("x-frame-options") == "DENY"
            and home.headers.get("cache-control") == "no-store",
        )
    async with httpx.AsyncClient(
        base_url=stack.api, cookies={"hookflow_pane": stolen}, timeout=30
    ) as thief:
        replay = await thief.get("/", follow_redirects=False)
        review.record(
            "pane: the cookie copied before logout, replayed after",
            f"{replay.status_code} -> {replay.headers.get('location')}",
            replay.status_code == 303 and replay.headers.get("location") == "/login",
        )
        docs = await thief.get("/api/docs")
        external = re.findall(r'(?:src|href)="(https?://[^"]+)"', docs.text)
        review.record("pane: /api/docs assets", f"external: {external or 'none'}", not external)
    async with httpx.AsyncClient(base_url=stack.api, timeout=30) as guesser:
        codes = []
        for _ in range(12):
            page = await guesser.get("/login")
            tried = await guesser.post("/login", data={"key": "hfk_guess", "csrf": csrf_of(page)})
            codes.append(tried.status_code)
        review.record("pane: 12 sign-in guesses in a row", " ".join(map(str, codes)), 429 in codes)


async def guard(stack: Stack, review: Review, mallory: str) -> None:
    headers = {"authorization": f"Bearer {mallory}"}
    async with httpx.AsyncClient(base_url=stack.api, headers=headers, timeout=60) as http:
        for name, port in stack.ports.items():
            made = await http.post(
                "/api/v1/webhooks",
                json={"alias": f"p-{name}", "type": "form_loaded",
                      "url": f"http://127.0.0.1:{port}/"},
            )  # fmt: skip
            tested = (await http.post(f"/api/v1/webhooks/{made.json()['id']}/test")).json()
            review.record(
                f"guard: the Test button at the stack's {name} ({port})",
                f"status {tested['status_code']}, excerpt {tested['response_excerpt']!r}, "
                f"{(tested['error'] or '')[:90]}",
                tested["status_code"] is None and not tested["response_excerpt"],
            )


async def limits(stack: Stack, review: Review, mallory: str) -> None:
    """Taking the shared worker: a webhook with a huge in-flight cap, and more
    webhooks than a project may have."""
    headers = {"authorization": f"Bearer {mallory}"}
    hook = {"type": "form_loaded", "url": "http://127.0.0.1:9/"}
    async with httpx.AsyncClient(base_url=stack.api, headers=headers, timeout=60) as http:
        huge = await http.post(
            "/api/v1/webhooks", json={**hook, "alias": "wide", "max_in_flight": 1000}
        )
        review.record(
            "limits: a webhook with max_in_flight 1000", short(huge), huge.status_code == 422
        )
        listed = (await http.get("/api/v1/webhooks")).json()
        have = len(listed["items"] if isinstance(listed, dict) else listed)
        answers = [
            await http.post("/api/v1/webhooks", json={**hook, "alias": f"many-{n}"})
            for n in range(have, 101)
        ]
        made = sum(a.status_code == 201 for a in answers)
        review.record(
            f"limits: {len(answers)} more webhooks for one project (it had {have})",
            f"{made} made, then {short(answers[-1])}",
            have + made <= 100 and answers[-1].status_code == 422,
        )


def storage(stack: Stack, review: Review) -> None:
    answer = stack.hookflow("storage", "set", "--project", "mallory", "--path", "{session_id}")
    review.record(
        "storage: a path without {project}",
        f"exit {answer.returncode}: {answer.stderr.strip()[:140]}",
        answer.returncode != 0,
    )


async def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--keep", action="store_true", help="Keep the data dir.")
    args = parser.parse_args()
    data_dir = Path(tempfile.mkdtemp(prefix="hookflow-tenants-")) / ".hookflow"
    stack = Stack(data_dir)
    stack.start()
    review = Review()
    try:
        acme, mallory = stack.key("acme"), stack.key("mallory")
        await documents(stack, review, acme, mallory)
        await sizes(stack, review, mallory)
        await codec(stack, review)
        await pane(stack, review, acme)
        await guard(stack, review, mallory)
        await limits(stack, review, mallory)
        storage(stack, review)
    finally:
        stack.stop()
        if not args.keep:
            shutil.rmtree(data_dir.parent, ignore_errors=True)
    still = [attack for attack, _got, refused in review.results if not refused]
    print(f"\n{len(review.results) - len(still)} of {len(review.results)} attacks refused")
    if NOT_COVERED:
        print("Not replayed here (not addressed yet): " + "; ".join(NOT_COVERED))
    print("A project's share of the shared worker: python -m benchmarks.fairness")
    return 1 if still else 0


async def _probe_ids(
    review: Review, victim: httpx.AsyncClient, attacker: httpx.AsyncClient
) -> None:
    """Session ids are per project: mallory can neither learn that acme's id
    exists nor take it from acme."""
    await victim.post("/api/v1/sessions", json={"id": "acme-deal-1"})
    known = await attacker.get("/api/v1/sessions/acme-deal-1")
    unknown = await attacker.get("/api/v1/sessions/acme-deal-0")
    same = (known.status_code, known.text.replace("-1", "-0")) == (
        unknown.status_code,
        unknown.text,
    )
    review.record("ids: mallory reads acme's session id and an unknown one", short(known), same)
    taken = await attacker.post("/api/v1/sessions", json={"id": "acme-deal-1"})
    own = await victim.get("/api/v1/sessions/acme-deal-1")
    review.record(
        "ids: mallory creates a session with acme's id (409 would tell it exists)",
        f"{short(taken)}; acme's still reads as {own.json().get('project')}",
        taken.status_code == 201 and own.json().get("project") == "acme",
    )


if __name__ == "__main__":
    sys.exit(asyncio.run(main()))
