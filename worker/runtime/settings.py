"""Settings, read once from the environment and validated up front.

The fields, their defaults and their variables are written once, here:
pydantic-settings reads ``HOOKFLOW_<FIELD>`` (or the variable a field names,
``TEMPORAL_ADDRESS``...) from the environment, then the ``.env`` of the current
directory, then the data dir's ``.env``, over the defaults of the data dir's
stack; a bad value is one line naming its variable. Built directly
(``Settings(data_dir=...)``, as tests and benchmarks do), nothing is read from
the environment.
"""

from __future__ import annotations

import ipaddress
import os
import re
from collections.abc import Mapping
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any, Literal, get_args
from urllib.parse import urlsplit

from dotenv import dotenv_values
from pydantic import Field, ValidationError, ValidationInfo, field_validator, model_validator
from pydantic_settings import (
    BaseSettings,
    EnvSettingsSource,
    NoDecode,
    PydanticBaseSettingsSource,
    SettingsConfigDict,
)

from activities.contracts.limits import (
    DEFAULT_DOCUMENT_QUOTA,
    DEFAULT_MAX_IN_FLIGHT_CEILING,
    DEFAULT_MAX_REQUEST,
    DEFAULT_MAX_UPLOAD,
    DEFAULT_WEBHOOKS_PER_PROJECT,
    WebhookLimits,
    parse_size,
)
from activities.errors import SettingsError
from worker.runtime.data_dir import discover_data_dir, remembered_env

if TYPE_CHECKING:  # imported where used: a configuration command needs none of them
    from temporalio.service import TLSConfig

    from worker.runtime.codec import EncryptionCodec, KeyRing

DOTENV = ".env"
"""Read from the current directory and from the data dir."""

Network = ipaddress.IPv4Network | ipaddress.IPv6Network
"""The address guard's ``IPNetwork`` (the guard itself loads httpcore: not here)."""
HttpTransport = Literal["aiohttp", "httpx"]
"""``activities.delivery.http.TRANSPORTS``, the default first."""
Sandbox = Literal["off", "on"]


class Settings(BaseSettings):
    model_config = SettingsConfigDict(
        env_prefix="HOOKFLOW_", env_ignore_empty=True, frozen=True, validate_by_name=True
    )

    data_dir: Path
    """Where ``hookflow up`` keeps its state (``HOOKFLOW_DATA_DIR``)."""
    temporal_address: str = Field("127.0.0.1:7233", validation_alias="TEMPORAL_ADDRESS")
    """Temporal frontend (``TEMPORAL_ADDRESS``)."""
    namespace: str = Field("default", validation_alias="TEMPORAL_NAMESPACE")
    """Temporal namespace (``TEMPORAL_NAMESPACE``)."""
    task_queue: str = "hookflow"
    """Task queue of sessions and deliveries (``HOOKFLOW_TASK_QUEUE``)."""
    database_url: str = ""
    """Configuration database (``HOOKFLOW_DATABASE_URL``); a SQLite file by default."""
    allow_networks: Annotated[list[Network], NoDecode] = []
    """CIDRs the address guard lets through (``HOOKFLOW_ALLOW_NETWORKS``)."""
    temporal_api_key: str | None = Field(None, validation_alias="TEMPORAL_API_KEY", repr=False)
    """API key for Temporal Cloud (``TEMPORAL_API_KEY``); implies TLS."""
    temporal_tls: bool = Field(False, validation_alias="TEMPORAL_TLS")
    """Connect to Temporal over TLS (``TEMPORAL_TLS=1``)."""
    temporal_tls_cert: Path | None = Field(None, validation_alias="TEMPORAL_TLS_CLIENT_CERT_PATH")
    """mTLS client certificate, PEM (``TEMPORAL_TLS_CLIENT_CERT_PATH``); implies TLS."""
    temporal_tls_key: Path | None = Field(
        None, validation_alias="TEMPORAL_TLS_CLIENT_KEY_PATH", repr=False
    )
    """mTLS client private key, PEM (``TEMPORAL_TLS_CLIENT_KEY_PATH``)."""
    temporal_tls_ca: Path | None = Field(None, validation_alias="TEMPORAL_TLS_SERVER_CA_CERT_PATH")
    """CA of the server's certificate, PEM (``TEMPORAL_TLS_SERVER_CA_CERT_PATH``)."""
    secret_key_env: str | None = Field(None, validation_alias="HOOKFLOW_SECRET_KEY", repr=False)
    """Key of the secrets at rest (``HOOKFLOW_SECRET_KEY``; default ``<data dir>/secret.key``)."""
    documents_dir: Path | None = None
    """Document store folder (``HOOKFLOW_DOCUMENTS_DIR``; default ``<data dir>/documents``)."""
    storage_dir: Path | None = None
    """Local storage root (``HOOKFLOW_STORAGE_DIR``; default ``<data dir>/storage``)."""
    codec_key_env: str | None = Field(None, validation_alias="HOOKFLOW_CODEC_KEY", repr=False)
    """Payload codec keys (``HOOKFLOW_CODEC_KEY``; default ``<data dir>/codec.key``)."""
    codec_token: str | None = Field(None, repr=False)
    """Bearer token ``hookflow codec-server`` requires (``HOOKFLOW_CODEC_TOKEN``)."""
    max_request_bytes: int = Field(
        DEFAULT_MAX_REQUEST, validation_alias="HOOKFLOW_MAX_REQUEST_SIZE"
    )
    """A request body to the API (``HOOKFLOW_MAX_REQUEST_SIZE``: ``1MiB``)."""
    max_upload_bytes: int = Field(DEFAULT_MAX_UPLOAD, validation_alias="HOOKFLOW_MAX_UPLOAD_SIZE")
    """One uploaded document (``HOOKFLOW_MAX_UPLOAD_SIZE``: ``25MiB``)."""
    document_quota_bytes: int = Field(
        DEFAULT_DOCUMENT_QUOTA, validation_alias="HOOKFLOW_DOCUMENT_QUOTA"
    )
    """The documents of one project together (``HOOKFLOW_DOCUMENT_QUOTA``: ``1GiB``)."""
    stack: Annotated[tuple[tuple[str, int], ...], NoDecode] = Field(
        (), validation_alias="HOOKFLOW_STACK_ENDPOINTS"
    )
    """The stack's own listening sockets, which no delivery may reach
    (``HOOKFLOW_STACK_ENDPOINTS``, ``host:port``...; ``hookflow up`` records its own)."""
    pane_secure_cookie: bool = False
    """The pane's cookie is ``Secure`` even over plain HTTP (``HOOKFLOW_PANE_SECURE_COOKIE=1``:
    TLS ends at a proxy uvicorn does not trust); over HTTPS it always is."""
    public_url: str | None = None
    """hookflow's API as webhook receivers reach it (``HOOKFLOW_PUBLIC_URL``,
    e.g. ``https://hooks.example.com``): the base of signed document links."""
    project_share: float = Field(0.5, gt=0, le=1)
    """Of a worker's attempt slots, what one project may hold while others deliver
    (``HOOKFLOW_PROJECT_SHARE``: above 0, at most 1); the default of a project
    without a share of its own (``hookflow projects set --share``)."""
    max_in_flight_ceiling: int = Field(DEFAULT_MAX_IN_FLIGHT_CEILING, ge=1, le=1000)
    """The highest ``--max-in-flight`` a webhook may be given; a stored higher one is
    clamped to it (``HOOKFLOW_MAX_IN_FLIGHT_CEILING``: 1 to 1000)."""
    webhooks_per_project: int = Field(DEFAULT_WEBHOOKS_PER_PROJECT, ge=1, le=1_000_000)
    """The most webhooks one project may have (``HOOKFLOW_WEBHOOKS_PER_PROJECT``)."""
    http_transport: HttpTransport = "aiohttp"
    """How the worker POSTs (``HOOKFLOW_HTTP_TRANSPORT``): ``aiohttp``, or ``httpx``
    (httpx's own transport, kept to compare the two)."""
    workflow_sandbox: Sandbox = "off"
    """``on`` runs workflows in the Temporal SDK's sandbox (``HOOKFLOW_WORKFLOW_SANDBOX``)."""
    data_dir_given: bool = Field(True, exclude=True)
    """False when the data dir was found, not named (``--data-dir``, ``HOOKFLOW_DATA_DIR``)."""

    @classmethod
    def settings_customise_sources(
        cls,
        settings_cls: type[BaseSettings],
        init_settings: PydanticBaseSettingsSource,
        env_settings: PydanticBaseSettingsSource,
        dotenv_settings: PydanticBaseSettingsSource,
        file_secret_settings: PydanticBaseSettingsSource,
    ) -> tuple[PydanticBaseSettingsSource, ...]:
        """Built directly, only what is given: the environment is ``from_env``'s."""
        return (init_settings,)

    @classmethod
    def from_env(
        cls,
        *,
        data_dir: Path | str | None = None,
        env: Mapping[str, str] | None = None,
        cwd: Path | None = None,
    ) -> Settings:
        """The settings of the environment (``os.environ`` unless given), then of
        ``cwd``'s ``.env`` (the current directory's unless given), then of the
        data dir's ``.env``, over the defaults of the data dir's stack;
        SettingsError on a bad value."""
        env = os.environ if env is None else env
        cwd = Path.cwd() if cwd is None else cwd
        here = _dotenv(cwd / DOTENV)  # it may name the data dir
        given = data_dir or env.get("HOOKFLOW_DATA_DIR") or here.get("HOOKFLOW_DATA_DIR")
        root = Path(given).absolute() if given else discover_data_dir(cwd)
        # The stack ``hookflow up`` runs on this data dir: its address, queue and
        # allowed networks, unless a ``.env`` or the environment says otherwise.
        # An empty variable counts as unset.
        layers = (remembered_env(root), _dotenv(root / DOTENV), here, env)
        merged = {k: v for layer in layers for k, v in layer.items() if v}
        values = _Environment(cls, merged)()
        values.setdefault("database_url", f"sqlite:///{root / 'hookflow.db'}")
        try:
            return cls(**{**values, "data_dir": root, "data_dir_given": bool(given)})
        except ValidationError as err:
            raise SettingsError(_one_line(err)) from None

    @field_validator("task_queue", mode="after")
    @classmethod
    def _queue(cls, value: str) -> str:
        if not value.strip():
            raise ValueError("HOOKFLOW_TASK_QUEUE is empty")
        return value.strip()

    @field_validator("allow_networks", "stack", mode="before")
    @classmethod
    def _listed(cls, value: object, info: ValidationInfo) -> object:
        """``HOOKFLOW_ALLOW_NETWORKS`` (CIDRs), ``HOOKFLOW_STACK_ENDPOINTS`` (``host:port``),
        comma-separated; the address guard that parses them is imported only when needed."""
        if not isinstance(value, str):
            return value
        if not value.strip():
            return []
        from activities.delivery.guard import parse_endpoints, parse_networks

        if info.field_name == "allow_networks":
            return parse_networks(value)  # its errors name the variable
        try:
            return parse_endpoints(value)
        except ValueError as err:
            raise ValueError(f"HOOKFLOW_STACK_ENDPOINTS: {err}") from None

    @field_validator("http_transport", "workflow_sandbox", mode="before")
    @classmethod
    def _choice(cls, value: object, info: ValidationInfo) -> object:
        """One of the field's words, in any case and spacing."""
        if not isinstance(value, str):
            return value
        name, word = str(info.field_name), value.strip().lower()
        choices = get_args(cls.model_fields[name].annotation)
        if word not in choices:
            raise ValueError(f"{_variable(name)}: {word!r} is not one of {', '.join(choices)}")
        return word

    @field_validator("max_request_bytes", "max_upload_bytes", "document_quota_bytes", mode="before")
    @classmethod
    def _size(cls, value: object, info: ValidationInfo) -> object:
        if not isinstance(value, str):
            return value
        name = cls.model_fields[str(info.field_name)].validation_alias
        try:
            size = parse_size(value)
        except ValueError as err:
            raise ValueError(f"{name}: {err}") from None
        if size < 1:
            raise ValueError(f"{name}: must be at least 1 byte")
        return size

    @field_validator(
        "temporal_tls_cert", "temporal_tls_key", "temporal_tls_ca", "documents_dir", "storage_dir"
    )
    @classmethod
    def _absolute(cls, value: Path | None) -> Path | None:
        return value.absolute() if value else None

    @model_validator(mode="after")
    def _mtls_pair(self) -> Settings:
        if (self.temporal_tls_cert is None) != (self.temporal_tls_key is None):
            raise ValueError(
                "mTLS needs both TEMPORAL_TLS_CLIENT_CERT_PATH and TEMPORAL_TLS_CLIENT_KEY_PATH"
            )
        return self

    def replace(self, **changes: Any) -> Settings:
        """A copy with ``changes`` (what ``dataclasses.replace`` did)."""
        return self.model_copy(update=changes)

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
    def webhook_limits(self) -> WebhookLimits:
        """What the store checks a webhook against when one is configured."""
        return WebhookLimits(self.max_in_flight_ceiling, self.webhooks_per_project)

    @property
    def storage(self) -> Path:
        return self.storage_dir or self.data_dir / "storage"

    @field_validator("public_url")
    @classmethod
    def _public_url(cls, value: str | None) -> str | None:
        text = (value or "").strip().rstrip("/")
        if not text:
            return None
        if "@" in urlsplit(text).netloc:
            # It would go into every linked archive sent to receivers (and it is
            # not quoted here: it holds a credential).
            raise ValueError("HOOKFLOW_PUBLIC_URL must not hold a user name or password")
        if not re.fullmatch(r"https?://[^\s/?#]+(/[^\s?#]*)?", text):
            raise ValueError(f"HOOKFLOW_PUBLIC_URL: {text[:80]!r} is not an http(s) URL")
        return text

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


class _Environment(EnvSettingsSource):
    """pydantic-settings' environment source over a given mapping (the environment
    over the stack's defaults), not ``os.environ`` itself."""

    def __init__(self, settings_cls: type[BaseSettings], env: Mapping[str, str]) -> None:
        # Only the documented variables, exactly as spelt: not ``HOOKFLOW_<field>``
        # where a field names its own (``TEMPORAL_ADDRESS``), nor lower case.
        known = {_variable(name) for name in Settings.model_fields}
        self._given = {name.lower(): value for name, value in env.items() if name in known}
        super().__init__(settings_cls)

    def _load_env_vars(self) -> Mapping[str, str | None]:
        return self._given


def _dotenv(path: Path) -> dict[str, str]:
    """A ``.env`` file's variables (python-dotenv's parser, which pydantic-settings
    uses), names as spelt; none when there is no such file."""
    if not path.is_file():
        return {}
    try:
        values = dotenv_values(path, encoding="utf-8")
    except (OSError, UnicodeDecodeError) as err:
        raise SettingsError(f"cannot read {path}: {err}") from None
    return {name: value for name, value in values.items() if value is not None}


def _one_line(err: ValidationError) -> str:
    """The first problem, as the validators word it (naming the variable)."""
    problem = err.errors(include_url=False, include_input=False)[0]
    message = str(problem["msg"]).removeprefix("Value error, ")
    if problem["type"] == "value_error":
        return message
    field = str(problem["loc"][0]) if problem["loc"] else ""
    return f"{_variable(field)}: {message}"


def _variable(where: str) -> str:
    """The variable of a problem's location: a field's own variable, or its name."""
    if where not in Settings.model_fields:
        return where  # already the variable (``TEMPORAL_TLS``)
    alias = Settings.model_fields[where].validation_alias
    return alias if isinstance(alias, str) else f"HOOKFLOW_{where.upper()}"


def _read(path: Path) -> bytes:
    try:
        return path.read_bytes()
    except OSError as err:
        raise SettingsError(f"cannot read {path}: {err.strerror}") from None
