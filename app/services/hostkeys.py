"""Jumphost host keys: fetch and compare with the pinned ones, import from known_hosts, pin."""

from __future__ import annotations

import base64
import os
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from app import ssh
from app.core import knownhosts
from app.core.profile import Profile
from app.core.proxy import choose_route, parse_proxy
from app.errors import HostKeyNotPinned, TunnelkeeperError, UnknownProfile
from app.services.errors import HostKeyUnavailable, KnownHostsMissing, NoKeyForHost
from app.storage import hostkeys as pins
from app.storage.paths import AppPaths
from app.storage.store import ProfileStore

TRUSTED = "trusted"
UNKNOWN = "unknown"
CHANGED = "changed"
REVOKED = "revoked"


@dataclass(frozen=True)
class HostKey:
    """A jumphost's host key as plain data, and how it compares with what is pinned."""

    pattern: str  # the known_hosts host pattern: ``host`` or ``[host]:port``
    key_type: str
    key_base64: str
    fingerprint: str  # SHA256:...
    description: str  # type, fingerprint and host, for a person to compare
    verdict: str = ""  # TRUSTED, UNKNOWN, CHANGED or REVOKED; "" when not compared
    pinned_before: tuple[str, ...] = ()  # fingerprints pinned for the host until now
    label: str = ""  # the endpoint as people write it: ``host:port``, ``[v6 address]:port``
    kind: str = ""  # key type and size for people: "ED25519, 256 bits"


class HostKeyService:
    """The app's known_hosts file, against what jumphosts present."""

    def __init__(self, paths: AppPaths) -> None:
        self._paths = paths

    @property
    def known_hosts_file(self) -> str:
        return str(self._paths.known_hosts_file)

    def fetch(self, name: str, proxy_password: str | None = None) -> HostKey:
        """Connect to tunnel ``name``'s jumphost (through its proxy, if any) just long enough
        to learn its host key, and compare it with the pinned ones. Raises UnknownProfile,
        CorruptConfigFile (our known_hosts) and HostKeyUnavailable (the jumphost did not
        show one)."""
        profile = ProfileStore(self._paths.profiles_file).get(name)
        proxy = getattr(profile, "proxy", "system")
        return self.fetch_endpoint(profile.jumphost, profile.ssh_port, proxy, proxy_password)

    def fetch_endpoint(
        self,
        host: str,
        port: int,
        proxy: str = "system",
        proxy_password: str | None = None,
        env: Mapping[str, str] | None = None,
    ) -> HostKey:
        """As :meth:`fetch`, for a jumphost no tunnel names yet (the setup wizard's): connect
        to ``host`` port ``port`` (through ``proxy``, a profile's proxy setting, with the
        environment ``env``, by default this process's) just long enough to learn its host
        key. Raises CorruptConfigFile (our known_hosts) and HostKeyUnavailable."""
        endpoint = ssh.Endpoint(host, port)
        parsed = pins.read(self._paths.known_hosts_file)
        pinned = knownhosts.pinned_for(parsed, endpoint.pattern)
        try:
            route = choose_route(parse_proxy(proxy), os.environ if env is None else env, host, port)
            key = ssh.fetch_host_key(
                endpoint,
                ssh.algorithms_for(pinned),
                route=route,
                proxy_password=proxy_password,
            )
        except TunnelkeeperError as exc:
            raise HostKeyUnavailable(exc) from None
        verdict, _ = knownhosts.check(parsed, endpoint.pattern, key.asbytes())
        return HostKey(
            endpoint.pattern,
            key.get_name(),
            base64.b64encode(key.asbytes()).decode("ascii"),
            ssh.fingerprint(key),
            ssh.describe_key(key, endpoint.pattern),
            verdict.value,
            tuple(ssh.fingerprint_of_blob(e.key_blob) for e in pinned),
            endpoint.label,
            _kind(key),
        )

    def from_known_hosts(self, name: str, source: str) -> list[HostKey]:
        """The keys an OpenSSH known_hosts file (hashed or not) pins for tunnel ``name``'s
        jumphost, @revoked ones left out. Raises UnknownProfile, CorruptConfigFile (the
        file), KnownHostsMissing and NoKeyForHost."""
        profile = ProfileStore(self._paths.profiles_file).get(name)
        endpoint = ssh.Endpoint(profile.jumphost, profile.ssh_port)
        pattern = endpoint.pattern
        path = Path(source).expanduser()
        theirs = pins.read(path, pins.FOREIGN_REMEDY)  # not ours: `repair` can't help
        if not path.exists():
            raise KnownHostsMissing(str(path))
        entries = knownhosts.pinned_for(theirs, pattern)
        revoked = {e.key_blob for e in theirs.entries if e.marker is knownhosts.Marker.REVOKED}
        usable = [e for e in entries if e.key_blob not in revoked]
        if not usable:
            raise NoKeyForHost(str(path), pattern)
        found = []
        for entry in usable:
            key = ssh.public_key_from_entry(entry)
            found.append(
                HostKey(
                    pattern,
                    entry.key_type,
                    base64.b64encode(entry.key_blob).decode("ascii"),
                    ssh.fingerprint(key),
                    ssh.describe_key(key, pattern),
                    label=endpoint.label,
                    kind=_kind(key),
                )
            )
        return found

    def pin(self, keys: list[HostKey]) -> str:
        """Make ``keys`` (all for one host) the trusted keys for their host, replacing what
        was pinned for it; other hosts' lines are kept. Returns the known_hosts path."""
        patterns = {key.pattern for key in keys}
        if len(patterns) != 1:
            raise ValueError("pin takes the keys of exactly one host")
        blobs = [(key.key_type, base64.b64decode(key.key_base64)) for key in keys]
        pins.pin_all(self._paths.known_hosts_file, patterns.pop(), blobs)
        return self.known_hosts_file

    def require_pinned(self, names: list[str]) -> None:
        """Raise HostKeyNotPinned for the first of tunnels ``names`` with no pinned key."""
        profiles = ProfileStore(self._paths.profiles_file).load()
        parsed = pins.read(self._paths.known_hosts_file)
        for name in names:
            if name not in profiles:
                raise UnknownProfile(name)
            _require(parsed, profiles[name])

    def pinned(self, profile: Profile) -> list[str]:
        """The keys pinned for ``profile``'s jumphost, each as "ssh-ed25519 SHA256:…"
        (empty when none is). Raises CorruptConfigFile for a broken known_hosts."""
        parsed = pins.read(self._paths.known_hosts_file)
        pattern = knownhosts.host_pattern(profile.jumphost, profile.ssh_port)
        return [
            f"{entry.key_type} {knownhosts.blob_fingerprint(entry.key_blob)}"
            for entry in knownhosts.pinned_for(parsed, pattern)
        ]

    def check_pinned(self, profile: Profile) -> None:
        """Raise HostKeyNotPinned when ``profile``'s jumphost has no pinned key (and
        CorruptConfigFile for a broken known_hosts)."""
        _require(pins.read(self._paths.known_hosts_file), profile)


def _kind(key: Any) -> str:
    """A public key's type and size for people: "ED25519, 256 bits"."""
    return f"{ssh.display_type(key.get_name())}, {ssh.key_bits(key)} bits"


def _require(parsed: knownhosts.ParsedFile, profile: Profile) -> None:
    pattern = knownhosts.host_pattern(profile.jumphost, profile.ssh_port)
    if not knownhosts.pinned_for(parsed, pattern):
        raise HostKeyNotPinned(profile.name, pattern)
