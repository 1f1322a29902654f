"""The codec server: lets the Temporal Web UI and CLI show encrypted payloads decoded.

It speaks Temporal's remote codec protocol: ``POST .../encode`` and ``POST
.../decode`` take a ``Payloads`` message as protobuf JSON and answer the same
(only the last part of the path counts, so it may be mounted under any prefix,
such as ``/{namespace}``). The UI calls it from the browser, so it answers
CORS for the UI's origins; with a token, every request must carry
``Authorization: Bearer <token>``.

``/encode`` encrypts anything under the real key, which nothing but a client
that writes payloads itself needs (the UI only decodes): it is served only
when asked for (``--allow-encode``). Without a token the server listens on
loopback only: it refuses to start on another address.
"""

from __future__ import annotations

import asyncio
import contextlib
import hmac
import ipaddress
import socket
from collections.abc import Awaitable, Callable, Iterator, Sequence

import uvicorn
from fastapi import FastAPI, Request, Response
from fastapi.middleware.cors import CORSMiddleware
from google.protobuf import json_format
from temporalio.api.common.v1 import Payload, Payloads

from activities.errors import DevServerError, PayloadUndecodable
from worker.devstack.devserver import ensure_port_free
from worker.runtime.codec import EncryptionCodec

DEFAULT_PORT = 8081
MAX_BODY = 8 * 1024 * 1024  # a page of history: many payloads of at most 2 MB each
JSON = "application/json"


def ui_origins(ui_port: int) -> list[str]:
    """The Web UI of ``hookflow up`` as a browser may name it."""
    return [f"http://127.0.0.1:{ui_port}", f"http://localhost:{ui_port}"]


def is_loopback(host: str) -> bool:
    """Whether ``host`` is a loopback address (or ``localhost``)."""
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host.strip("[]")).is_loopback
    except ValueError:
        return False


def check_exposure(host: str, token: str | None) -> None:
    """A codec server decrypts for whoever reaches it: off loopback, only with a token."""
    if token is None and not is_loopback(host):
        raise DevServerError(
            f"the codec server decrypts payloads for whoever reaches it: to listen on {host}, "
            "set HOOKFLOW_CODEC_TOKEN (callers send Authorization: Bearer <token>)"
        )


def build_app(
    codec: EncryptionCodec,
    *,
    origins: Sequence[str],
    token: str | None = None,
    allow_encode: bool = False,
) -> FastAPI:
    app = FastAPI(title="hookflow codec server", docs_url=None, redoc_url=None, openapi_url=None)
    app.add_middleware(
        CORSMiddleware,
        allow_origins=list(origins),
        allow_methods=["POST"],
        allow_headers=["content-type", "x-namespace", "authorization"],
        allow_credentials=True,
    )
    actions: dict[str, Callable[[Sequence[Payload]], Awaitable[list[Payload]]]] = {
        "decode": codec.decode
    }
    if allow_encode:
        actions["encode"] = codec.encode

    @app.post("/{path:path}")
    async def apply(path: str, request: Request) -> Response:
        action = actions.get(path.rstrip("/").rpartition("/")[2])
        if action is None:
            served = " or .../".join(sorted(actions, reverse=True))
            return _error(404, f"not found: POST .../{served}")
        if token is not None and not _authorized(request, token):
            return _error(401, "a valid bearer token is required")
        body = await request.body()
        if len(body) > MAX_BODY:
            return _error(413, "request too large")
        try:
            payloads = json_format.Parse(body, Payloads())
        except json_format.ParseError:
            return _error(400, "the body is not a Payloads message in protobuf JSON")
        try:
            done = await action(payloads.payloads)
        except PayloadUndecodable as err:
            return _error(400, str(err))
        return Response(json_format.MessageToJson(Payloads(payloads=done)), media_type=JSON)

    return app


def _authorized(request: Request, token: str) -> bool:
    scheme, _, given = request.headers.get("authorization", "").partition(" ")
    return scheme.lower() == "bearer" and hmac.compare_digest(given.strip(), token)


def _error(status: int, message: str) -> Response:
    return Response(f'{{"message": "{message}"}}', status_code=status, media_type=JSON)


class EmbeddedServer(uvicorn.Server):
    """A uvicorn server that leaves SIGINT and SIGTERM to the command that runs it
    (``hookflow up``, ``api`` and ``codec`` stop it themselves on Ctrl-C)."""

    @contextlib.contextmanager
    def capture_signals(self) -> Iterator[None]:
        yield


class CodecServer:
    """The codec server on ``host:port``, started and stopped inside a running loop."""

    def __init__(self, app: FastAPI, *, host: str = "127.0.0.1", port: int = DEFAULT_PORT) -> None:
        self.host, self.port = host, port
        config = uvicorn.Config(app, host=host, port=port, log_level="warning", access_log=False)
        self._server = EmbeddedServer(config)
        self._task: asyncio.Task[None] | None = None

    @property
    def url(self) -> str:
        return f"http://{self.host}:{self.port}"

    async def start(self) -> None:
        """Listen (an OSError here, such as a port in use, is the caller's to report),
        then serve until ``stop``."""
        sock = socket.socket(socket.AF_INET6 if ":" in self.host else socket.AF_INET)
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            sock.bind((self.host, self.port))
        except OSError:
            sock.close()
            raise
        # Bound here rather than by uvicorn, which exits the process when it cannot bind.
        self.port = sock.getsockname()[1]
        self._task = asyncio.create_task(self._server.serve(sockets=[sock]))
        while not self._server.started and not self._task.done():
            await asyncio.sleep(0.02)
        if self._task.done():
            self._task.result()

    async def stop(self) -> None:
        if self._task is None:
            return
        self._server.should_exit = True
        await self._task
        self._task = None


async def start_codec_server(
    codec: EncryptionCodec,
    *,
    port: int,
    ui_port: int,
    token: str | None = None,
    allow_encode: bool = False,
) -> CodecServer:
    """The codec server of ``hookflow up``, for its own Web UI, on loopback; with
    ``token`` (``HOOKFLOW_CODEC_TOKEN``), every request must carry it."""
    ensure_port_free("127.0.0.1", port, "codec server")
    app = build_app(codec, origins=ui_origins(ui_port), token=token, allow_encode=allow_encode)
    server = CodecServer(app, port=port)
    try:
        await server.start()
    except OSError as err:
        raise DevServerError(f"the codec server cannot listen on {server.url}: {err}") from None
    return server
