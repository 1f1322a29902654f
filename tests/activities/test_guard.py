"""The address guard refuses internal destinations before any packet is sent.

Host names resolve through a resolver the test controls; pytest-socket refuses
any connection beyond loopback, so a broken guard fails here instead of
reaching the network.
"""

from __future__ import annotations

import ipaddress

import pytest

from activities.delivery.guard import parse_endpoints, parse_networks, refusal
from activities.delivery.http import HttpClients
from activities.errors import DestinationRefused
from worker.devstack.receiver import Receiver

REFUSED = [
    "127.0.0.1",
    "10.0.0.1",
    "172.16.5.4",
    "192.168.1.1",
    "169.254.169.254",
    "100.64.0.1",
    "0.0.0.0",
    "224.0.0.1",
    "::1",
    "fe80::1",
    "fd00::1",
    "fec0::1",  # site-local (deprecated, still routed in places)
    "feff:ffff::1",
    "::ffff:127.0.0.1",
    "::ffff:10.0.0.1",
    "64:ff9b::a00:1",
    "2002:a00:1::",
]


@pytest.mark.parametrize("address", REFUSED)
def test_internal_addresses_are_refused(address: str) -> None:
    assert refusal(ipaddress.ip_address(address), []) is not None


@pytest.mark.parametrize("address", ["93.184.215.14", "2606:4700::6810:84e5"])
def test_public_addresses_pass(address: str) -> None:
    assert refusal(ipaddress.ip_address(address), []) is None


def test_allow_list_lets_networks_through() -> None:
    allowed = parse_networks("127.0.0.0/8, ::1/128")
    assert refusal(ipaddress.ip_address("127.0.0.1"), allowed) is None
    assert refusal(ipaddress.ip_address("10.0.0.1"), allowed) is not None
    with pytest.raises(ValueError, match="not a CIDR"):
        parse_networks("10.0.0.0/33")


@pytest.mark.parametrize("address", ["169.254.169.254", "10.0.0.1", "::ffff:127.0.0.1"])
async def test_refused_before_connecting(address: str) -> None:
    async def resolver(host: str, port: int) -> list[str]:
        return [address]

    with Receiver() as receiver:
        clients = HttpClients(resolver=resolver)
        with pytest.raises(DestinationRefused, match="refused"):
            await clients.post(
                f"http://internal.test:{receiver.port}/",
                content=b"{}",
                headers={},
                timeout=2,
                verify_ssl=True,
            )
        await clients.aclose()
        assert receiver.requests == []


async def test_rebinding_name_is_checked_on_every_connection() -> None:
    answers = iter([["127.0.0.1"], ["10.0.0.1"]])

    async def resolver(host: str, port: int) -> list[str]:
        return next(answers)

    with Receiver() as receiver:
        clients = HttpClients(allowed=parse_networks("127.0.0.0/8"), resolver=resolver)
        first = await clients.post(
            f"http://flip.test:{receiver.port}/",
            content=b"{}",
            headers={"connection": "close"},
            timeout=2,
            verify_ssl=True,
        )
        assert first.status_code == 200
        with pytest.raises(DestinationRefused):
            await clients.post(
                f"http://flip.test:{receiver.port}/",
                content=b"{}",
                headers={},
                timeout=2,
                verify_ssl=True,
            )
        await clients.aclose()
        assert len(receiver.requests) == 1


@pytest.mark.parametrize("address", ["127.0.0.1", "127.0.0.2", "::ffff:127.0.0.1", "0.0.0.0"])
async def test_the_stacks_own_ports_are_refused_whatever_is_allowed(address: str) -> None:
    async def resolver(host: str, port: int) -> list[str]:
        return [address] if host == "stack.test" else ["127.0.0.1"]

    with Receiver() as stack, Receiver() as other:
        clients = HttpClients(
            allowed=parse_networks("0.0.0.0/0 ::/0"),
            resolver=resolver,
            stack=[("127.0.0.1", stack.port)],
        )
        with pytest.raises(DestinationRefused, match="the stack's own"):
            await clients.post(
                f"http://stack.test:{stack.port}/",
                content=b"{}",
                headers={},
                timeout=2,
                verify_ssl=True,
            )
        answer = await clients.post(
            f"http://127.0.0.1:{other.port}/", content=b"{}", headers={}, timeout=2, verify_ssl=True
        )
        assert answer.status_code == 200
        await clients.aclose()
        assert stack.requests == []


def test_stack_endpoints_are_host_and_port() -> None:
    assert parse_endpoints("127.0.0.1:7233, [::1]:8080 localhost:1") == [
        ("127.0.0.1", 7233),
        ("::1", 8080),
        ("localhost", 1),
    ]
    for bad in ("7233", "host:", "host:99999"):
        with pytest.raises(ValueError):
            parse_endpoints(bad)
