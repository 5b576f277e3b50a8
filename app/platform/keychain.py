"""Where passphrases are kept: the system keychain, or a null one that keeps none and says why."""

from __future__ import annotations

import logging
from abc import ABC, abstractmethod
from typing import TYPE_CHECKING

from app.errors import ConfigError, KeyringUnavailable

if TYPE_CHECKING:  # keyring is imported only when a keychain is opened: it is slow to load
    from keyring.backend import KeyringBackend

    from app.platform.passphrases import PassphraseStore

log = logging.getLogger(__name__)

# What the command line has always said when there is no keychain to store in.
NOT_KEPT = "no usable system keychain"


class NoKeychain(KeyringUnavailable):
    """Raised by the null keychain's ``set``: nothing is kept; ``problem`` says why."""

    def __init__(self, problem: KeyringUnavailable) -> None:
        ConfigError.__init__(self, NOT_KEPT)
        self.detail = problem.detail
        self.problem = problem


class Keychain(ABC):
    """One passphrase per key name (a key's path); every call may block on the desktop's
    keychain service, so GUI code calls it off the GUI thread.

    ``get`` answers None when nothing is stored, ``delete`` of nothing is fine, and ``set``
    raises :class:`KeyringUnavailable` (or a subclass) when the passphrase was not kept.
    """

    problem: KeyringUnavailable | None = None
    """Why this keychain keeps nothing (the null keychain); None for one that keeps."""

    @abstractmethod
    def get(self, key_name: str) -> str | None:
        """The stored passphrase for ``key_name``, or None."""

    @abstractmethod
    def set(self, key_name: str, passphrase: str) -> None:
        """Keep ``passphrase`` for ``key_name``; raises KeyringUnavailable when not kept."""

    @abstractmethod
    def delete(self, key_name: str) -> None:
        """Forget the passphrase for ``key_name``; nothing stored is fine."""


class SystemKeychain(Keychain):
    """The OS keychain through ``keyring`` (:class:`PassphraseStore`), nothing anywhere else."""

    def __init__(self, store: PassphraseStore) -> None:
        self.store = store

    def get(self, key_name: str) -> str | None:
        return self.store.get(key_name)

    def set(self, key_name: str, passphrase: str) -> None:
        self.store.set(key_name, passphrase)

    def delete(self, key_name: str) -> None:
        self.store.delete(key_name)


class NullKeychain(Keychain):
    """No keychain here: nothing is stored, nothing is found, and ``set`` says so."""

    def __init__(self, problem: KeyringUnavailable) -> None:
        self.problem = self._problem = problem

    def get(self, key_name: str) -> str | None:
        return None

    def set(self, key_name: str, passphrase: str) -> None:
        raise NoKeychain(self._problem)

    def delete(self, key_name: str) -> None:
        return None


def open_keychain(backend: KeyringBackend | None = None, *, allow_prompt: bool = False) -> Keychain:
    """The system keychain when it answers now (asked without prompting), else the null one
    that knows why; ``backend`` and ``allow_prompt`` are as for :class:`PassphraseStore`.

    Blocks on the keychain's service (D-Bus) while it probes: call it off a GUI thread.
    """
    # keyring loads every backend it finds: only when a keychain is wanted, not at startup
    from app.platform.passphrases import PassphraseStore  # noqa: PLC0415

    store = PassphraseStore(backend, allow_prompt=allow_prompt)
    problem = store.problem()  # says what a backend raised; never raises it
    if problem is not None:
        log.debug("the system keychain is not usable: %s", problem.detail)
        return NullKeychain(problem)
    return SystemKeychain(store)
