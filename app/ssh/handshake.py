"""The SSH handshake and public-key authentication on a dialled socket."""

from __future__ import annotations

import time
from collections.abc import Sequence
from typing import Any

from paramiko.ssh_exception import AuthenticationException, SSHException

from app.core.textsafe import safe_text
from app.errors import AuthRejected, ConnectionLost, HandshakeFailed
from app.ssh.dialing import Endpoint
from app.ssh.keyload import fingerprint
from app.ssh.packets import GreetingTrouble
from app.ssh.transport import GuardedTransport

# AES-GCM first: one AEAD call per packet, where paramiko's default aes128-ctr adds a
# Python-built HMAC (a new HMAC object and a copy of every packet) to each packet.
_FAST_CIPHERS = ("aes128-gcm@openssh.com", "aes256-gcm@openssh.com")


def start_transport(
    sock: Any, endpoint: Endpoint, preferred_key_types: list[str], timeout: float
) -> Any:
    """Run the SSH handshake on ``sock``; prefer host-key algorithms we have pinned."""
    transport = GuardedTransport(sock)
    transport.banner_timeout = timeout
    transport.handshake_timeout = timeout
    transport.auth_timeout = timeout
    options = transport.get_security_options()
    options.ciphers = _first(_FAST_CIPHERS, options.ciphers)
    if preferred_key_types:
        options.key_types = _first(preferred_key_types, options.key_types)
    started = time.monotonic()
    try:
        transport.start_client(timeout=timeout)
    except (SSHException, OSError, EOFError) as exc:
        transport.close()
        waited = time.monotonic() - started
        raise HandshakeFailed(endpoint.label, _handshake_reason(exc, waited, timeout)) from None
    # paramiko returns quietly when its own timeout ends the handshake: check it finished.
    if not transport.is_active() or not transport.initial_kex_done:
        transport.close()
        raise HandshakeFailed(endpoint.label, f"no SSH answer within {timeout:g} s")
    return transport


def _first(preferred: Sequence[str], supported: Sequence[str]) -> list[str]:
    """``supported`` reordered so that those of ``preferred`` it contains come first."""
    first = [name for name in preferred if name in supported]
    return first + [name for name in supported if name not in first]


def _handshake_reason(exc: BaseException, waited: float, timeout: float) -> str:
    if isinstance(exc, GreetingTrouble):
        if exc.timed_out:
            return f"no SSH answer within {timeout:g} s"
        return f"it did not answer like an SSH server ({exc}); check the host and SSH port"
    if isinstance(exc, EOFError | ConnectionError) and not str(exc):
        # paramiko ends a handshake that outlives its timer with a bare EOFError
        if waited >= timeout - 0.5:
            return f"no SSH answer within {timeout:g} s"
        return "the server closed the connection during the SSH handshake"
    text = str(exc)
    if "banner" in text.lower():
        return "it did not answer like an SSH server (check the host and SSH port)"
    return safe_text(text) or type(exc).__name__


def authenticate(transport: Any, user: str, key: Any, endpoint: Endpoint) -> None:
    """Offer exactly one key: no agent, no other keys, no passwords."""
    try:
        transport.auth_publickey(user, key)
    except AuthenticationException:
        raise AuthRejected(user, endpoint.label, fingerprint(key)) from None
    except (SSHException, OSError, EOFError) as exc:
        raise ConnectionLost(endpoint.label, f"during authentication: {exc}") from None
    if not transport.is_authenticated():
        raise AuthRejected(user, endpoint.label, fingerprint(key))
