"""Two tunnels asking one jumphost for the same port: only one can have it (pure logic)."""

from __future__ import annotations

import ipaddress
from collections.abc import Iterable

from app.core.profile import Profile, format_hostport, forward_bind_address

# Bind addresses as ssh -R sends them: "" and these mean every address of the jumphost.
_EVERY_ADDRESS = frozenset({"", "*", "0.0.0.0", "::"})  # noqa: S104 - compared, never bound
_LOOPBACK = "loopback"


def _host_key(host: str) -> str:
    """One spelling per host: IP addresses compressed, names in lower case without a final dot."""
    bare = host.strip().strip("[]")
    try:
        return ipaddress.ip_address(bare).compressed
    except ValueError:
        return bare.lower().rstrip(".")


def _bind_key(remote_bind: str | None) -> str:
    wire = forward_bind_address(remote_bind)
    if wire in _EVERY_ADDRESS:
        return ""
    key = _host_key(wire)
    if key == "localhost":
        return _LOOPBACK
    try:
        return _LOOPBACK if ipaddress.ip_address(key).is_loopback else key
    except ValueError:
        return key


def binds_overlap(first: str | None, second: str | None) -> bool:
    """Whether two bind settings (a profile's ``remote_bind``) can collide on one port: the
    same address, both loopback, or either one every address (which takes them all)."""
    keys = {_bind_key(first), _bind_key(second)}
    return "" in keys or len(keys) == 1


def same_port(
    jumphost: str,
    ssh_port: int,
    remote_port: int,
    remote_bind: str | None,
    others: Iterable[Profile],
) -> list[Profile]:
    """The profiles among ``others`` that ask the same jumphost (name and SSH port) for
    ``remote_port`` on an overlapping bind address, in the order given."""
    host = _host_key(jumphost)
    return [
        other
        for other in others
        if other.remote_port == remote_port
        and other.ssh_port == ssh_port
        and _host_key(other.jumphost) == host
        and binds_overlap(other.remote_bind, remote_bind)
    ]


def listen_label(profile: Profile) -> str:
    """Where a profile asks the jumphost to listen: ``localhost:58115``, ``*:58115``."""
    return format_hostport(profile.forward_bind or "*", profile.remote_port)


def clash_sentence(other: Profile) -> str:
    """What the wizard says when ``other`` already has the port being set up."""
    return (
        f"tunnel {other.name!r} already uses {listen_label(other)} on this jumphost; the "
        "vendor allocates one port per tunnel, so only one of them can connect at a time."
    )
