"""Keys and their passphrases: load (keychain, then ask, then remember), create, import, forget."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from app import ssh
from app.core.profile import Profile
from app.errors import (
    KeyPassphraseNeeded,
    KeyPassphraseWrong,
    NoKeyOrTunnel,
    StoredPassphraseWrong,
    TunnelkeeperError,
)
from app.platform.keychain import Keychain, NoKeychain
from app.ssh import keys
from app.storage.paths import AppPaths
from app.storage.store import ProfileStore


@dataclass(frozen=True)
class PassphraseRequest:
    """What a front end is asked for: the passphrase of ``key_path`` (of tunnel/key ``name``)."""

    name: str
    key_path: str
    stored_was_wrong: bool = False  # the keychain had one, and it did not open the key


Ask = Callable[[PassphraseRequest], "str | None"]
"""A front end's way to ask the person; None means they gave nothing (end of input)."""


@dataclass(frozen=True)
class Remembered:
    """Whether a passphrase went into the keychain, and if not, why (a sentence)."""

    stored: bool
    reason: str = ""


@dataclass(frozen=True)
class LoadedKey:
    """A usable private key; ``key`` is opaque: hand it to the engine, never look inside."""

    name: str
    key_path: str
    fingerprint: str
    key: Any
    remembered: Remembered | None = None  # a passphrase that was asked for, and kept or not


@dataclass(frozen=True)
class MadeKey:
    """A key created or imported into the keys folder."""

    name: str
    private_path: str
    public_line: str
    fingerprint: str
    description: str  # type, fingerprint and comment, as `ssh-keygen -l` says them
    remembered: Remembered | None = None  # its passphrase, when it has one
    source: str = ""  # the file it was imported from


@dataclass(frozen=True)
class PublicLine:
    """A key's public line, to paste at the vendor; a ``.pub`` file's text is as found."""

    line: str
    from_file: bool
    remembered: Remembered | None = None  # a passphrase asked for to make it


class KeyService:
    """Keys and passphrases; ``keychain`` is called (once, lazily) when a passphrase is needed,
    since opening the system keychain can block on its service."""

    def __init__(self, paths: AppPaths, keychain: Callable[[], Keychain]) -> None:
        self._paths = paths
        self._keychain = keychain

    # --- passphrases ------------------------------------------------------------------

    def remember(self, key_path: str, passphrase: str) -> Remembered:
        """Keep ``passphrase`` in the keychain; never anywhere else."""
        try:
            self._keychain().set(key_path, passphrase)
        except TunnelkeeperError as exc:
            return Remembered(False, str(exc))
        return Remembered(True)

    def forget(self, key_path: str) -> None:
        """Remove a key's passphrase from the keychain; a failure is not an error here."""
        try:
            self._keychain().delete(key_path)
        except TunnelkeeperError:
            return

    def keychain_problem(self) -> str:
        """Why the keychain cannot keep passphrases ("" when it can); may block on opening it."""
        try:
            problem = self._keychain().problem
        except TunnelkeeperError as exc:
            return str(exc)
        return "" if problem is None else str(problem)

    def stored(self, key_path: str) -> str | None:
        """The keychain's passphrase for ``key_path``, or None (also when it cannot answer)."""
        try:
            return self._keychain().get(key_path)
        except TunnelkeeperError:
            return None

    # --- loading ----------------------------------------------------------------------

    def load(self, name: str, ask: Ask | None) -> LoadedKey:
        """The key of tunnel ``name``; see :meth:`load_for`."""
        return self.load_for(ProfileStore(self._paths.profiles_file).get(name), ask)

    def load_for(self, profile: Profile, ask: Ask | None) -> LoadedKey:
        """The profile's key: as it is, else with the keychain's passphrase, else with one
        ``ask`` gives (then kept in the keychain). ``ask`` None means nobody can be asked.

        Raises KeyPassphraseNeeded (none given), KeyPassphraseWrong (the one asked for),
        StoredPassphraseWrong (the keychain's, with nobody to ask) and key file errors.
        """
        path = profile.key_path

        def loaded(key: Any, remembered: Remembered | None = None) -> LoadedKey:
            return LoadedKey(profile.name, path, ssh.fingerprint(key), key, remembered)

        try:
            return loaded(keys.load_private_key(path, name=profile.name))
        except KeyPassphraseNeeded as exc:
            needed = exc
        stored = self.stored(path)
        if stored is not None:
            try:
                return loaded(keys.load_private_key(path, stored, name=profile.name))
            except KeyPassphraseWrong:
                if ask is None:
                    raise StoredPassphraseWrong(profile.name, path) from None
        if ask is None:
            raise needed
        passphrase = ask(PassphraseRequest(profile.name, path, stored is not None))
        if passphrase is None:
            raise KeyPassphraseNeeded(path)
        key = keys.load_private_key(path, passphrase, name=profile.name)
        try:
            self._keychain().set(path, passphrase)
        except NoKeychain:
            return loaded(key)  # no keychain at all: nothing to say each time
        except TunnelkeeperError as failed:
            return loaded(key, Remembered(False, str(failed)))
        return loaded(key, Remembered(True))

    def load_plain(self, profile: Profile) -> LoadedKey:
        """The profile's key as it is, nobody asked and the keychain not looked at.
        Raises KeyPassphraseNeeded for an encrypted key, and key file errors."""
        path = profile.key_path
        key = keys.load_private_key(path, name=profile.name)
        return LoadedKey(profile.name, path, ssh.fingerprint(key), key)

    def open_key(self, key_path: str, name: str, passphrase: str | None = None) -> LoadedKey:
        """The key file at ``key_path`` (of tunnel/key ``name``): unencrypted, else with
        ``passphrase``, else with the keychain's; raises KeyPassphraseNeeded when neither
        has one, KeyPassphraseWrong and key file errors. Nobody is asked, nothing is kept."""
        try:
            key = keys.load_private_key(key_path, name=name)
        except KeyPassphraseNeeded:
            if passphrase is None:
                passphrase = self.stored(key_path)
                if passphrase is None:
                    raise
            key = keys.load_private_key(key_path, passphrase, name=name)
        return LoadedKey(name, key_path, ssh.fingerprint(key), key)

    def public_line_of(self, loaded: LoadedKey) -> str:
        """A loaded key's public line: its ``.pub`` twin's text, else made from the key."""
        try:
            return keys.read_public(keys.KeyFiles(Path(loaded.key_path)))
        except TunnelkeeperError:
            return keys.public_line(loaded.key, keys.key_comment(loaded.name))

    def unlock(self, profile: Profile, passphrase: str, *, remember: bool) -> LoadedKey:
        """The profile's key opened with ``passphrase`` (the keychain is not asked), which is
        kept in the keychain when ``remember``. Raises KeyPassphraseWrong and key file errors."""
        path = profile.key_path
        key = keys.load_private_key(path, passphrase, name=profile.name)
        kept = self.remember(path, passphrase) if remember else None
        return LoadedKey(profile.name, path, ssh.fingerprint(key), key, kept)

    # --- the keys folder --------------------------------------------------------------

    def create(
        self, name: str, passphrase: str | None, *, force: bool = False, remember: bool = True
    ) -> MadeKey:
        """A new ed25519 key ``name`` in the keys folder; its passphrase is remembered
        (unless not ``remember``)."""
        files = keys.key_files(self._paths.keys_dir, name)
        line = keys.generate(files, name, passphrase, force=force)
        key = ssh.load_private_key(files.private, passphrase, name=name)
        remembered = None
        if passphrase and remember:
            remembered = self.remember(str(files.private), passphrase)
        return MadeKey(
            name,
            str(files.private),
            line,
            ssh.fingerprint(key),
            ssh.describe_key(key, "ED25519"),
            remembered,
        )

    def import_key(
        self,
        name: str,
        source: str,
        ask: Ask | None,
        *,
        force: bool = False,
        remember: bool = True,
    ) -> MadeKey:
        """Copy the private key at ``source`` in as ``name``; an encrypted one needs ``ask``
        (None: KeyPassphraseNeeded is raised). Its passphrase is remembered (unless not
        ``remember``)."""
        files = keys.key_files(self._paths.keys_dir, name)
        path = Path(source).expanduser()
        passphrase: str | None = None
        try:
            key = keys.inspect(path, None, name)
        except KeyPassphraseNeeded:
            if ask is None:
                raise
            passphrase = ask(PassphraseRequest(name, str(path)))
            if passphrase is None:
                raise KeyPassphraseNeeded(str(path)) from None
            key = keys.inspect(path, passphrase, name)
        line = keys.import_key(files, path, key, name, force=force)
        remembered = None
        if passphrase and remember:
            remembered = self.remember(str(files.private), passphrase)
        fingerprint = ssh.fingerprint(key)
        description = ssh.describe_key(key, name)
        return MadeKey(
            name, str(files.private), line, fingerprint, description, remembered, str(path)
        )

    def public_line(self, name: str, ask: Ask | None) -> PublicLine:
        """The public line of key ``name``, else of tunnel ``name``'s key (from its ``.pub``
        twin, else from the private key, which may need ``ask``); raises NoKeyOrTunnel."""
        files = keys.key_files(self._paths.keys_dir, name)
        if files.public.exists():
            return PublicLine(keys.read_public(files), from_file=True)
        profiles = ProfileStore(self._paths.profiles_file).load()
        if name not in profiles:
            raise NoKeyOrTunnel(name)
        profile = profiles[name]
        twin = keys.KeyFiles(Path(profile.key_path))
        if twin.public.exists():
            return PublicLine(keys.read_public(twin), from_file=True)
        loaded = self.load_for(profile, ask)
        line = keys.public_line(loaded.key, keys.key_comment(profile.name))
        return PublicLine(line, from_file=False, remembered=loaded.remembered)
