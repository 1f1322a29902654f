"""Signed document links: one pure signing function with a test vector; a link
works for its document, project and time only."""

from __future__ import annotations

from urllib.parse import parse_qs, urlsplit

import pytest

from activities.errors import LinkRefused, LinksUnavailable
from activities.files.links import DocumentLinks, signature
from activities.store.crypto import SecretBox

REF = "sha256:" + "ab" * 32


def test_signature_test_vector() -> None:
    key = bytes(range(32))
    # HMAC-SHA256(key, "acme\nsha256:abab...\n1767225600"), hex
    assert signature(key, project="acme", ref=REF, expires=1767225600) == (
        "5ad45390f92513b2ca54e5f64399f5949d6b2103d8e28be3e755b36e4d6766ea"
    )


def test_a_link_holds_for_its_document_project_and_time_only() -> None:
    now = [1_000_000.0]
    links = DocumentLinks(
        key=SecretBox("k").derive("links"), base_url="https://h.example/", clock=lambda: now[0]
    )
    url, expires = links.url(project="acme", ref=REF)
    parts = urlsplit(url)
    assert parts.netloc == "h.example" and parts.path == f"/api/v1/documents/{REF}"
    query = {k: v[0] for k, v in parse_qs(parts.query).items()}
    assert query["project"] == "acme" and int(query["expires"]) == expires.timestamp()
    stamp = int(query["expires"])
    links.check(project="acme", ref=REF, expires=stamp, sig=query["sig"])
    for changed in (
        {"project": "globex"},
        {"ref": "sha256:" + "cd" * 32},
        {"expires": stamp + 1},
        {"sig": "0" * 64},
        {"sig": "é" * 64},
    ):
        args = {"project": "acme", "ref": REF, "expires": stamp, "sig": query["sig"], **changed}
        with pytest.raises(LinkRefused):
            links.check(**args)  # type: ignore[arg-type]
    now[0] = stamp + 1.0
    with pytest.raises(LinkRefused, match="expired"):
        links.check(project="acme", ref=REF, expires=stamp, sig=query["sig"])


def test_another_secret_key_signs_differently_and_no_base_url_is_a_clear_error() -> None:
    one = DocumentLinks(key=SecretBox("one").derive("links"), base_url="https://h.example")
    two = DocumentLinks(key=SecretBox("two").derive("links"), base_url="https://h.example")
    url, _ = one.url(project="acme", ref=REF)
    query = {k: v[0] for k, v in parse_qs(urlsplit(url).query).items()}
    with pytest.raises(LinkRefused):
        two.check(project="acme", ref=REF, expires=int(query["expires"]), sig=query["sig"])
    with pytest.raises(LinksUnavailable, match="HOOKFLOW_PUBLIC_URL"):
        DocumentLinks(key=b"k").url(project="acme", ref=REF)
