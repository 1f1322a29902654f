"""Settings from the environment and ``.env`` files: every variable read by its
name, defaults when unset or empty, one line naming the variable on a bad value."""

from __future__ import annotations

import ipaddress
from pathlib import Path

import pytest

from activities.contracts.limits import WebhookLimits
from activities.errors import SettingsError
from tests.worker.cli import Cli
from tests.worker.test_stack import state
from worker.devstack.stack import write_state
from worker.runtime.settings import Settings


def test_defaults_when_nothing_is_set(tmp_path: Path) -> None:
    settings = Settings.from_env(data_dir=tmp_path, env={"HOOKFLOW_TASK_QUEUE": ""})
    assert (settings.temporal_address, settings.namespace) == ("127.0.0.1:7233", "default")
    assert settings.task_queue == "hookflow"
    assert settings.database_url == f"sqlite:///{tmp_path / 'hookflow.db'}"
    assert (settings.allow_networks, settings.stack) == ([], ())
    assert settings.max_upload_bytes == 25 * 1024 * 1024
    assert settings.documents == tmp_path / "documents"
    assert not settings.temporal_tls and not settings.pane_secure_cookie
    assert (settings.http_transport, settings.workflow_sandbox) == ("aiohttp", "off")


def test_every_variable_by_its_name(tmp_path: Path) -> None:
    env = {
        "TEMPORAL_ADDRESS": "temporal.internal:7233",
        "TEMPORAL_NAMESPACE": "prod",
        "TEMPORAL_TLS": "1",
        "HOOKFLOW_TASK_QUEUE": " hooks ",
        "HOOKFLOW_DATABASE_URL": "postgresql://db/hookflow",
        "HOOKFLOW_ALLOW_NETWORKS": "10.0.0.0/8,::1/128",
        "HOOKFLOW_SECRET_KEY": "s3cret",
        "HOOKFLOW_CODEC_TOKEN": "tok",
        "HOOKFLOW_DOCUMENTS_DIR": str(tmp_path / "docs"),
        "HOOKFLOW_MAX_REQUEST_SIZE": "2MiB",
        "HOOKFLOW_DOCUMENT_QUOTA": "10MiB",
        "HOOKFLOW_STACK_ENDPOINTS": "127.0.0.1:9000",
        "HOOKFLOW_PANE_SECURE_COOKIE": "yes",
        "HOOKFLOW_MAX_IN_FLIGHT_CEILING": "10",
        "HOOKFLOW_WEBHOOKS_PER_PROJECT": "7",
        "HOOKFLOW_HTTP_TRANSPORT": " HTTPX ",
        "HOOKFLOW_WORKFLOW_SANDBOX": "on",
    }
    settings = Settings.from_env(data_dir=tmp_path, env=env)
    assert settings.temporal_address == "temporal.internal:7233" and settings.namespace == "prod"
    assert settings.temporal_tls and settings.pane_secure_cookie
    assert settings.task_queue == "hooks"
    assert settings.database_url == "postgresql://db/hookflow"
    assert settings.allow_networks == [
        ipaddress.ip_network("10.0.0.0/8"),
        ipaddress.ip_network("::1/128"),
    ]
    assert settings.secret_key() == "s3cret" and settings.codec_token == "tok"
    assert settings.documents == tmp_path / "docs"
    assert (settings.max_request_bytes, settings.document_quota_bytes) == (2 << 20, 10 << 20)
    assert ("127.0.0.1", 9000) in settings.own_endpoints
    assert settings.webhook_limits == WebhookLimits(
        max_in_flight_ceiling=10, webhooks_per_project=7
    )
    assert (settings.http_transport, settings.workflow_sandbox) == ("httpx", "on")
    assert "s3cret" not in repr(settings)


@pytest.mark.parametrize(
    ("name", "value", "message"),
    [
        ("HOOKFLOW_MAX_REQUEST_SIZE", "huge", "HOOKFLOW_MAX_REQUEST_SIZE: 'huge' is not a size"),
        ("HOOKFLOW_DOCUMENT_QUOTA", "0", "HOOKFLOW_DOCUMENT_QUOTA: must be at least 1 byte"),
        ("HOOKFLOW_TASK_QUEUE", "  ", "HOOKFLOW_TASK_QUEUE is empty"),
        ("HOOKFLOW_STACK_ENDPOINTS", "nohost", "HOOKFLOW_STACK_ENDPOINTS: "),
        ("TEMPORAL_TLS", "maybe", "TEMPORAL_TLS: "),
        ("HOOKFLOW_PANE_SECURE_COOKIE", "perhaps", "HOOKFLOW_PANE_SECURE_COOKIE: "),
        ("HOOKFLOW_MAX_IN_FLIGHT_CEILING", "fifty", "HOOKFLOW_MAX_IN_FLIGHT_CEILING: "),
        ("HOOKFLOW_MAX_IN_FLIGHT_CEILING", "0", "HOOKFLOW_MAX_IN_FLIGHT_CEILING: "),
        ("HOOKFLOW_WEBHOOKS_PER_PROJECT", "lots", "HOOKFLOW_WEBHOOKS_PER_PROJECT: "),
        (
            "HOOKFLOW_HTTP_TRANSPORT",
            "curl",
            "HOOKFLOW_HTTP_TRANSPORT: 'curl' is not one of aiohttp, httpx",
        ),
        (
            "HOOKFLOW_WORKFLOW_SANDBOX",
            "maybe",
            "HOOKFLOW_WORKFLOW_SANDBOX: 'maybe' is not one of off, on",
        ),
    ],
)
def test_a_bad_value_is_one_line_naming_its_variable(
    tmp_path: Path, name: str, value: str, message: str
) -> None:
    with pytest.raises(SettingsError) as raised:
        Settings.from_env(data_dir=tmp_path, env={name: value})
    assert str(raised.value).startswith(message)
    assert "\n" not in str(raised.value)


def test_built_directly_reads_no_environment(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("HOOKFLOW_TASK_QUEUE", "from-the-environment")
    assert Settings(data_dir=tmp_path).task_queue == "hookflow"
    assert Settings.from_env(data_dir=tmp_path).task_queue == "from-the-environment"
    changed = Settings(data_dir=tmp_path).replace(task_queue="other")
    assert changed.task_queue == "other"


def test_only_the_documented_names_are_read(tmp_path: Path) -> None:
    # A field with a variable of its own is not also read as HOOKFLOW_<field>,
    # nor is any variable read in another case.
    env = {
        "HOOKFLOW_TEMPORAL_ADDRESS": "elsewhere:1",
        "temporal_address": "elsewhere:2",
        "HOOKFLOW_SECRET_KEY_ENV": "not-a-key",
        "HOOKFLOW_CODEC_KEY_ENV": "not-a-key",
        "hookflow_task_queue": "other",
    }
    settings = Settings.from_env(data_dir=tmp_path, env=env)
    assert settings.temporal_address == "127.0.0.1:7233"
    assert settings.secret_key_env is None and settings.codec_key_env is None
    assert settings.task_queue == "hookflow"


@pytest.mark.parametrize(
    "url", ["https://user:pw-s3cret@hooks.example.com", "http://pw-s3cret@127.0.0.1:8000/api"]
)
def test_a_public_url_with_credentials_is_refused_without_quoting_them(
    tmp_path: Path, url: str
) -> None:
    # They would go into every linked archive sent to receivers.
    with pytest.raises(SettingsError) as raised:
        Settings.from_env(data_dir=tmp_path, env={"HOOKFLOW_PUBLIC_URL": url})
    assert str(raised.value) == "HOOKFLOW_PUBLIC_URL must not hold a user name or password"
    assert "s3cret" not in str(raised.value)
    plain = Settings.from_env(
        data_dir=tmp_path, env={"HOOKFLOW_PUBLIC_URL": "https://hooks.example.com/"}
    )
    assert plain.public_url == "https://hooks.example.com"


@pytest.mark.parametrize("command", ["up", "worker", "api"])
def test_a_bad_webhook_limit_stops_the_server_at_start(
    command: str, cli: Cli, monkeypatch: pytest.MonkeyPatch
) -> None:
    """An operator's mistake is one line when the server starts, not a 422 later
    blamed on the client who configures a webhook."""
    monkeypatch.setenv("HOOKFLOW_MAX_IN_FLIGHT_CEILING", "fifty")
    _code, err = cli.fails(command)
    assert err.startswith("hookflow: error: HOOKFLOW_MAX_IN_FLIGHT_CEILING: Input should be")
    assert err.count("\n") == 1


def _write(path: Path, text: str) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(text, encoding="utf-8")
    return path


def test_a_dotenv_file_sets_what_the_environment_does_not(tmp_path: Path) -> None:
    here, data = tmp_path / "here", tmp_path / "data"
    data.mkdir()
    write_state(data, state(task_queue="q-stack"))
    _write(
        data / ".env",
        "HOOKFLOW_TASK_QUEUE=q-data-dir\nTEMPORAL_NAMESPACE=data-ns\nHOOKFLOW_CODEC_TOKEN=t1\n",
    )
    _write(
        here / ".env",
        "# the project's own\nTEMPORAL_NAMESPACE=here-ns\nexport HOOKFLOW_CODEC_TOKEN='t 2'\n"
        "HOOKFLOW_PUBLIC_URL=https://hooks.example.com\n",
    )
    env = {"HOOKFLOW_PUBLIC_URL": "https://env.example.com", "HOOKFLOW_CODEC_TOKEN": ""}
    settings = Settings.from_env(data_dir=data, env=env, cwd=here)
    # environment > current directory's .env > data dir's .env > stack > built-in
    assert settings.public_url == "https://env.example.com"
    assert settings.codec_token == "t 2"  # an empty variable counts as unset
    assert settings.namespace == "here-ns"
    assert settings.task_queue == "q-data-dir"
    assert settings.temporal_address == "127.0.0.1:7300"  # the stack's
    assert settings.max_request_bytes == 1024 * 1024  # built-in


def test_a_dotenv_file_may_name_the_data_dir(tmp_path: Path) -> None:
    data = tmp_path / "state"
    _write(data / ".env", "HOOKFLOW_TASK_QUEUE=from-its-env\n")
    _write(tmp_path / ".env", f"HOOKFLOW_DATA_DIR={data}\n")
    settings = Settings.from_env(env={}, cwd=tmp_path)
    assert settings.data_dir == data and settings.data_dir_given
    assert settings.task_queue == "from-its-env"
    assert settings.database_url == f"sqlite:///{data / 'hookflow.db'}"


def test_a_dotenv_file_is_read_by_the_documented_names_only(tmp_path: Path) -> None:
    _write(
        tmp_path / ".env",
        "HOOKFLOW_TEMPORAL_ADDRESS=elsewhere:1\ntemporal_address=elsewhere:2\n"
        "hookflow_task_queue=other\nHOOKFLOW_SECRET_KEY_ENV=not-a-key\nDB_PASSWORD=x\n",
    )
    settings = Settings.from_env(data_dir=tmp_path / "d", env={}, cwd=tmp_path)
    assert settings.temporal_address == "127.0.0.1:7233"
    assert settings.task_queue == "hookflow" and settings.secret_key_env is None


def test_a_bad_value_in_a_dotenv_file_is_one_line_naming_its_variable(tmp_path: Path) -> None:
    _write(tmp_path / ".env", "HOOKFLOW_MAX_UPLOAD_SIZE=lots\n")
    with pytest.raises(SettingsError) as raised:
        Settings.from_env(data_dir=tmp_path / "d", env={}, cwd=tmp_path)
    assert str(raised.value).startswith("HOOKFLOW_MAX_UPLOAD_SIZE: 'lots' is not a size")
    assert "\n" not in str(raised.value)


def test_without_a_dotenv_file_nothing_changes(tmp_path: Path) -> None:
    (tmp_path / ".env").mkdir()  # not a file: not read
    settings = Settings.from_env(data_dir=tmp_path, env={}, cwd=tmp_path)
    assert settings.task_queue == "hookflow" and settings.namespace == "default"
