"""Services over a throwaway app home, with a keychain that lives in memory."""

from __future__ import annotations

import pytest

from app.errors import KeyringUnavailable
from app.platform.keychain import Keychain, NullKeychain
from app.services.api import Services
from app.storage.paths import AppPaths


class MemoryKeychain(Keychain):
    """The keychain interface over a dict: for unit tests only, never for the app."""

    def __init__(self) -> None:
        self.entries: dict[str, str] = {}

    def get(self, key_name: str) -> str | None:
        return self.entries.get(key_name)

    def set(self, key_name: str, passphrase: str) -> None:
        self.entries[key_name] = passphrase

    def delete(self, key_name: str) -> None:
        self.entries.pop(key_name, None)


@pytest.fixture
def keychain() -> MemoryKeychain:
    return MemoryKeychain()


@pytest.fixture
def services(tk_home: AppPaths, keychain: MemoryKeychain) -> Services:
    return Services(tk_home, lambda: keychain)


@pytest.fixture
def keyless(tk_home: AppPaths) -> Services:
    """Services on a machine without a keychain."""
    return Services(tk_home, lambda: NullKeychain(KeyringUnavailable("no backend here")))
