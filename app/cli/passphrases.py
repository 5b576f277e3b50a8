"""Passphrases on a terminal: asked with getpass, read from stdin, and what the keychain did."""

from __future__ import annotations

import getpass
import sys
from typing import TYPE_CHECKING, TextIO

from app.cli.output import EXIT_CONFIG, UserFacingError

if TYPE_CHECKING:
    from app.services.errors import StoredPassphraseWrong
    from app.services.keys import Ask, PassphraseRequest, Remembered


def terminal_ask() -> Ask | None:
    """Asking on this terminal, or None when standard input is not one (nobody to ask)."""
    return _ask_on_terminal if sys.stdin.isatty() else None


def _ask_on_terminal(request: PassphraseRequest) -> str | None:
    try:
        return getpass.getpass(f"Passphrase for the key of tunnel {request.name}: ")
    except EOFError:
        return None


def tell_remembered(remembered: Remembered | None, out: TextIO) -> None:
    """Say whether a passphrase went into the keychain (nothing when none was offered)."""
    if remembered is None:
        return
    if remembered.stored:
        print("The passphrase is stored in the system keychain.", file=out)
        return
    print(
        f"Note: the passphrase was not stored ({remembered.reason}); it will be asked for each "
        "time the tunnel starts.",
        file=out,
    )


def stored_passphrase_wrong(exc: StoredPassphraseWrong) -> UserFacingError:
    """The command line's sentence: the remedy is a terminal."""
    return UserFacingError(
        f"the passphrase for key {exc.name} stored in the system keychain "
        "is wrong; run the tunnel once on a terminal to enter it again.",
        EXIT_CONFIG,
    )


def read_stdin_secret() -> str:
    line = sys.stdin.readline()
    return line[:-1] if line.endswith("\n") else line


def ask_new_passphrase() -> str | None:
    try:
        first = getpass.getpass("Passphrase for the new key (empty for none): ")
        if not first:
            return None
        second = getpass.getpass("The same passphrase again: ")
    except EOFError:
        raise UserFacingError("no passphrase was entered.", EXIT_CONFIG) from None
    if first != second:
        raise UserFacingError("the two passphrases differ; nothing was created.", EXIT_CONFIG)
    return first
