"""The address guard: refuse internal destinations at connect time.

The check runs on the addresses a host name resolves to, right before the
socket connects to that very address, so a DNS answer that changes between a
check and the connection (rebinding) cannot slip through.
"""

from __future__ import annotations

import asyncio
import ipaddress
import socket
from collections.abc import Awaitable, Callable, Iterable, Sequence
from typing import Any

import httpcore

from activities.errors import DestinationRefused

IPAddress = ipaddress.IPv4Address | ipaddress.IPv6Address
IPNetwork = ipaddress.IPv4Network | ipaddress.IPv6Network
Resolver = Callable[[str, int], Awaitable[list[str]]]


def parse_networks(text: str) -> list[IPNetwork]:
    """CIDRs from ``HOOKFLOW_ALLOW_NETWORKS`` (comma or space separated)."""
    networks = []
    for part in text.replace(",", " ").split():
        try:
            networks.append(ipaddress.ip_network(part, strict=False))
        except ValueError:
            raise ValueError(f"HOOKFLOW_ALLOW_NETWORKS: {part!r} is not a CIDR") from None
    return networks


def refusal(address: IPAddress, allowed: Sequence[IPNetwork]) -> str | None:
    """Why ``address`` may not be connected to, or None when it may."""
    if any(address in network for network in allowed):
        return None
    if isinstance(address, ipaddress.IPv6Address):
        embedded = address.ipv4_mapped or address.sixtofour or _nat64(address)
        if embedded is not None:
            return refusal(embedded, allowed)
    if address.is_loopback:
        return "loopback"
    if address.is_link_local:
        return "link-local (cloud metadata lives here)"
    if address.is_multicast or address.is_unspecified or address.is_reserved:
        return "reserved"
    # Deprecated, but still routed inside some networks; Python counts it global.
    if isinstance(address, ipaddress.IPv6Address) and address.is_site_local:
        return "site-local"
    if not address.is_global:
        return "private"
    return None


def how_to_allow(addresses: Sequence[IPAddress]) -> str:
    """The way to let these addresses through, for a refusal's message."""
    if not addresses:
        return ""
    cidrs = ",".join(str(ipaddress.ip_network(address)) for address in addresses)
    return (
        f" (to deliver there, allow it: hookflow up --allow-networks {cidrs}, "
        "or HOOKFLOW_ALLOW_NETWORKS for the worker)"
    )


def _nat64(address: ipaddress.IPv6Address) -> ipaddress.IPv4Address | None:
    if address in ipaddress.ip_network("64:ff9b::/96"):
        return ipaddress.IPv4Address(int(address) & 0xFFFFFFFF)
    return None


async def system_resolver(host: str, port: int) -> list[str]:
    infos = await asyncio.get_running_loop().getaddrinfo(host, port, type=socket.SOCK_STREAM)
    return list(dict.fromkeys(str(info[4][0]) for info in infos))


def parse_endpoints(text: str) -> list[tuple[str, int]]:
    """``host:port`` pairs (comma or space separated; ``[::1]:80`` for IPv6)."""
    endpoints = []
    for part in text.replace(",", " ").split():
        host, _, port = part.rpartition(":")
        if not host or not port.isdigit() or not 0 < int(port) < 65536:
            raise ValueError(f"{part!r} is not host:port")
        endpoints.append((host.strip("[]"), int(port)))
    return endpoints


async def is_stack_endpoint(
    address: IPAddress, port: int, stack: Sequence[tuple[str, int]], resolver: Resolver
) -> bool:
    """Whether ``address:port`` is one of the stack's own listening sockets
    (``stack``: ``(host, port)``), never a destination whatever networks are allowed."""
    if isinstance(address, ipaddress.IPv6Address) and address.ipv4_mapped:
        address = address.ipv4_mapped
    for host, own in stack:
        if own != port:
            continue
        if address.is_loopback or address.is_unspecified:
            return True  # this machine: whatever address it listens on
        try:
            found = await resolver(host, port)
        except OSError:
            continue
        if str(address) in found:
            return True
    return False


async def checked(
    host: str,
    port: int,
    addresses: Iterable[str],
    *,
    allowed: Sequence[IPNetwork],
    stack: Sequence[tuple[str, int]],
    resolver: Resolver,
) -> list[IPAddress]:
    """The addresses ``host`` resolved to that the guard lets through, in order
    (both HTTP transports connect only to these); ``DestinationRefused``, naming
    every refusal, when there are none."""
    passed: list[IPAddress] = []
    reasons, refused = [], []
    for text in addresses:
        address = ipaddress.ip_address(text.split("%", 1)[0])
        reason = refusal(address, allowed)
        if reason is None and await is_stack_endpoint(address, port, stack, resolver):
            reasons.append(f"{address}:{port} is the stack's own (never a destination)")
        elif reason is None:
            passed.append(address)
        else:
            reasons.append(f"{address} is {reason}")
            refused.append(address)
    if not passed:
        raise DestinationRefused(
            f"destination {host} refused: "
            + ("; ".join(reasons) or "no address")
            + how_to_allow(refused)
        )
    return passed


class GuardedBackend(httpcore.AsyncNetworkBackend):
    """An httpcore backend that connects only to addresses the guard allows, and
    never to the stack's own listening ports (``stack``: ``(host, port)``),
    whatever networks are allowed."""

    def __init__(
        self,
        *,
        allowed: Iterable[IPNetwork] = (),
        resolver: Resolver = system_resolver,
        inner: httpcore.AsyncNetworkBackend | None = None,
        stack: Iterable[tuple[str, int]] = (),
    ) -> None:
        self._allowed = list(allowed)
        self._resolver = resolver
        self._inner = inner or httpcore.AnyIOBackend()
        self._stack = list(stack)

    async def connect_tcp(
        self,
        host: str,
        port: int,
        timeout: float | None = None,
        local_address: str | None = None,
        socket_options: Iterable[Any] | None = None,
    ) -> httpcore.AsyncNetworkStream:
        try:
            addresses = await asyncio.wait_for(self._resolver(host, port), timeout)
        except (OSError, TimeoutError) as err:
            raise httpcore.ConnectError(f"cannot resolve {host}: {err}") from err
        passed = await checked(
            host, port, addresses, allowed=self._allowed, stack=self._stack, resolver=self._resolver
        )
        return await self._inner.connect_tcp(
            str(passed[0]), port, timeout, local_address, socket_options
        )

    async def connect_unix_socket(
        self, path: str, timeout: float | None = None, socket_options: Iterable[Any] | None = None
    ) -> httpcore.AsyncNetworkStream:
        raise DestinationRefused("unix sockets are not a webhook destination")

    async def sleep(self, seconds: float) -> None:
        await self._inner.sleep(seconds)
