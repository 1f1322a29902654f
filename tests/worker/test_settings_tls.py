"""How a worker reaches a Temporal cluster: plain, TLS, API key, or mTLS from the environment."""

from __future__ import annotations

from pathlib import Path

import pytest
from temporalio.service import TLSConfig

from activities.errors import SettingsError
from worker.runtime.settings import Settings


def test_plain_tls_and_api_key(tmp_path: Path) -> None:
    assert Settings.from_env(data_dir=tmp_path, env={}).tls() is False
    assert Settings.from_env(data_dir=tmp_path, env={"TEMPORAL_TLS": "1"}).tls() is True
    assert Settings.from_env(data_dir=tmp_path, env={"TEMPORAL_API_KEY": "k"}).tls() is True


def test_mtls_reads_the_certificate_key_and_ca(tmp_path: Path) -> None:
    for name in ("client.pem", "client.key", "ca.pem"):
        (tmp_path / name).write_bytes(f"-----PEM {name}-----".encode())
    env = {
        "TEMPORAL_TLS_CLIENT_CERT_PATH": str(tmp_path / "client.pem"),
        "TEMPORAL_TLS_CLIENT_KEY_PATH": str(tmp_path / "client.key"),
        "TEMPORAL_TLS_SERVER_CA_CERT_PATH": str(tmp_path / "ca.pem"),
    }
    settings = Settings.from_env(data_dir=tmp_path, env=env)
    assert "client.key" not in repr(settings)
    assert settings.tls() == TLSConfig(
        client_cert=b"-----PEM client.pem-----",
        client_private_key=b"-----PEM client.key-----",
        server_root_ca_cert=b"-----PEM ca.pem-----",
    )


def test_half_an_mtls_pair_or_a_missing_file_is_one_clear_error(tmp_path: Path) -> None:
    cert_only = {"TEMPORAL_TLS_CLIENT_CERT_PATH": str(tmp_path / "client.pem")}
    with pytest.raises(SettingsError, match="needs both TEMPORAL_TLS_CLIENT_CERT_PATH and"):
        Settings.from_env(data_dir=tmp_path, env=cert_only)
    missing = {**cert_only, "TEMPORAL_TLS_CLIENT_KEY_PATH": str(tmp_path / "client.key")}
    with pytest.raises(SettingsError, match=r"cannot read .*client\.pem: No such file"):
        Settings.from_env(data_dir=tmp_path, env=missing).tls()
