"""The pane's Test button and examples, from the command line, against loopback receivers."""

from __future__ import annotations

import json
from urllib.parse import parse_qsl

import jsonschema
import pytest

from activities.delivery.formats import decode
from tests.worker.cli import Cli
from worker.devstack.receiver import Receiver, Reply


@pytest.fixture
def cli(cli: Cli, monkeypatch: pytest.MonkeyPatch) -> Cli:
    """The offline command line, allowed to reach the loopback receivers."""
    monkeypatch.setenv("HOOKFLOW_ALLOW_NETWORKS", "127.0.0.0/8")
    return cli


def add(cli: Cli, url: str, *extra: str, type_: str = "form_submitted") -> str:
    return cli.ok(
        "webhooks",
        "add",
        "--project",
        "acme",
        "--alias",
        "crm",
        "--type",
        type_,
        "--url",
        url,
        *extra,
    ).split()[-1]


def test_test_button_success_with_auth_signing_and_redaction(cli: Cli, receiver: Receiver) -> None:
    add(
        cli,
        receiver.url("/t"),
        "--custom-auth",
        "X-Api-Key=k3y-secret",
        "--signing-secret",
        "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw",
        "--header",
        "X-Tenant=acme",
    )
    code, out, err = cli.run("webhooks", "test", "crm")
    assert code == 0, err
    [request] = receiver.requests
    assert request.headers["x-api-key"] == "k3y-secret"
    assert request.headers["webhook-signature"].startswith("v1,")
    body = request.json()
    assert body["event"]["type"] == "WHEF_CLIENT_FORM_SUBMITTED"
    assert body["event"]["id"] == request.headers["webhook-id"]
    assert "k3y-secret" not in out and "X-Api-Key: ********" in out
    assert "X-Tenant: acme" in out
    assert "HTTP 200 in" in out and out.rstrip().endswith("verdict: success")


def test_test_button_failure_exit_code(cli: Cli, receiver: Receiver) -> None:
    add(cli, receiver.url("/t"))
    receiver.always("/t", Reply(status=200, body=b'{"status": "error", "message": "no"}'))
    code, out, err = cli.run("webhooks", "test", "crm")
    assert code == 1
    assert "verdict: failure: HTTP 200 with an error body" in out
    assert err.strip() == "hookflow: error: test failed"  # the reason is in the verdict, once
    assert out.count("HTTP 200 with an error body") == 1


def test_test_button_xml_both_ways(cli: Cli, receiver: Receiver) -> None:
    add(cli, receiver.url("/x"), "--content-type", "xml", "--accept", "xml")
    receiver.always(
        "/x",
        Reply(
            body=b"<response><status>error</status></response>",
            headers={"content-type": "application/xml"},
        ),
    )
    code, out, err = cli.run("webhooks", "test", "crm")
    assert code == 1 and "error body" in out
    [request] = receiver.requests
    assert request.headers["content-type"] == "application/xml"
    assert request.headers["accept"] == "application/xml"
    parsed = decode(request.body, "xml")
    assert parsed["event"]["type"] == "WHEF_CLIENT_FORM_SUBMITTED"
    assert parsed["session"]["recipient"] == {"id": 1, "name": "client"}


def test_test_button_is_guarded(
    cli: Cli, receiver: Receiver, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("HOOKFLOW_ALLOW_NETWORKS", "")
    add(cli, receiver.url("/g"))
    code, out, err = cli.run("webhooks", "test", "crm")
    assert code == 1 and err == "hookflow: error: test failed\n"
    assert out.count("127.0.0.1 is loopback") == 1  # the reason, once: in the verdict
    assert "verdict: failure: destination 127.0.0.1 refused: 127.0.0.1 is loopback" in out
    assert receiver.requests == []


def test_examples(cli: Cli) -> None:
    out = cli.ok("webhooks", "example", "remote_data")
    assert "WHEF_FORM_FIELD_CHANGED" in out and "Response success example" in out
    data = json.loads(cli.ok("webhooks", "example", "archive", "--json"))
    assert data["event"] == "WHP_ARCHIVE" and data["response_error"]["status"] == "error"
    xml = cli.ok("webhooks", "example", "session_expired", "--content-type", "xml")
    assert "<type>WHEF_SESSION_EXPIRED</type>" in xml
    assert "Schema: remote_data.v1" in out


def test_example_schema_prints_the_json_schema_the_example_fits(cli: Cli) -> None:
    for name, version in (("archive", 2), ("send_sms", 1), ("remote_data", 1)):
        doc = json.loads(cli.ok("webhooks", "example", name, "--schema"))
        assert doc["$id"] == f"urn:hookflow:schema:{name}.v{version}"
        example = json.loads(cli.ok("webhooks", "example", name, "--json"))
        assert example["schema_version"] == f"{name}.v{version}"
        jsonschema.Draft202012Validator(doc).validate(example["request"])


@pytest.mark.parametrize(
    ("token_format", "content_type"),
    [("json", "application/json"), ("form", "application/x-www-form-urlencoded")],
)
def test_a_secrets_token_request_is_json_or_form_encoded(
    cli: Cli, receiver: Receiver, token_format: str, content_type: str
) -> None:
    receiver.always("/token", Reply(body=b'{"access_token": "tok-7431", "expires_in": 3600}'))
    cli.ok(
        "secrets",
        "add",
        "--project",
        "acme",
        "--alias",
        "crm-token",
        "--token-url",
        receiver.url("/token"),
        "--username",
        "svc",
        "--password",
        "p@ss word",
        "--scope",
        "hooks",
        "--token-format",
        token_format,
    )
    listed = cli.ok("secrets", "list").splitlines()[1].split()
    assert listed[:4] == ["acme", "crm-token", "general", token_format]
    add(cli, receiver.url("/hook"), "--secret", "crm-token")
    cli.ok("webhooks", "test", "crm")
    [asked] = receiver.at("/token")
    assert asked.headers["content-type"] == content_type
    fields = {
        "username": "svc",
        "password": "p@ss word",
        "grant_type": "password",
        "scope": "hooks",
    }
    if token_format == "json":
        assert asked.json() == fields
    else:
        assert dict(parse_qsl(asked.body.decode(), strict_parsing=True)) == fields
        assert "p%40ss+word" in asked.body.decode()
    [hook] = receiver.at("/hook")
    assert hook.headers["authorization"] == "Bearer tok-7431"
