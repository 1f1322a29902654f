"""Settings, read once from the environment and validated up front."""

from __future__ import annotations

import os
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING

from activities.contracts.limits import (
    DEFAULT_DOCUMENT_QUOTA,
    DEFAULT_MAX_REQUEST,
    DEFAULT_MAX_UPLOAD,
    parse_size,
)
from activities.errors import SettingsError
from worker.runtime.data_dir import discover_data_dir, remembered_env

if TYPE_CHECKING:  # imported where used: a configuration command needs none of them
    from temporalio.service import TLSConfig

    from activities.delivery.guard import IPNetwork
    from worker.runtime.codec import EncryptionCodec, KeyRing


@dataclass(frozen=True)
class Settings:
    data_dir: Path
    """Where ``hookflow up`` keeps its state (``HOOKFLOW_DATA_DIR``)."""
    temporal_address: str = "127.0.0.1:7233"
    """Temporal frontend (``TEMPORAL_ADDRESS``)."""
    namespace: str = "default"
    """Temporal namespace (``TEMPORAL_NAMESPACE``)."""
    task_queue: str = "hookflow"
    """Task queue of sessions and deliveries (``HOOKFLOW_TASK_QUEUE``)."""
    database_url: str = ""
    """Configuration database (``HOOKFLOW_DATABASE_URL``); a SQLite file by default."""
    allow_networks: list[IPNetwork] = field(default_factory=list)
    """CIDRs the address guard lets through (``HOOKFLOW_ALLOW_NETWORKS``)."""
    temporal_api_key: str | None = field(default=None, repr=False)
    """API key for Temporal Cloud (``TEMPORAL_API_KEY``); implies TLS."""
    temporal_tls: bool = False
    """Connect to Temporal over TLS (``TEMPORAL_TLS=1``)."""
    temporal_tls_cert: Path | None = None
    """mTLS client certificate, PEM (``TEMPORAL_TLS_CLIENT_CERT_PATH``); implies TLS."""
    temporal_tls_key: Path | None = field(default=None, repr=False)
    """mTLS client private key, PEM (``TEMPORAL_TLS_CLIENT_KEY_PATH``)."""
    temporal_tls_ca: Path | None = None
    """CA of the server's certificate, PEM (``TEMPORAL_TLS_SERVER_CA_CERT_PATH``)."""
    secret_key_env: str | None = field(default=None, repr=False)
    documents_dir: Path | None = None
    """Document store folder (``HOOKFLOW_DOCUMENTS_DIR``; default ``<data dir>/documents``)."""

    storage_dir: Path | None = None
    """Local storage root (``HOOKFLOW_STORAGE_DIR``; default ``<data dir>/storage``)."""

    codec_key_env: str | None = field(default=None, repr=False)
    """Payload codec keys (``HOOKFLOW_CODEC_KEY``; default ``<data dir>/codec.key``)."""
    codec_token: str | None = field(default=None, repr=False)
    """Bearer token ``hookflow codec-server`` requires (``HOOKFLOW_CODEC_TOKEN``)."""
    max_request_bytes: int = DEFAULT_MAX_REQUEST
    """A request body to the API (``HOOKFLOW_MAX_REQUEST_SIZE``: ``1MiB``)."""
    max_upload_bytes: int = DEFAULT_MAX_UPLOAD
    """One uploaded document (``HOOKFLOW_MAX_UPLOAD_SIZE``: ``25MiB``)."""
    document_quota_bytes: int = DEFAULT_DOCUMENT_QUOTA
    """The documents of one project together (``HOOKFLOW_DOCUMENT_QUOTA``: ``1GiB``)."""
    stack: tuple[tuple[str, int], ...] = ()
    """The stack's own listening sockets, which no delivery may reach
    (``HOOKFLOW_STACK_ENDPOINTS``, ``host:port``...; ``hookflow up`` records its own)."""
    pane_secure_cookie: bool = False
    """The pane's cookie is ``Secure`` even over plain HTTP (``HOOKFLOW_PANE_SECURE_COOKIE=1``:
    TLS ends at a proxy uvicorn does not trust); over HTTPS it always is."""
    data_dir_given: bool = True
    """False when the data dir was found, not named (``--data-dir``, ``HOOKFLOW_DATA_DIR``)."""

    @property
    def documents(self) -> Path:
        return self.documents_dir or self.data_dir / "documents"

    @property
    def own_endpoints(self) -> tuple[tuple[str, int], ...]:
        """The stack's listening sockets and the Temporal frontend: never a destination."""
        from activities.delivery.guard import parse_endpoints

        try:
            frontend = parse_endpoints(self.temporal_address)
        except ValueError:
            frontend = []
        return tuple(dict.fromkeys([*frontend, *self.stack]))

    @property
    def storage(self) -> Path:
        return self.storage_dir or self.data_dir / "storage"

    @classmethod
    def from_env(
        cls, *, data_dir: Path | str | None = None, env: Mapping[str, str] | None = None
    ) -> Settings:
        env = os.environ if env is None else env
        given = data_dir or env.get("HOOKFLOW_DATA_DIR")
        root = Path(given).absolute() if given else discover_data_dir(Path.cwd())
        # The stack ``hookflow up`` runs on this data dir: its address, queue and
        # allowed networks, unless the environment says otherwise.
        # An empty variable counts as unset.
        env = {**remembered_env(root), **{k: v for k, v in env.items() if v}}
        networks = _networks(env.get("HOOKFLOW_ALLOW_NETWORKS", ""))
        stack = _endpoints(env.get("HOOKFLOW_STACK_ENDPOINTS", ""))
        cert, key = (
            _path(env, "TEMPORAL_TLS_CLIENT_CERT_PATH"),
            _path(env, "TEMPORAL_TLS_CLIENT_KEY_PATH"),
        )
        if (cert is None) != (key is None):
            raise SettingsError(
                "mTLS needs both TEMPORAL_TLS_CLIENT_CERT_PATH and TEMPORAL_TLS_CLIENT_KEY_PATH"
            )
        task_queue = env.get("HOOKFLOW_TASK_QUEUE", "hookflow").strip()
        if not task_queue:
            raise SettingsError("HOOKFLOW_TASK_QUEUE is empty")
        return cls(
            data_dir=root,
            temporal_address=env.get("TEMPORAL_ADDRESS", "127.0.0.1:7233"),
            namespace=env.get("TEMPORAL_NAMESPACE", "default"),
            task_queue=task_queue,
            database_url=env.get("HOOKFLOW_DATABASE_URL") or f"sqlite:///{root / 'hookflow.db'}",
            allow_networks=networks,
            temporal_api_key=env.get("TEMPORAL_API_KEY") or None,
            temporal_tls=env.get("TEMPORAL_TLS", "").lower() in ("1", "true", "yes"),
            temporal_tls_cert=cert,
            temporal_tls_key=key,
            temporal_tls_ca=_path(env, "TEMPORAL_TLS_SERVER_CA_CERT_PATH"),
            secret_key_env=env.get("HOOKFLOW_SECRET_KEY") or None,
            documents_dir=_path(env, "HOOKFLOW_DOCUMENTS_DIR"),
            storage_dir=_path(env, "HOOKFLOW_STORAGE_DIR"),
            codec_key_env=env.get("HOOKFLOW_CODEC_KEY") or None,
            codec_token=env.get("HOOKFLOW_CODEC_TOKEN") or None,
            stack=tuple(stack),
            pane_secure_cookie=env.get("HOOKFLOW_PANE_SECURE_COOKIE", "").lower()
            in ("1", "true", "yes"),
            max_request_bytes=_size(env, "HOOKFLOW_MAX_REQUEST_SIZE", DEFAULT_MAX_REQUEST),
            max_upload_bytes=_size(env, "HOOKFLOW_MAX_UPLOAD_SIZE", DEFAULT_MAX_UPLOAD),
            document_quota_bytes=_size(env, "HOOKFLOW_DOCUMENT_QUOTA", DEFAULT_DOCUMENT_QUOTA),
            data_dir_given=bool(given),
        )

    def secret_key(self, *, create: bool = True) -> str:
        """``HOOKFLOW_SECRET_KEY``, else the data dir's key file: created (0600)
        only when ``create`` (the database holds nothing encrypted yet)."""
        if self.secret_key_env:
            return self.secret_key_env
        from activities.store.crypto import load_key

        return load_key(self.data_dir / "secret.key", create=create)

    @property
    def codec_key_file(self) -> Path:
        return self.data_dir / "codec.key"

    def codec_keys(self, *, create: bool = False) -> KeyRing:
        """``HOOKFLOW_CODEC_KEY``, else the data dir's key file (``create``: made 0600
        with a new key when absent, as ``hookflow up`` does); SettingsError when
        there is none or it is malformed."""
        from worker.runtime.codec import KeyRing, load_key_file

        if self.codec_key_env:
            return KeyRing.parse(self.codec_key_env, source="HOOKFLOW_CODEC_KEY")
        return load_key_file(self.codec_key_file, create=create)

    def codec(self, *, create: bool = False) -> EncryptionCodec:
        """The payload codec; a key file is read again when a rotation added a key."""
        from worker.runtime.codec import EncryptionCodec, load_key_file

        ring = self.codec_keys(create=create)
        reload = None if self.codec_key_env else (lambda: load_key_file(self.codec_key_file))
        return EncryptionCodec(ring, reload=reload)

    def tls(self) -> bool | TLSConfig:
        """How to reach Temporal: plain, TLS, or TLS with a client certificate (mTLS)."""
        from temporalio.service import TLSConfig

        if self.temporal_tls_cert and self.temporal_tls_key:
            return TLSConfig(
                client_cert=_read(self.temporal_tls_cert),
                client_private_key=_read(self.temporal_tls_key),
                server_root_ca_cert=_read(self.temporal_tls_ca) if self.temporal_tls_ca else None,
            )
        if self.temporal_tls_ca:
            return TLSConfig(server_root_ca_cert=_read(self.temporal_tls_ca))
        return self.temporal_tls or self.temporal_api_key is not None


def _networks(text: str) -> list[IPNetwork]:
    """``HOOKFLOW_ALLOW_NETWORKS``; the address guard is only imported when some are set."""
    if not text.strip():
        return []
    from activities.delivery.guard import parse_networks

    try:
        return parse_networks(text)
    except ValueError as err:
        raise SettingsError(str(err)) from None


def _endpoints(text: str) -> list[tuple[str, int]]:
    """``HOOKFLOW_STACK_ENDPOINTS``: more of the stack's own sockets (``host:port``)."""
    if not text.strip():
        return []
    from activities.delivery.guard import parse_endpoints

    try:
        return parse_endpoints(text)
    except ValueError as err:
        raise SettingsError(f"HOOKFLOW_STACK_ENDPOINTS: {err}") from None


def _read(path: Path) -> bytes:
    try:
        return path.read_bytes()
    except OSError as err:
        raise SettingsError(f"cannot read {path}: {err.strerror}") from None


def _size(env: Mapping[str, str], name: str, default: int) -> int:
    if not env.get(name):
        return default
    try:
        size = parse_size(env[name])
    except ValueError as err:
        raise SettingsError(f"{name}: {err}") from None
    if size < 1:
        raise SettingsError(f"{name}: must be at least 1 byte")
    return size


def _path(env: Mapping[str, str], name: str) -> Path | None:
    return Path(env[name]).absolute() if env.get(name) else None
