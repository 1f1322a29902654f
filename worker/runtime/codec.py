"""The payload codec: personal data leaves hookflow's processes encrypted.

Every payload a hookflow client or worker sends to Temporal (workflow inputs,
signals, updates, queries, activity inputs and results, memos, failure
details, and with ``encode_common_attributes`` failure messages and stack
traces) is encrypted with AES-256-GCM before it reaches the server. Search
attributes are not payloads the codec sees: they stay ids and statuses.

Keys are a ring: the last key encrypts, every key decrypts. A payload names
its key by an id derived from the key, so a new key can join the ring and old
payloads still read. A payload that arrives unencoded (plain JSON from a
caller without the codec, such as the ``temporal`` CLI) is passed through.
"""

from __future__ import annotations

import base64
import binascii
import dataclasses
import hashlib
import logging
import os
import secrets
import time
from collections.abc import Callable, Iterable, Iterator, Sequence
from pathlib import Path

from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives.ciphers.aead import AESGCM
from temporalio.api.common.v1 import Payload, SearchAttributes, WorkflowExecution
from temporalio.api.workflowservice.v1 import GetWorkflowExecutionHistoryRequest
from temporalio.client import Client
from temporalio.contrib.pydantic import pydantic_data_converter
from temporalio.converter import DataConverter, PayloadCodec
from temporalio.service import RPCError

from activities.errors import PayloadUndecodable, SettingsError
from worker.runtime.failures import ExpectedFailureConverter

ENCODING = b"binary/encrypted"
KEY_ID = "encryption-key-id"
KEY_BYTES = 32
NONCE_BYTES = 12
# A payload under a key this process does not know yet may follow a rotation:
# the key file is read again, at most this often.
RELOAD_EVERY = 5.0


def key_id(key: bytes) -> str:
    """A key's public name: a truncated SHA-256, so ids never need configuring."""
    return hashlib.sha256(b"hookflow-codec-key\0" + key).hexdigest()[:16]


def new_key() -> str:
    return base64.urlsafe_b64encode(secrets.token_bytes(KEY_BYTES)).decode()


def parse_key(text: str, *, source: str) -> bytes:
    """A base64 (standard or URL-safe) AES-256 key; the error never shows the key."""
    text = text.strip()
    try:
        raw = base64.urlsafe_b64decode(text.replace("+", "-").replace("/", "_") + "==")
    except (binascii.Error, ValueError):
        raise SettingsError(f"{source}: a codec key must be base64") from None
    if len(raw) != KEY_BYTES:
        raise SettingsError(
            f"{source}: a codec key must be {KEY_BYTES} bytes, base64-encoded (got {len(raw)})"
        )
    return raw


@dataclasses.dataclass(frozen=True)
class KeyRing:
    """Keys in order of age: the last one encrypts, all of them decrypt."""

    keys: tuple[bytes, ...]

    def __post_init__(self) -> None:
        if not self.keys:
            raise SettingsError("no codec key")

    @property
    def active_id(self) -> str:
        return key_id(self.keys[-1])

    @property
    def ids(self) -> list[str]:
        return [key_id(key) for key in self.keys]

    @classmethod
    def parse(cls, text: str, *, source: str) -> KeyRing:
        """Keys separated by commas, spaces or lines; ``#`` starts a comment line."""
        lines = (line for line in text.splitlines() if not line.lstrip().startswith("#"))
        words = " ".join(lines).replace(",", " ").split()
        if not words:
            raise SettingsError(f"{source}: no codec key")
        return cls(tuple(parse_key(word, source=source) for word in words))


def load_key_file(path: Path, *, create: bool = False) -> KeyRing:
    """The key file's ring; with ``create``, a new file (mode 0600) holding one key."""
    if create and not path.exists():
        path.parent.mkdir(parents=True, exist_ok=True)
        _append_key(path, new_key(), exclusive=True)
    try:
        text = path.read_text()
    except FileNotFoundError:
        raise SettingsError(
            f"no codec key: set HOOKFLOW_CODEC_KEY or create {path} "
            "(`hookflow up` creates it; copy it to every worker)"
        ) from None
    except OSError as err:
        raise SettingsError(f"cannot read the codec key {path}: {err.strerror}") from None
    return KeyRing.parse(text, source=str(path))


def rotate_key_file(path: Path) -> KeyRing:
    """Add a new key that encrypts from now on; the older ones keep decrypting."""
    load_key_file(path)  # refuse to append to a missing or broken file
    _append_key(path, new_key(), exclusive=False)
    return load_key_file(path)


def _append_key(path: Path, key: str, *, exclusive: bool) -> None:
    flags = os.O_WRONLY | os.O_CREAT | (os.O_EXCL if exclusive else os.O_APPEND)
    fd = os.open(path, flags, 0o600)
    with os.fdopen(fd, "a") as handle:
        handle.write(key + "\n")


class EncryptionCodec(PayloadCodec):
    """AES-256-GCM over each serialized payload; the key id travels in its metadata."""

    def __init__(self, ring: KeyRing, *, reload: Callable[[], KeyRing] | None = None) -> None:
        self._reload = reload
        self._reloaded_at = time.monotonic()
        self._use(ring)

    def _use(self, ring: KeyRing) -> None:
        self.ring = ring
        self._ciphers = {key_id(key): AESGCM(key) for key in ring.keys}
        self._active_id = ring.active_id
        self._active = self._ciphers[self._active_id]

    async def encode(self, payloads: Sequence[Payload]) -> list[Payload]:
        return [self.encrypt(payload) for payload in payloads]

    async def decode(self, payloads: Sequence[Payload]) -> list[Payload]:
        return [self.decrypt(payload) for payload in payloads]

    def encrypt(self, payload: Payload) -> Payload:
        if payload.metadata.get("encoding") == ENCODING:
            return payload  # already sealed (a caller encoded it through the codec server)
        nonce = os.urandom(NONCE_BYTES)
        sealed = self._active.encrypt(nonce, payload.SerializeToString(), None)
        return Payload(
            metadata={"encoding": ENCODING, KEY_ID: self._active_id.encode()},
            data=nonce + sealed,
        )

    def decrypt(self, payload: Payload) -> Payload:
        if payload.metadata.get("encoding") != ENCODING:
            return payload  # plain JSON from a caller without the codec
        kid = payload.metadata.get(KEY_ID, b"").decode(errors="replace")
        cipher = self._cipher(kid)
        try:
            plain = cipher.decrypt(payload.data[:NONCE_BYTES], payload.data[NONCE_BYTES:], None)
        except InvalidTag:
            raise PayloadUndecodable(
                f"a payload under codec key {kid} does not decrypt: corrupted or altered"
            ) from None
        return Payload.FromString(plain)

    def knows(self, kid: str) -> bool:
        return kid in self._ciphers or (self._maybe_reload() and kid in self._ciphers)

    def _cipher(self, kid: str) -> AESGCM:
        if not self.knows(kid):
            raise PayloadUndecodable(
                f"a payload is encrypted with codec key {kid}, which is not among this "
                f"process's keys ({', '.join(self.ring.ids)}): HOOKFLOW_CODEC_KEY or codec.key "
                "is not the key these sessions were written with"
            )
        return self._ciphers[kid]

    def _maybe_reload(self) -> bool:
        """Read the key source again (a rotation may have added a key); the
        encrypting key stays the one this process started with."""
        now = time.monotonic()
        if self._reload is None or now - self._reloaded_at < RELOAD_EVERY:
            return False
        self._reloaded_at = now
        try:
            ring = self._reload()
        except SettingsError:
            return False
        active = self.ring.keys[-1]
        others = tuple(key for key in ring.keys if key != active)
        self._use(KeyRing((*others, active)))
        return True


def data_converter(codec: PayloadCodec | None) -> DataConverter:
    """hookflow's converter: pydantic JSON, then the codec; failure messages and
    stack traces go into encoded attributes so the codec covers them too; an
    expected failure carries no stack trace (``worker.runtime.failures``)."""
    return dataclasses.replace(
        pydantic_data_converter,
        payload_codec=codec,
        failure_converter_class=ExpectedFailureConverter,
    )


def payloads_in(message: object) -> Iterator[Payload]:
    """Every payload inside a protobuf message (a history event, a whole history),
    as the message's own objects; search attributes are not payloads the codec sees."""
    if isinstance(message, Payload):
        yield message
        return
    if isinstance(message, SearchAttributes):
        return
    list_fields = getattr(message, "ListFields", None)
    if list_fields is None:
        return
    for descriptor, value in list_fields():
        if descriptor.message_type is None:
            continue
        if descriptor.message_type.GetOptions().map_entry:
            values: Iterable[object] = value.values()
        elif descriptor.is_repeated:
            values = value
        else:
            values = (value,)
        for item in values:
            yield from payloads_in(item)


def encrypted_key_ids(messages: Iterable[object]) -> set[str]:
    """The codec key ids named by the payloads inside protobuf messages."""
    return {
        payload.metadata.get(KEY_ID, b"").decode(errors="replace")
        for message in messages
        for payload in payloads_in(message)
        if payload.metadata.get("encoding") == ENCODING
    }


async def check_keys(
    client: Client, codec: EncryptionCodec, *, task_queue: str, sample: int = 5
) -> None:
    """Refuse to start a worker whose keys cannot read the sessions running on its
    queue: a wrong key is one line at start, never a session stuck on a payload."""
    query = f'TaskQueue = "{task_queue}" AND ExecutionStatus = "Running"'
    histories = []
    async for execution in client.list_workflows(query, limit=sample):
        response = await client.workflow_service.get_workflow_execution_history(
            GetWorkflowExecutionHistoryRequest(
                namespace=client.namespace,
                execution=WorkflowExecution(workflow_id=execution.id, run_id=execution.run_id),
                maximum_page_size=100,
            )
        )
        histories.append(response.history)
    unknown = sorted(kid for kid in encrypted_key_ids(histories) if not codec.knows(kid))
    if unknown:
        raise SettingsError(
            f"the sessions on task queue {task_queue} are encrypted with codec key "
            f"{', '.join(unknown)}, which is not among this worker's keys "
            f"({', '.join(codec.ring.ids)}): HOOKFLOW_CODEC_KEY or codec.key is wrong"
        )


async def check_worker_keys(client: Client, codec: EncryptionCodec, *, task_queue: str) -> None:
    """``check_keys`` where the server lets the worker list its sessions."""
    try:
        await check_keys(client, codec, task_queue=task_queue)
    except RPCError as err:
        logging.getLogger("hookflow").warning(
            "could not check the codec keys against running sessions (%s)", err.status.name
        )
