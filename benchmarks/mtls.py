"""Mutual TLS deliveries: the per-webhook SSL context cached, beside one built
for every POST.

A loopback HTTPS receiver requires a client certificate signed by a test CA
(certificates made here); N POSTs go one after another through the worker's
HTTP clients with the webhook's certificate and CA bundle, first with the
settings version unchanged (one context, connections kept alive), then with a
new version on every POST (a context built per POST, as without the cache:
a key loaded and a fresh handshake each time).

    .venv/bin/python -m benchmarks.mtls [--posts 300] [--transport aiohttp]
"""

from __future__ import annotations

import argparse
import asyncio
import tempfile
import time
from pathlib import Path

from activities.delivery.guard import parse_networks
from activities.delivery.http import HttpClients
from activities.delivery.tls import WebhookTls
from tests.tls import TestCA, TlsReceiver


async def _run(url: str, tls_for: list[WebhookTls], transport: str) -> float:
    http = HttpClients(allowed=parse_networks("127.0.0.0/8"), transport=transport)
    try:
        started = time.perf_counter()
        for tls in tls_for:
            reply = await http.post(
                url, content=b'{"n": 1}', headers={}, timeout=10, verify_ssl=True, tls=tls
            )
            assert reply.status_code == 200, reply.status_code
        return time.perf_counter() - started
    finally:
        await http.aclose()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--posts", type=int, default=300)
    parser.add_argument("--transport", choices=["aiohttp", "httpx"], default="aiohttp")
    args = parser.parse_args()
    ca = TestCA()
    client = ca.issue("bench-client")

    def tls(version: str) -> WebhookTls:
        return WebhookTls(
            version=version, client_cert=client.cert, client_key=client.key, ca_bundle=ca.pem
        )

    with tempfile.TemporaryDirectory() as folder:
        server = ca.issue("127.0.0.1", server=True)
        with TlsReceiver(server, Path(folder), client_ca=ca) as rx:
            url = rx.url("/bench")
            cached = asyncio.run(_run(url, [tls("w/1")] * args.posts, args.transport))
            rebuilt = asyncio.run(
                _run(url, [tls(f"w/{n}") for n in range(args.posts)], args.transport)
            )
    print(f"{args.posts} mTLS POSTs over loopback ({args.transport}), one after another")  # noqa: T201
    for name, seconds in (("context cached", cached), ("context per POST", rebuilt)):
        each = seconds / args.posts * 1000
        print(f"  {name:<18} {args.posts / seconds:8.0f} POST/s  {each:6.2f} ms each")  # noqa: T201
    print(f"  cached is {rebuilt / cached:.1f}x faster")  # noqa: T201


if __name__ == "__main__":
    main()
