"""Encryption at rest for passwords, auth values, token credentials and signing keys."""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import os
import secrets
from pathlib import Path

from cryptography.fernet import Fernet, InvalidToken
from sqlalchemy.engine import Engine
from sqlmodel import Session, col, select

from activities.errors import SecretBoxError, SettingsError
from activities.files.private import FILE_MODE, private_dir

REDACTED = "********"


class SecretBox:
    """Encrypts and decrypts small secrets with a key derived from one string."""

    def __init__(self, key: str) -> None:
        if not key:
            raise ValueError("the secret key is empty")
        digest = hashlib.sha256(key.encode()).digest()
        self._fernet = Fernet(base64.urlsafe_b64encode(digest))
        self._root = hashlib.sha256(b"hookflow derived keys\0" + key.encode()).digest()

    def derive(self, purpose: str) -> bytes:
        """A 32-byte key for ``purpose`` (an HMAC key: signed document links),
        from the same secret key: every process that can decrypt has it, and
        nothing else to keep."""
        return hmac.new(self._root, purpose.encode(), hashlib.sha256).digest()

    def seal(self, plain: str) -> str:
        return self._fernet.encrypt(plain.encode()).decode()

    def open(self, sealed: str) -> str:
        try:
            return self._fernet.decrypt(sealed.encode()).decode()
        except InvalidToken:
            raise SecretBoxError(
                "a stored secret cannot be decrypted: HOOKFLOW_SECRET_KEY changed?"
            ) from None

    def check(self, sealed: str) -> None:
        """Refuse a key that does not open ``sealed`` (a value from the database)."""
        try:
            self._fernet.decrypt(sealed.encode())
        except InvalidToken:
            raise SecretBoxError(
                "the secret key does not decrypt the secrets in the database: "
                "wrong HOOKFLOW_SECRET_KEY or secret.key?"
            ) from None

    def seal_json(self, value: dict[str, str]) -> str:
        return self.seal(json.dumps(value, sort_keys=True))

    def open_json(self, sealed: str) -> dict[str, str]:
        value = json.loads(self.open(sealed))
        if not isinstance(value, dict):
            raise SecretBoxError("a stored secret is not a key/value map")
        return {str(k): str(v) for k, v in value.items()}


def load_key(path: Path, *, create: bool) -> str:
    """The key in ``path``; a new random one (0600) only when ``create`` and the
    file is missing. A key others can read, an empty key file, or a missing key
    that the database needs, is one clear error: never a silent new key."""
    try:
        mode = path.stat().st_mode & 0o777
    except FileNotFoundError:
        if not create:
            raise SettingsError(
                f"the secret key {path} is missing and the database holds secrets encrypted "
                "with it: restore the file (or set HOOKFLOW_SECRET_KEY)"
            ) from None
        return _create_key(path)
    if mode & 0o077:
        raise SettingsError(
            f"the secret key {path} can be read by others (mode {mode:o}): chmod 600 {path}"
        )
    key = path.read_text().strip()
    if not key:
        raise SettingsError(
            f"the secret key file {path} is empty: restore it, or delete it if nothing "
            "was ever encrypted with it"
        )
    return key


def _create_key(path: Path) -> str:
    private_dir(path.parent)
    key = secrets.token_urlsafe(32)
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, FILE_MODE)
    with os.fdopen(fd, "w") as handle:
        handle.write(key + "\n")
    return key


def sealed_sample(engine: Engine) -> str | None:
    """One value the database holds encrypted, if any: the key must open it."""
    from activities.store.tables import SealedText, Secret, Webhook

    columns = (
        Webhook.basic_password_enc,
        Webhook.custom_auth_enc,
        Webhook.signing_secret_enc,
        Secret.credentials_enc,
        SealedText.text_enc,
    )
    with Session(engine) as session:
        for column in columns:
            found = session.exec(select(column).where(col(column).is_not(None)).limit(1)).first()
            if found:
                return str(found)
    return None
