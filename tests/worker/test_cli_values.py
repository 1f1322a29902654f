"""Values that could never be sent are refused at ``webhooks add|update`` with one
line that does not repeat them; credentials never go through ``--header``."""

from __future__ import annotations

import json
import time
from pathlib import Path

import pytest
from sqlmodel import Session

from activities.store.database import init_db, make_engine
from activities.store.tables import Webhook
from tests.servers import TricklingServer
from tests.worker.cli import Cli
from tests.worker.test_cli_webhooks import stored
from worker.devstack.receiver import Receiver, Reply

ADD = ["webhooks", "add", "--project", "acme", "--alias", "crm", "--type", "form_submitted"]
URL = "https://crm.example.com/hook"


def one_line(err: str) -> str:
    lines = err.strip().splitlines()
    assert len(lines) == 1, err
    assert lines[0].startswith("hookflow: error: ")
    return lines[0]


@pytest.mark.parametrize(
    ("option", "value", "problem"),
    [
        ("--custom-auth", "X-Key=s3cret-v4lue ", "leading or trailing spaces"),
        ("--custom-auth", "X-Key= s3cret-v4lue", "leading or trailing spaces"),
        ("--custom-auth", "X-Key=s3cret-v4lue\v", "leading or trailing spaces"),
        ("--custom-auth", "X-Key=s3cret\fv4lue", "control character"),
        ("--custom-auth", "X-Key=s3cret\r\nX-Injected: 1", "control character"),
        ("--custom-auth", "X-Key=s3cret-v4lué", "non-ASCII"),
        ("--header", "X-Tenant=s3cret-v4lue\t", "leading or trailing spaces"),
        ("--header", "X-Tenant=acme\x00s3cret", "control character"),
        ("--header", "X-Tenant=s3cret-€", "non-ASCII"),
    ],
)
def test_unsendable_header_values_are_refused_without_echoing_them(
    cli: Cli, tmp_path: Path, option: str, value: str, problem: str
) -> None:
    _code, err = cli.fails(*ADD, "--url", URL, option, value)
    line = one_line(err)
    assert problem in line
    assert "s3cret" not in line
    assert stored(tmp_path) == []


@pytest.mark.parametrize("url", ["http://0177.0.0.1/", "http://256.1.1.1/", "http://1.2.3.999/"])
def test_urls_httpx_refuses_are_refused(cli: Cli, tmp_path: Path, url: str) -> None:
    _code, err = cli.fails(*ADD, "--url", url)
    assert "invalid URL" in one_line(err)
    assert stored(tmp_path) == []


@pytest.mark.parametrize(
    "header",
    [
        "Authorization=Bearer s3cret",
        "authorization=Basic czNjcmV0",
        "Proxy-Authorization=Basic czNjcmV0",
        "Cookie=session=s3cret",
        "X-Api-Key=s3cret",
        "X-Auth-Token=s3cret",
        "Api_Key=s3cret",
        "X-Client-Secret=s3cret",
    ],
)
def test_credential_headers_are_refused_with_a_pointer_to_custom_auth(
    cli: Cli, tmp_path: Path, header: str
) -> None:
    _code, err = cli.fails(*ADD, "--url", URL, "--header", header)
    line = one_line(err)
    name = header.partition("=")[0]
    assert f"header {name!r} carries credentials: use --custom-auth {name}=..." in line
    assert "s3cret" not in line and "czNjcmV0" not in line
    assert stored(tmp_path) == []


def test_update_refuses_the_same_and_changes_nothing(cli: Cli, tmp_path: Path) -> None:
    cli.ok(*ADD, "--url", URL, "--header", "X-Tenant=acme", "--custom-auth", "X-Key=k3y")
    for args in (
        ("--header", "Authorization=Bearer s3cret"),
        ("--custom-auth", "X-Key=s3cret "),
        ("--url", "http://0177.0.0.1/"),
        ("--header", "X-Tenant=acmé"),
    ):
        _code, err = cli.fails("webhooks", "update", "crm", *args)
        assert "s3cret" not in one_line(err)
    [webhook] = stored(tmp_path)
    assert (webhook.url, webhook.headers) == (URL, {"X-Tenant": "acme"})
    shown = json.loads(cli.ok("webhooks", "show", "crm", "--json"))
    assert shown["custom_auth"] == {"X-Key": "********"}


def test_credentials_go_through_custom_auth_encrypted(cli: Cli, tmp_path: Path) -> None:
    cli.ok(*ADD, "--url", URL, "--custom-auth", "Authorization=Bearer s3cret-t0ken")
    shown = cli.ok("webhooks", "show", "crm")
    assert "s3cret-t0ken" not in shown and "Authorization: ********" in shown
    assert b"s3cret-t0ken" not in (tmp_path / "hookflow.db").read_bytes()


def test_a_credential_header_stored_in_clear_earlier_is_shown_redacted(
    cli: Cli, tmp_path: Path
) -> None:
    cli.ok(*ADD, "--url", URL)
    engine = make_engine(f"sqlite:///{tmp_path / 'hookflow.db'}")
    init_db(engine)
    with Session(engine) as session:
        [webhook] = stored(tmp_path)
        webhook = session.get(Webhook, webhook.id)
        assert webhook is not None
        webhook.headers = {"Authorization": "Bearer 0ld-s3cret", "X-Tenant": "acme"}
        session.add(webhook)
        session.commit()
    for args in (("webhooks", "show", "crm"), ("webhooks", "show", "crm", "--json")):
        out = cli.ok(*args)
        assert "0ld-s3cret" not in out and "acme" in out


@pytest.fixture
def loopback_cli(cli: Cli, monkeypatch: pytest.MonkeyPatch) -> Cli:
    monkeypatch.setenv("HOOKFLOW_ALLOW_NETWORKS", "127.0.0.0/8")
    return cli


def test_webhooks_test_of_a_trickling_endpoint_ends_at_its_timeout(loopback_cli: Cli) -> None:
    with TricklingServer(every=1.0, length=600) as server:
        loopback_cli.ok(*ADD, "--url", server.url("/slow"), "--timeout", "1.5")
        started = time.monotonic()
        code, out, err = loopback_cli.run("webhooks", "test", "crm")
        took = time.monotonic() - started
    assert code == 1
    assert took < 10, f"webhooks test took {took:.0f}s"  # the answer would take 10 minutes
    assert "no response after 1" in out and out.count("timed out after 1.5s") == 1
    assert "verdict: failure: timed out after 1.5s" in out
    assert one_line(err) == "hookflow: error: test failed"


def test_webhooks_test_redacts_credentials_the_receiver_echoes(
    loopback_cli: Cli, receiver: Receiver, tmp_path: Path
) -> None:
    loopback_cli.ok(*ADD, "--url", receiver.url("/echo"), "--basic-auth", "dana:pa55-w0rd")
    basic = "ZGFuYTpwYTU1LXcwcmQ="
    receiver.always(
        "/echo",
        Reply(status=500, body=json.dumps({"got": f"Basic {basic}", "pw": "pa55-w0rd"}).encode()),
    )
    code, out, err = loopback_cli.run("webhooks", "test", "crm")
    assert code == 1
    assert receiver.at("/echo")[0].headers["authorization"] == f"Basic {basic}"
    assert "pa55-w0rd" not in out + err and basic not in out + err
    assert '{"got": "********", "pw": "********"}' in out
