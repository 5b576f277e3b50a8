"""Jumphost and jump host keys: fetch, compare with the pinned ones, import, pin."""

from __future__ import annotations

import base64
import os
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from app import ssh
from app.core import knownhosts
from app.core.jump import parse_jump
from app.core.profile import Profile
from app.core.proxy import choose_route, parse_proxy
from app.engine.route import hops_of, route_for
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


# Says yes (go on through this jump host, and pin its key later) or no to a hop's key.
Decide = Callable[[HostKey], bool]


class HostKeyService:
    """The app's known_hosts file, against what jumphosts present."""

    def __init__(self, paths: AppPaths) -> None:
        self._paths = paths

    @property
    def known_hosts_file(self) -> str:
        return str(self._paths.known_hosts_file)

    def fetch(self, name: str, proxy_password: str | None = None, key: Any = None) -> HostKey:
        """Connect to tunnel ``name``'s jumphost (through its proxy and jump hosts, if any)
        just long enough to learn its host key, and compare it with the pinned ones.
        Through jump hosts their keys must be pinned already and ``key`` (by default the
        tunnel's key file, if it needs no passphrase) logs in to them. Raises
        UnknownProfile, CorruptConfigFile (our known_hosts) and HostKeyUnavailable (the
        jumphost did not show one, or a jump host is not trusted)."""
        profile = ProfileStore(self._paths.profiles_file).get(name)
        proxy = getattr(profile, "proxy", "system")
        jump = getattr(profile, "jump", None)
        if jump and key is None:
            key = _plain_key(profile)
        return self.fetch_endpoint(
            profile.jumphost,
            profile.ssh_port,
            proxy,
            proxy_password,
            jump=jump,
            user=profile.user,
            key=key,
            name=profile.name,
        )

    def fetch_chain(
        self,
        name: str,
        key: Any,
        decide: Decide | None = None,
        proxy_password: str | None = None,
        env: Mapping[str, str] | None = None,
    ) -> list[HostKey]:
        """Every host key on tunnel ``name``'s way, jump hosts first, the jumphost last,
        each compared with the pinned ones. ``decide`` is asked about each jump host's key
        as it comes (not the jumphost's: that is the caller's, after), and we log in to it
        with ``key`` and go on only if it says yes; never through a revoked key, nor without
        ``decide`` through one that CHANGED. A walk that stops ends the list with the key
        it stopped at. Raises UnknownProfile, CorruptConfigFile and HostKeyUnavailable."""
        profile = ProfileStore(self._paths.profiles_file).get(name)
        return self.fetch_chain_of(profile, key, decide, proxy_password, env)

    def fetch_chain_of(
        self,
        profile: Profile,
        key: Any,
        decide: Decide | None = None,
        proxy_password: str | None = None,
        env: Mapping[str, str] | None = None,
    ) -> list[HostKey]:
        """As :meth:`fetch_chain`, for a profile not saved yet (the setup wizard's).
        Raises CorruptConfigFile and HostKeyUnavailable."""
        hops = hops_of(profile)
        endpoint = ssh.Endpoint(profile.jumphost, profile.ssh_port)
        parsed = pins.read(self._paths.known_hosts_file)
        found: list[HostKey] = []

        def check(hop: ssh.Endpoint, presented: Any) -> None:
            described = _described(parsed, hop, presented)
            found.append(described)
            if decide is None:
                if described.verdict in (CHANGED, REVOKED):
                    raise _Stopped
            elif not decide(described) or described.verdict == REVOKED:
                raise _Stopped

        jumps = ssh.JumpPlan(hops, profile.user, key, parsed, profile.name, check) if hops else None
        try:
            route = route_for(profile, env)
            presented = ssh.fetch_host_key(
                endpoint,
                ssh.algorithms_for(knownhosts.pinned_for(parsed, endpoint.pattern)),
                route=route,
                proxy_password=proxy_password,
                jumps=jumps,
            )
        except _Stopped:
            return found
        except TunnelkeeperError as exc:
            raise HostKeyUnavailable(exc) from None
        found.append(_described(parsed, endpoint, presented))
        return found

    def fetch_endpoint(
        self,
        host: str,
        port: int,
        proxy: str = "system",
        proxy_password: str | None = None,
        env: Mapping[str, str] | None = None,
        *,
        jump: str | None = None,
        user: str = "",
        key: Any = None,
        name: str = "",
    ) -> HostKey:
        """As :meth:`fetch`, for a jumphost no tunnel names yet (the setup wizard's): connect
        to ``host`` port ``port`` (through ``proxy``, a profile's proxy setting, with the
        environment ``env``, by default this process's; and through the jump hosts
        ``jump``, whose keys must be pinned, as ``user`` with ``key``) just long enough to
        learn its host key. Raises CorruptConfigFile (our known_hosts) and
        HostKeyUnavailable."""
        endpoint = ssh.Endpoint(host, port)
        parsed = pins.read(self._paths.known_hosts_file)
        pinned = knownhosts.pinned_for(parsed, endpoint.pattern)
        try:
            hops = parse_jump(jump) if jump else ()
            first = (hops[0].host, hops[0].port) if hops else (host, port)
            environment = os.environ if env is None else env
            route = choose_route(parse_proxy(proxy), environment, *first)
            jumps = ssh.JumpPlan(hops, user, key, parsed, name or host) if hops else None
            key = ssh.fetch_host_key(
                endpoint,
                ssh.algorithms_for(pinned),
                route=route,
                proxy_password=proxy_password,
                jumps=jumps,
            )
        except TunnelkeeperError as exc:
            raise HostKeyUnavailable(exc) from None
        return _described(parsed, endpoint, key)

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
        return self.pinned_at(profile.jumphost, profile.ssh_port)

    def pinned_at(self, host: str, port: int) -> list[str]:
        """As :meth:`pinned`, for any host on the way (a jump host too)."""
        parsed = pins.read(self._paths.known_hosts_file)
        pattern = knownhosts.host_pattern(host, port)
        return [
            f"{entry.key_type} {knownhosts.blob_fingerprint(entry.key_blob)}"
            for entry in knownhosts.pinned_for(parsed, pattern)
        ]

    def check_pinned(self, profile: Profile) -> None:
        """Raise HostKeyNotPinned when ``profile``'s jumphost has no pinned key (and
        CorruptConfigFile for a broken known_hosts)."""
        _require(pins.read(self._paths.known_hosts_file), profile)


class _Stopped(Exception):
    """The walk along the jump hosts ends at a key not to go through."""


def _described(parsed: knownhosts.ParsedFile, endpoint: ssh.Endpoint, key: Any) -> HostKey:
    """A presented host key as plain data, compared with what is pinned for ``endpoint``."""
    pinned = knownhosts.pinned_for(parsed, endpoint.pattern)
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


def _plain_key(profile: Profile) -> Any:
    """The tunnel's key file as it is (for the jump hosts); HostKeyUnavailable when it
    needs a passphrase or cannot be read."""
    try:
        return ssh.load_private_key(profile.key_path, name=profile.name)
    except TunnelkeeperError as exc:
        raise HostKeyUnavailable(exc) from None


def _kind(key: Any) -> str:
    """A public key's type and size for people: "ED25519, 256 bits"."""
    return f"{ssh.display_type(key.get_name())}, {ssh.key_bits(key)} bits"


def _require(parsed: knownhosts.ParsedFile, profile: Profile) -> None:
    pattern = knownhosts.host_pattern(profile.jumphost, profile.ssh_port)
    if not knownhosts.pinned_for(parsed, pattern):
        raise HostKeyNotPinned(profile.name, pattern)
