"""A service's passphrases: systemd credentials (LoadCredentialEncrypted=), read-only."""

from __future__ import annotations

import hashlib
import os
from pathlib import Path

from app.errors import KeyringUnavailable
from app.platform.keychain import Keychain

CREDENTIALS_ENV = "CREDENTIALS_DIRECTORY"  # set by systemd for a unit with credentials
MAX_PASSPHRASE = 4096


def credential_name(key_path: str) -> str:
    """The credential that holds the passphrase of the key at ``key_path``."""
    return "passphrase-" + hashlib.sha256(os.fsencode(key_path)).hexdigest()[:16]


class CredentialsKeychain(Keychain):
    """Passphrases systemd decrypted for this service (into a private in-memory folder only
    the service can read); none is ever written here: `service install` sets them."""

    def __init__(self, folder: Path) -> None:
        self._folder = folder
        self.problem = None

    def get(self, key_name: str) -> str | None:
        path = self._folder / credential_name(key_name)
        try:
            with open(path, "rb") as handle:
                data = handle.read(MAX_PASSPHRASE + 1)
        except FileNotFoundError:
            return None
        if len(data) > MAX_PASSPHRASE:
            return None
        return data.decode("utf-8", "replace").rstrip("\n")

    def set(self, key_name: str, passphrase: str) -> None:
        raise KeyringUnavailable(
            "a service's passphrases are systemd credentials, set by `tunnelkeeper service install`"
        )

    def delete(self, key_name: str) -> None:
        return None


def service_keychain() -> Keychain | None:
    """The credentials keychain when systemd gave this process credentials, else None."""
    folder = os.environ.get(CREDENTIALS_ENV, "")
    return CredentialsKeychain(Path(folder)) if folder else None
