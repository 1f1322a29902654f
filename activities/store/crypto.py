"""Encryption at rest for passwords, auth values, token credentials and signing keys."""

from __future__ import annotations

import base64
import hashlib
import json
import os
import secrets
from pathlib import Path

from cryptography.fernet import Fernet, InvalidToken

from activities.errors import SecretBoxError

REDACTED = "********"


class SecretBox:
    """Encrypts and decrypts small secrets with a key derived from one string."""

    def __init__(self, key: str) -> None:
        if not key:
            raise ValueError("the secret key is empty")
        digest = hashlib.sha256(key.encode()).digest()
        self._fernet = Fernet(base64.urlsafe_b64encode(digest))

    def seal(self, plain: str) -> str:
        return self._fernet.encrypt(plain.encode()).decode()

    def open(self, sealed: str) -> str:
        try:
            return self._fernet.decrypt(sealed.encode()).decode()
        except InvalidToken:
            raise SecretBoxError(
                "a stored secret cannot be decrypted: HOOKFLOW_SECRET_KEY changed?"
            ) from None

    def seal_json(self, value: dict[str, str]) -> str:
        return self.seal(json.dumps(value, sort_keys=True))

    def open_json(self, sealed: str) -> dict[str, str]:
        value = json.loads(self.open(sealed))
        if not isinstance(value, dict):
            raise SecretBoxError("a stored secret is not a key/value map")
        return {str(k): str(v) for k, v in value.items()}


def load_or_create_key(path: Path) -> str:
    """Read the key file, creating it (mode 0600) with a random key when absent."""
    if path.exists():
        return path.read_text().strip()
    path.parent.mkdir(parents=True, exist_ok=True)
    key = secrets.token_urlsafe(32)
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    with os.fdopen(fd, "w") as handle:
        handle.write(key + "\n")
    return key
