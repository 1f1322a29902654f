"""The stack file: one data dir, one ``hookflow up``; commands find its ports and
networks; a command run from the wrong folder creates nothing."""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path

import pytest

from activities.errors import DevServerError
from tests.worker.cli import Cli
from worker.devstack.stack import claim, in_use, write_state
from worker.runtime.data_dir import StackState, discover_data_dir, read_state
from worker.runtime.settings import Settings


def state(**fields: object) -> StackState:
    values: dict[str, object] = {
        "pid": 4242,
        "temporal_address": "127.0.0.1:7300",
        "task_queue": "hookflow",
        "ui_url": "http://127.0.0.1:8300",
        "codec_url": "http://127.0.0.1:8081",
        "http_port": 7310,
        "metrics_port": 7311,
        "allow_networks": "127.0.0.0/8",
        "started_at": datetime.now(UTC),
    }
    values.update(fields)
    return StackState.model_validate(values)


def test_a_second_claim_on_a_data_dir_is_refused_with_the_first_ones_address(
    tmp_path: Path,
) -> None:
    write_state(tmp_path, state())
    assert not in_use(tmp_path)
    with claim(tmp_path):
        assert in_use(tmp_path)
        with pytest.raises(DevServerError) as refused, claim(tmp_path):
            pass
    assert str(refused.value) == (
        f"{tmp_path} is in use by another hookflow up (pid 4242, Temporal at 127.0.0.1:7300): "
        "stop it first, or give another --data-dir"
    )
    assert not in_use(tmp_path)
    with claim(tmp_path):  # free again once the first one stopped
        pass


def test_commands_take_the_stacks_address_queue_and_networks_unless_the_environment_says(
    tmp_path: Path,
) -> None:
    write_state(tmp_path, state(task_queue="q-7300"))
    assert read_state(tmp_path) == state(
        task_queue="q-7300",
        started_at=read_state(tmp_path).started_at,  # type: ignore[union-attr]
    )
    found = Settings.from_env(data_dir=tmp_path, env={})
    assert found.temporal_address == "127.0.0.1:7300"
    assert found.task_queue == "q-7300"
    assert [str(n) for n in found.allow_networks] == ["127.0.0.0/8"]
    told = Settings.from_env(
        data_dir=tmp_path,
        env={"TEMPORAL_ADDRESS": "10.1.1.1:7233", "HOOKFLOW_ALLOW_NETWORKS": "10.9.0.0/16"},
    )
    assert told.temporal_address == "10.1.1.1:7233"
    assert [str(n) for n in told.allow_networks] == ["10.9.0.0/16"]


def test_the_nearest_data_dir_above_is_found(tmp_path: Path) -> None:
    (tmp_path / ".hookflow").mkdir()
    deep = tmp_path / "src" / "deep"
    deep.mkdir(parents=True)
    assert discover_data_dir(deep) == tmp_path / ".hookflow"
    assert discover_data_dir(Path("/")) == Path("/.hookflow")


def test_a_command_from_another_folder_creates_nothing(
    cli: Cli, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    elsewhere = tmp_path / "elsewhere"
    elsewhere.mkdir()
    monkeypatch.chdir(elsewhere)
    monkeypatch.delenv("HOOKFLOW_DATA_DIR")
    add = ["webhooks", "add", "--project", "acme", "--alias", "crm", "--type", "form_submitted"]
    code, err = cli.fails(*add, "--url", "https://crm.example.com/hook")
    assert code == 1
    assert err.strip() == (
        f"hookflow: error: no hookflow data dir here: {elsewhere / '.hookflow'} does not exist. "
        "Run this where `hookflow up` (`make run`) runs, or name a data dir with --data-dir "
        "or HOOKFLOW_DATA_DIR"
    )
    pdf = tmp_path / "contract.pdf"
    pdf.write_bytes(b"%PDF-1.7")
    for command in (
        ["sessions", "show", "abc"],
        ["documents", "put", str(pdf), "--project", "acme"],
    ):
        code, err = cli.fails(*command)
        assert err.startswith("hookflow: error: no hookflow data dir here: ")
    assert list(elsewhere.iterdir()) == []
    # Named explicitly, a new data dir is created as asked.
    named = elsewhere / "mine"
    cli.ok("--data-dir", str(named), *add, "--url", "https://crm.example.com/hook")
    assert (named / "hookflow.db").exists()


def test_every_command_knows_the_stacks_own_ports(tmp_path: Path) -> None:
    write_state(
        tmp_path,
        StackState(
            pid=1,
            temporal_address="127.0.0.1:7300",
            task_queue="q",
            ui_url="http://127.0.0.1:7301",
            codec_url="http://127.0.0.1:7302",
            http_port=7303,
            metrics_port=7304,
            started_at=datetime.now(UTC),
            api_port=7305,
            hookflow_metrics_port=7306,
        ),
    )
    settings = Settings.from_env(data_dir=tmp_path, env={})
    assert {port for _host, port in settings.own_endpoints} == set(range(7300, 7307))


def test_every_command_knows_each_workers_metrics_port(tmp_path: Path) -> None:
    write_state(
        tmp_path,
        StackState(
            pid=1,
            temporal_address="127.0.0.1:7300",
            task_queue="q",
            ui_url="http://127.0.0.1:7301",
            codec_url="http://127.0.0.1:7302",
            http_port=7303,
            metrics_port=7304,
            started_at=datetime.now(UTC),
            api_port=7305,
            hookflow_metrics_port=7306,
            workers=3,  # worker i: metrics on 7306 + i - 1, its SDK exporter on 7309 + i - 1
        ),
    )
    settings = Settings.from_env(data_dir=tmp_path, env={})
    assert {port for _host, port in settings.own_endpoints} == set(range(7300, 7312))
