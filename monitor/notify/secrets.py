"""Channel secrets at rest: encrypted with the service's key (Fernet: AES with an HMAC), or the
name of an environment variable that holds them. Never returned, never logged."""

import base64
import hashlib
import os

from cryptography.fernet import Fernet, InvalidToken


class SecretError(Exception):
    """A secret that cannot be stored or read; the message never contains it."""


class SecretBox:
    def __init__(self, key: str | None) -> None:
        # Any passphrase makes a Fernet key: its SHA-256, as the 32 bytes Fernet wants.
        digest = hashlib.sha256(key.encode()).digest() if key else None
        self._fernet = Fernet(base64.urlsafe_b64encode(digest)) if digest else None

    def encrypt(self, secret: str) -> str:
        if self._fernet is None:
            raise SecretError(
                "no BRIDGEWATCH_NOTIFY_SECRET_KEY to encrypt secrets with: set it, or give the "
                "name of an environment variable holding the secret (secret_env)"
            )
        return self._fernet.encrypt(secret.encode()).decode()

    def decrypt(self, stored: str) -> str:
        if self._fernet is None:
            raise SecretError("the channel's secret is encrypted but no key is set")
        try:
            return self._fernet.decrypt(stored.encode()).decode()
        except InvalidToken as exc:
            raise SecretError("the channel's secret was encrypted with another key") from exc


def read(box: SecretBox, encrypted: str | None, env_name: str | None) -> str | None:
    """The channel's secret in clear, for one delivery; None if it has none."""
    if env_name:
        value = os.environ.get(env_name)
        if value is None:
            raise SecretError(f"the environment variable {env_name} is not set")
        return value
    return box.decrypt(encrypted) if encrypted else None
