"""The jumphost's host key: fetched to be trusted, checked against the pinned one."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from paramiko.ssh_exception import SSHException

from app.core import knownhosts
from app.core.proxy import Route
from app.errors import ConnectionLost, HostKeyChanged, HostKeyRevoked, HostKeyUnknown
from app.ssh.dialing import CONNECT_TIMEOUT, Endpoint, dial
from app.ssh.handshake import start_transport
from app.ssh.keyload import fingerprint, fingerprint_of_blob

if TYPE_CHECKING:
    from app.ssh.jumping import JumpPlan

# The signature algorithms each stored key type can be verified with, best first.
_ALGORITHMS_FOR_TYPE = {
    "ssh-ed25519": ["ssh-ed25519"],
    "ecdsa-sha2-nistp256": ["ecdsa-sha2-nistp256"],
    "ecdsa-sha2-nistp384": ["ecdsa-sha2-nistp384"],
    "ecdsa-sha2-nistp521": ["ecdsa-sha2-nistp521"],
    "ssh-rsa": ["rsa-sha2-512", "rsa-sha2-256"],
}


def fetch_host_key(
    endpoint: Endpoint,
    preferred_key_types: list[str],
    timeout: float = CONNECT_TIMEOUT,
    route: Route | None = None,
    proxy_password: str | None = None,
    jumps: JumpPlan | None = None,
) -> Any:
    """Connect (through the route's proxy and the jump hosts, if any) just long enough to
    learn the jumphost's host key (of a pinned type first). Through jump hosts each hop's
    key is checked first (``jumps.check``, else against known_hosts), jump hosts first."""
    if jumps is not None and jumps.hops:
        from app.ssh.jumping import Chain  # noqa: PLC0415 (jumping builds on this module)

        chain = Chain(jumps, endpoint, timeout, route=route, proxy_password=proxy_password)
        try:
            return _key_of(chain.open(), endpoint, preferred_key_types, timeout)
        finally:
            chain.close()
    return _key_of(
        dial(endpoint, timeout, route=route, proxy_password=proxy_password),
        endpoint,
        preferred_key_types,
        timeout,
    )


def _key_of(sock: Any, endpoint: Endpoint, preferred_key_types: list[str], timeout: float) -> Any:
    """The host key the server on ``sock`` presents (the socket is closed after)."""
    try:
        transport = start_transport(sock, endpoint, preferred_key_types, timeout)
        try:
            return transport.get_remote_server_key()
        except SSHException as exc:
            raise ConnectionLost(endpoint.label, str(exc)) from None
        finally:
            transport.close()
    finally:
        sock.close()


def algorithms_for(entries: list[knownhosts.Entry]) -> list[str]:
    out: list[str] = []
    for entry in entries:
        for algorithm in _ALGORITHMS_FOR_TYPE.get(entry.key_type, [entry.key_type]):
            if algorithm not in out:
                out.append(algorithm)
    return out


def verify_host_key(
    transport: Any,
    parsed: knownhosts.ParsedFile,
    endpoint: Endpoint,
    profile_name: str,
    role: str = "jumphost",
) -> None:
    """Raise HostKeyRevoked / HostKeyChanged / HostKeyUnknown (naming the ``role`` and the
    endpoint) unless the server's key is pinned for ``endpoint``."""
    try:
        key = transport.get_remote_server_key()
    except SSHException as exc:
        raise ConnectionLost(endpoint.label, str(exc)) from None
    verdict, entries = knownhosts.check(parsed, endpoint.pattern, key.asbytes())
    presented = fingerprint(key)
    if verdict is knownhosts.Verdict.TRUSTED:
        return
    if verdict is knownhosts.Verdict.REVOKED:
        raise HostKeyRevoked(profile_name, endpoint.label, presented, role)
    if verdict is knownhosts.Verdict.CHANGED:
        pinned = ", ".join(fingerprint_of_blob(e.key_blob) for e in entries)
        raise HostKeyChanged(profile_name, endpoint.label, pinned, presented, role)
    raise HostKeyUnknown(profile_name, endpoint.label, presented, role)
