"""Tunnel profiles: list, show, add, edit and remove (a removed key's passphrase, and proxy
password, is forgotten)."""

from __future__ import annotations

import contextlib
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from app.core.profile import Profile, profile_from_dict, validate_name
from app.errors import InvalidField, KeyPassphraseNeeded, TunnelkeeperError, UnknownProfile
from app.services.keys import KeyService
from app.services.proxies import ProxyService
from app.ssh import keys
from app.storage.paths import AppPaths
from app.storage.store import ProfileStore

REQUIRED = (
    "jumphost",
    "ssh_port",
    "user",
    "remote_port",
    "target_host",
    "target_port",
    "key_path",
)
"""The fields a new tunnel must have (``remote_bind`` is optional)."""


def profile_view(profile: Profile) -> dict[str, Any]:
    """A profile as plain data: its fields (name first), ``forward`` and ``target``."""
    data = profile.to_dict()
    data = {"name": profile.name, **{k: v for k, v in data.items() if k != "name"}}
    data.setdefault("remote_bind", None)
    data.setdefault("jump", None)
    data["forward"] = f"{profile.forward_bind or '*'}:{profile.remote_port}"
    data["target"] = profile.target
    return data


@dataclass(frozen=True)
class Removed:
    """What removing a tunnel did: whether its entry could be read, and the key path whose
    passphrase was forgotten because no tunnel uses it any more (None when still used)."""

    readable: bool
    unused_key: str | None = None


class ProfileService:
    """The profiles file, and the keychain entries of the keys (and proxy users) the
    profiles use."""

    def __init__(
        self, paths: AppPaths, keys: KeyService, proxies: ProxyService | None = None
    ) -> None:
        self._paths = paths
        self._keys = keys
        self._proxies = proxies
        self._store = ProfileStore(paths.profiles_file)

    def load(self) -> dict[str, Profile]:
        """Every tunnel by name, in the file's order (pure data, for the desktop app)."""
        return self._store.load()

    def names(self) -> list[str]:
        """Every tunnel's name, in the file's order."""
        return list(self._store.load())

    def all(self) -> list[dict[str, Any]]:
        """Every tunnel as :func:`profile_view` data, in the file's order."""
        return [profile_view(p) for p in self._store.load().values()]

    def show(self, name: str) -> dict[str, Any]:
        """One tunnel as :func:`profile_view` data; raises UnknownProfile."""
        return profile_view(self._store.get(name))

    def get(self, name: str) -> Profile:
        """The tunnel ``name`` (pure data, for an engine in this process); raises UnknownProfile."""
        return self._store.get(name)

    def select(self, names: list[str]) -> list[Profile]:
        """The tunnels ``names`` (each once, in order); raises UnknownProfile for the first
        unknown one before anything else is done."""
        profiles = self._store.load()
        wanted = list(dict.fromkeys(names))
        for name in wanted:
            if name not in profiles:
                raise UnknownProfile(name)
        return [profiles[name] for name in wanted]

    def add(self, name: str, fields: dict[str, Any], *, replace: bool = False) -> dict[str, Any]:
        """Save a tunnel from ``fields`` (``key_path`` may name a managed key); the key must be
        readable by us alone (a passphrase is asked for only when the tunnel runs).

        Raises InvalidField, ProfileExists (unless ``replace``) and key file errors.
        """
        profile = self.checked(name, fields)
        before = self._existing(name) if replace else None
        self._store.add(profile, replace=replace)
        if before is not None:
            self._forget_what_changed(before, profile)
        return profile_view(profile)

    def checked(self, name: str, fields: dict[str, Any]) -> Profile:
        """The profile ``fields`` describe, validated and its key checked, not saved."""
        validate_name(name)
        fields = dict(fields)
        key_path = self.resolve_key(str(fields["key_path"]))
        with contextlib.suppress(KeyPassphraseNeeded):
            keys.load_private_key(key_path)  # refuses a key others can read, as OpenSSH does
        fields["key_path"] = str(key_path)
        return profile_from_dict(name, fields)

    def edit(self, name: str, changes: dict[str, Any]) -> dict[str, Any]:
        """Change some fields of tunnel ``name`` in one locked read-and-write of the file; a
        key (or proxy user) no tunnel uses any more has its passphrase (password) forgotten.
        Raises UnknownProfile and as :meth:`add`."""

        def change(before: Profile) -> Profile:
            fields = {**before.extra, **before.to_dict(), **changes}
            fields.pop("name", None)
            return self.checked(name, fields)

        before, after = self._store.update(name, change)
        self._forget_what_changed(before, after)
        return profile_view(after)

    def save(self, profile: Profile, old_name: str | None = None) -> None:
        """Save a whole profile as it is; with ``old_name`` (editing) replace that one: a
        rename adds the new name first, so a failure leaves the old profile in place. As
        with :meth:`edit`, a passphrase or proxy password nothing uses any more is forgotten."""
        before = self._existing(old_name) if old_name is not None else None
        if old_name == profile.name:
            self._store.add(profile, replace=True)
        else:
            self._store.add(profile)
            if old_name is not None:
                self._store.remove(old_name)
        if before is not None:
            self._forget_what_changed(before, profile)

    def _existing(self, name: str) -> Profile | None:
        with contextlib.suppress(TunnelkeeperError):  # unknown or unreadable: nothing to forget
            return self._store.get(name)
        return None

    def _forget_what_changed(self, before: Profile, after: Profile) -> None:
        """A key or proxy user ``before`` had and ``after`` no longer has: its passphrase
        or password is forgotten when no other tunnel uses it."""
        if after.key_path != before.key_path:
            self._forget_if_unused(before.key_path)
        if after.proxy != before.proxy:
            self._forget_proxy_if_unused(before)

    def remove(self, name: str) -> bool:
        """Remove tunnel ``name`` (even one too broken to load); its key's passphrase is
        forgotten when no other tunnel uses the key. True when the entry could be read.
        Raises UnknownProfile."""
        return self.discard(name).readable

    def discard(self, name: str) -> Removed:
        """As :meth:`remove`, saying which key nothing uses any more."""
        removed = self._store.remove(name)
        if removed is None:
            return Removed(False)
        self._forget_proxy_if_unused(removed)
        if self._forget_if_unused(removed.key_path):
            return Removed(True, removed.key_path)
        return Removed(True)

    def resolve_key(self, value: str) -> Path:
        """A ``key_path`` as given: a file, or the NAME of a key made with keygen/import-key."""
        if "/" not in value and "\\" not in value:
            with contextlib.suppress(InvalidField):
                managed = keys.key_files(self._paths.keys_dir, value).private
                if managed.exists():
                    return managed
        return Path(value).expanduser().resolve()

    def _forget_proxy_if_unused(self, gone: Profile) -> None:
        """``gone``'s proxy password, unless another tunnel uses the same proxy user."""
        if self._proxies is not None:
            with contextlib.suppress(TunnelkeeperError):  # an unreadable file: kept
                self._proxies.forget_unless_used(gone, self._store.load().values())

    def _forget_if_unused(self, key_path: str) -> bool:
        if any(p.key_path == key_path for p in self._store.load().values()):
            return False
        self._keys.forget(key_path)
        return True
