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
    KeyUnsuitable,
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

PUBLIC_SUFFIX = ".pub"
# How public key files begin: OpenSSH's one line (plain, ECDSA, security key) and RFC 4716.
_PUBLIC_STARTS = (b"ssh-", b"ecdsa-sha2-", b"sk-ssh-", b"sk-ecdsa-", b"---- BEGIN SSH2 PUBLIC")


def private_twin(path: Path) -> Path | None:
    """For a ``.pub`` file, the private key file's path next to it (which may not exist);
    None for any other name."""
    name = path.name
    if name.lower().endswith(PUBLIC_SUFFIX) and len(name) > len(PUBLIC_SUFFIX):
        return path.with_name(name[: -len(PUBLIC_SUFFIX)])
    return None


def public_half(path: Path) -> str:
    """Why ``path`` cannot be imported when it is the public half of a key pair (named
    ``*.pub`` or holding a public key line), as a sentence; "" when it is not (or cannot be
    read: importing it says why)."""
    try:
        with path.open("rb") as file:
            start = file.read(64).lstrip()
    except OSError:
        start = b""
    if start.startswith(b"-----BEGIN"):
        return ""  # a private key (PEM or OpenSSH), whatever its name
    twin = private_twin(path)
    if twin is not None:
        return (
            f"that is the public half ({path.name}); choose the private key file next to it "
            f"({twin.name})"
        )
    if start.startswith(_PUBLIC_STARTS):
        return f"{path.name} holds a public key; choose the private key file of that pair"
    return ""


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
        ``remember``). A public key file raises KeyUnsuitable saying which file to choose."""
        files = keys.key_files(self._paths.keys_dir, name)
        path = Path(source).expanduser()
        half = public_half(path)
        if half:
            raise KeyUnsuitable(str(path), half + ".")
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

    def public_line_without_asking(self, profile: Profile) -> str | None:
        """``profile``'s public key line, from the key's ``.pub`` twin or a key without a
        passphrase; None when only the passphrase could tell (nobody is asked, and the
        keychain is not read)."""
        twin = keys.KeyFiles(Path(profile.key_path))
        try:
            if twin.public.exists():
                return keys.read_public(twin)
            loaded = self.load_plain(profile)
        except TunnelkeeperError:
            return None
        return keys.public_line(loaded.key, keys.key_comment(profile.name))

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
