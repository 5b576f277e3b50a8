"""A tunnel's key on a worker thread: unencrypted, with the keychain's passphrase, or asked for."""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable
from typing import Any

from app.core.profile import Profile
from app.errors import KeyPassphraseNeeded, KeyPassphraseWrong, TunnelkeeperError
from app.platform.passphrases import PassphraseStore
from app.ssh import keys

log = logging.getLogger(__name__)


class PassphraseWanted(TunnelkeeperError):
    """The key is encrypted and no (right) passphrase is at hand: the user must type it."""

    def __init__(self, key_path: str, wrong: bool) -> None:
        why = "is not the right passphrase" if wrong else "needs its passphrase"
        super().__init__(f"the key {key_path} {why}.")
        self.key_path = key_path
        self.wrong = wrong


class KeyLoader:
    """Loads keys and keeps their passphrases in the keychain; every method runs off the GUI."""

    def __init__(self, passphrases: Callable[[], PassphraseStore]) -> None:
        self._passphrases = passphrases
        self._store_lock = threading.Lock()
        self._passphrase_store: PassphraseStore | None = None

    def _store(self) -> PassphraseStore:
        with self._store_lock:  # made lazily, on a worker thread: the backend probe can block
            if self._passphrase_store is None:
                self._passphrase_store = self._passphrases()
            return self._passphrase_store

    def load(self, profile: Profile, passphrase: str | None, remember: bool = False) -> Any:
        """On a worker thread: the key, using the keychain when no passphrase is given."""
        if passphrase is not None:
            key = keys.load_private_key(profile.key_path, passphrase, name=profile.name)
            if remember:
                self.remember(profile.key_path, passphrase)
            return key
        try:
            return keys.load_private_key(profile.key_path, name=profile.name)
        except KeyPassphraseNeeded:
            pass
        stored = self.stored(profile.key_path)
        if stored is None:
            raise PassphraseWanted(profile.key_path, wrong=False)
        try:
            return keys.load_private_key(profile.key_path, stored, name=profile.name)
        except KeyPassphraseWrong:
            raise PassphraseWanted(profile.key_path, wrong=True) from None

    def stored(self, key_path: str) -> str | None:
        try:
            store = self._store()
            return store.get(key_path) if store.usable() else None
        except TunnelkeeperError as exc:
            log.info("keychain not used: %s", exc)
            return None

    def remember(self, key_path: str, passphrase: str) -> None:
        try:
            store = self._store()
            if store.usable():
                store.set(key_path, passphrase)
                return
            problem = store.problem()
            log.info("passphrase kept in memory only: %s", problem)
        except TunnelkeeperError as exc:
            log.info("passphrase kept in memory only: %s", exc)

    def forget(self, key_path: str) -> None:
        try:
            store = self._store()
            if store.usable():
                store.delete(key_path)
        except TunnelkeeperError as exc:
            log.info("could not remove the stored passphrase: %s", exc)
