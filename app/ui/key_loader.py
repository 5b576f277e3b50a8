"""The GUI's side of loading a key: the services ask, and the hub asks the person."""

from __future__ import annotations

from app.errors import TunnelkeeperError
from app.services.keys import PassphraseRequest


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
