"""The GUI's side of loading a key: the services ask, and the hub asks the person."""

from __future__ import annotations

import logging
from dataclasses import dataclass, field
from typing import Any

from app.core.profile import Profile
from app.errors import TunnelkeeperError
from app.services.api import Services
from app.services.keys import LoadedKey, PassphraseRequest

log = logging.getLogger(__name__)


class PassphraseWanted(TunnelkeeperError):
    """The key is encrypted and no (right) passphrase is at hand: the user must type it."""

    def __init__(self, key_path: str, wrong: bool) -> None:
        why = "is not the right passphrase" if wrong else "needs its passphrase"
        super().__init__(f"the key {key_path} {why}.")
        self.key_path = key_path
        self.wrong = wrong


def ask_later(request: PassphraseRequest) -> str | None:
    """The ``ask`` a worker thread hands the key service: it cannot show a dialog, so it
    stops the load with :class:`PassphraseWanted`; the hub then asks on the GUI thread."""
    raise PassphraseWanted(request.key_path, wrong=request.stored_was_wrong)


@dataclass(frozen=True)
class Ready:
    """A loaded key and the proxy user's password (None: no user, or none stored)."""

    key: Any
    proxy_password: str | None = field(default=None, repr=False)


def unlock(services: Services, profile: Profile, passphrase: str, remember: bool) -> LoadedKey:
    """On a worker thread: the key opened with the typed passphrase, maybe kept."""
    loaded = services.keys.unlock(profile, passphrase, remember=remember)
    if loaded.remembered is not None and not loaded.remembered.stored:
        log.info("passphrase kept in memory only: %s", loaded.remembered.reason)
    return loaded


def prepared(services: Services, profile: Profile, key: LoadedKey | Any) -> Ready:
    """On a worker thread: the key, and the proxy password (the keychain may block)."""
    loaded = key.key if isinstance(key, LoadedKey) else key
    return Ready(loaded, services.proxies.password(profile))
