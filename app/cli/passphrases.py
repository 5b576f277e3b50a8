"""Loading a tunnel's key: the system keychain first, then a terminal prompt."""

from __future__ import annotations

import contextlib
import getpass
import sys
from typing import Any, TextIO

from app.cli.output import EXIT_CONFIG, UserFacingError
from app.core.profile import Profile
from app.errors import ConfigError, KeyPassphraseNeeded, KeyPassphraseWrong, TunnelkeeperError


def _passphrase_store() -> Any:
    from app.platform.passphrases import PassphraseStore

    return PassphraseStore()


def remember_passphrase(key_path: str, passphrase: str, out: TextIO) -> None:
    """Keep it in the OS keyring so the tunnel starts unattended; never anywhere else."""
    store = _passphrase_store()
    try:
        if not store.usable():
            raise ConfigError("no usable system keychain")
        store.set(key_path, passphrase)
    except TunnelkeeperError as exc:
        print(
            f"Note: the passphrase was not stored ({exc}); it will be asked for each time "
            "the tunnel starts.",
            file=out,
        )
        return
    print("The passphrase is stored in the system keychain.", file=out)


def forget_passphrase(key_path: str) -> None:
    with contextlib.suppress(TunnelkeeperError):
        store = _passphrase_store()
        if store.usable():
            store.delete(key_path)


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


def load_key_for(profile: Profile) -> Any:
    from app.ssh.keys import load_private_key  # refuses a key others can read, as OpenSSH does

    try:
        return load_private_key(profile.key_path, name=profile.name)
    except KeyPassphraseNeeded:
        stored = _stored_passphrase(profile.key_path)
        if stored is not None:
            try:
                return load_private_key(profile.key_path, stored, name=profile.name)
            except KeyPassphraseWrong:
                if not sys.stdin.isatty():
                    raise UserFacingError(
                        f"the passphrase for key {profile.name} stored in the system keychain "
                        "is wrong; run the tunnel once on a terminal to enter it again.",
                        EXIT_CONFIG,
                    ) from None
        if not sys.stdin.isatty():
            raise
        try:
            passphrase = getpass.getpass(f"Passphrase for the key of tunnel {profile.name}: ")
        except EOFError:
            raise KeyPassphraseNeeded(profile.key_path) from None
        key = load_private_key(profile.key_path, passphrase, name=profile.name)
        if stored is not None or _keyring_usable():
            remember_passphrase(profile.key_path, passphrase, sys.stderr)
        return key


def _stored_passphrase(key_path: str) -> str | None:
    try:
        store = _passphrase_store()
        return store.get(key_path) if store.usable() else None
    except TunnelkeeperError:
        return None


def _keyring_usable() -> bool:
    try:
        return bool(_passphrase_store().usable())
    except TunnelkeeperError:
        return False
