"""``hookflow up`` restarts at once after a crash: TIME-WAIT connections do not
make its ports look busy; a port really in use still does."""

from __future__ import annotations

import socket

import pytest

from activities.errors import DevServerError
from worker.devstack.devserver import ensure_port_free


def _time_wait_port() -> int:
    """A port whose server side closed a connection first, as a killed server's does."""
    with socket.socket() as server:
        server.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        server.bind(("127.0.0.1", 0))
        server.listen()
        port = int(server.getsockname()[1])
        client = socket.create_connection(("127.0.0.1", port))
        accepted, _ = server.accept()
        accepted.close()
        client.recv(1)
        client.close()
    return port


def test_a_port_with_connections_in_time_wait_is_free() -> None:
    port = _time_wait_port()
    with socket.socket() as plain, pytest.raises(OSError):
        plain.bind(("127.0.0.1", port))  # what the old check did: "in use" for a minute
    ensure_port_free("127.0.0.1", port, "Temporal frontend")


def test_a_port_with_a_listener_is_in_use() -> None:
    with socket.socket() as server:
        server.bind(("127.0.0.1", 0))
        server.listen()
        port = int(server.getsockname()[1])
        with pytest.raises(DevServerError, match=f"port {port} .* already in use"):
            ensure_port_free("127.0.0.1", port, "Temporal frontend")
