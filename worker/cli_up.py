"""What ``hookflow up`` chooses and tells: its ports, the networks its worker
may reach, the state file other commands read, and its banner."""

from __future__ import annotations

import os
from dataclasses import dataclass, replace
from datetime import UTC, datetime

from activities.delivery.guard import parse_networks
from activities.errors import SettingsError
from worker.devserver import HTTP_PORT_OFFSET, METRICS_PORT_OFFSET, DevServer, ensure_port_free
from worker.output import CommandError
from worker.settings import Settings
from worker.stack import StackState, write_state

LOCAL_RECEIVER = "127.0.0.0/8"


@dataclass(frozen=True)
class UpPorts:
    port: int
    ui_port: int
    codec_port: int
    api_port: int
    http_port: int
    metrics_port: int
    hookflow_metrics_port: int | None = None

    @classmethod
    def of(
        cls,
        *,
        port: int,
        ui_port: int,
        codec_port: int,
        api_port: int,
        http_port: int | None,
        metrics_port: int | None,
        hookflow_metrics_port: int | None = None,
    ) -> UpPorts:
        """The ports of one stack, all fixed (the dev server would pick its HTTP
        and metrics ports at random); CommandError when two are the same."""
        chosen = cls(
            port=port,
            ui_port=ui_port,
            codec_port=codec_port,
            api_port=api_port,
            http_port=http_port or port + HTTP_PORT_OFFSET,
            metrics_port=metrics_port or port + METRICS_PORT_OFFSET,
            hookflow_metrics_port=hookflow_metrics_port,
        )
        values = [port, ui_port, codec_port, api_port, chosen.http_port, chosen.metrics_port]
        values += [hookflow_metrics_port] if hookflow_metrics_port else []
        if len(set(values)) < len(values) or max(values) > 65535:
            raise CommandError(
                f"the ports must differ and stay below 65536: --port {port}, --ui-port {ui_port}, "
                f"--codec-port {codec_port}, --api-port {api_port}, "
                f"--http-port {chosen.http_port}, "
                f"--temporal-metrics-port {chosen.metrics_port}, "
                f"--metrics-port {hookflow_metrics_port}"
            )
        return chosen

    @property
    def codec_url(self) -> str:
        return f"http://127.0.0.1:{self.codec_port}"

    def check_free(self) -> None:
        """Every port free before anything starts: one line names the busy one."""
        for port, what in (
            (self.port, "Temporal frontend"),
            (self.ui_port, "Temporal Web UI"),
            (self.http_port, "Temporal HTTP API"),
            (self.metrics_port, "Temporal metrics"),
            (self.codec_port, "codec server"),
            (self.api_port, "API"),
        ):
            ensure_port_free("127.0.0.1", port, what)


def with_allowed_networks(settings: Settings, option: str | None) -> tuple[Settings, str]:
    """The networks the worker of ``up`` may deliver to: ``--allow-networks``,
    else ``HOOKFLOW_ALLOW_NETWORKS``, else what the data dir's last stack was
    given; and their text, which the state file remembers."""
    if option is None:
        return settings, ",".join(str(network) for network in settings.allow_networks)
    try:
        networks = parse_networks(option)
    except ValueError as err:
        raise SettingsError(
            str(err).replace("HOOKFLOW_ALLOW_NETWORKS", "--allow-networks")
        ) from None
    return replace(settings, allow_networks=networks), ",".join(str(n) for n in networks)


def record_stack(settings: Settings, server: DevServer, ports: UpPorts, *, allowed: str) -> None:
    """``stack.json``: how every other command finds this stack."""
    write_state(
        settings.data_dir,
        StackState(
            pid=os.getpid(),
            temporal_address=server.address,
            namespace=settings.namespace,
            task_queue=settings.task_queue,
            ui_url=server.ui_url,
            codec_url=ports.codec_url,
            http_port=ports.http_port,
            metrics_port=ports.metrics_port,
            allow_networks=allowed,
            started_at=datetime.now(UTC),
        ),
    )


def banner(settings: Settings, server: DevServer, ports: UpPorts, *, allowed: str) -> list[str]:
    reach = (
        f"{allowed}  (--allow-networks)"
        if allowed
        else f"public addresses only  (--allow-networks {LOCAL_RECEIVER} for a local receiver)"
    )
    return [
        f"hookflow is up (data in {settings.data_dir})",
        f"  Temporal Web UI:   {server.ui_url}",
        f"  Codec server:      {ports.codec_url}  (--codec-endpoint)",
        f"  Temporal frontend: {server.address}  (TEMPORAL_ADDRESS)",
        f"  Temporal HTTP API: http://{server.ip}:{server.http_port}",
        f"  Temporal metrics:  {server.metrics_url}",
        f"  Task queue:        {settings.task_queue}",
        f"  Deliveries reach:  {reach}",
    ]
