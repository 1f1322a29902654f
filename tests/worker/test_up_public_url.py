"""``hookflow up`` gives its workers and API a public URL: ``HOOKFLOW_PUBLIC_URL``
when set, else the API's own loopback address, so document links work in the
dev stack out of the box."""

from __future__ import annotations

from pathlib import Path

from worker.cli.up import UpPorts, with_public_url
from worker.devstack.workers import worker_env
from worker.runtime.settings import Settings

PORTS = UpPorts.of(
    port=7233, ui_port=8233, codec_port=8081, api_port=8095, http_port=None, metrics_port=None
)


def test_without_the_setting_links_point_at_the_stacks_api(tmp_path: Path) -> None:
    settings = with_public_url(Settings.from_env(data_dir=tmp_path, env={}), PORTS)
    assert settings.public_url == "http://127.0.0.1:8095"
    assert worker_env(settings, allowed="")["HOOKFLOW_PUBLIC_URL"] == "http://127.0.0.1:8095"


def test_an_explicit_public_url_wins(tmp_path: Path) -> None:
    given = Settings.from_env(
        data_dir=tmp_path, env={"HOOKFLOW_PUBLIC_URL": "https://hooks.example.com/"}
    )
    settings = with_public_url(given, PORTS)
    assert settings.public_url == "https://hooks.example.com"
    assert worker_env(settings, allowed="")["HOOKFLOW_PUBLIC_URL"] == "https://hooks.example.com"
