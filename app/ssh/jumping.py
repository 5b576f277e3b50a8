"""Dialling the jumphost through jump hosts (OpenSSH's ProxyJump), one SSH login per hop.

The first hop is dialled like the jumphost (directly or through the route's proxy); each
hop's host key is checked against our known_hosts like the jumphost's, we log in with the
tunnel's key, and a ``direct-tcpip`` channel to the next hop carries the next SSH
connection. The last channel, to the jumphost, is handed over as one end of a socket pair:
the jumphost's transport reads a real socket (WatchedSocket reads its descriptor directly
and the forwarding loop selects on it; a paramiko Channel's ``fileno`` is only a readiness
pipe), and a relay carries the bytes between the pair and the channel.
"""

from __future__ import annotations

import contextlib
import socket
import threading
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from paramiko.ssh_exception import ChannelException, SSHException

from app.core import knownhosts
from app.core.jump import Hop
from app.core.proxy import Route
from app.core.textsafe import safe_text
from app.errors import (
    AuthRejected,
    ConnectionLost,
    ConnectionTrouble,
    JumpHostUnreachable,
    JumphostUnreachable,
    TunnelkeeperError,
)
from app.ssh.handshake import authenticate, start_transport
from app.ssh.hostkey import algorithms_for, verify_host_key
from app.ssh.keyload import fingerprint
from app.ssh.tcp import Endpoint, connect_tcp

ROLE = "jump host"
RELAY_CHUNK = 64 * 1024  # bytes the relay holds at most per direction, besides the kernel's
# Why a jump host would not open the channel (RFC 4254 reason codes).
_OPEN_REASONS = {
    1: "administratively prohibited: it does not let us through to there",
    2: "it could not connect",
    3: "unknown channel type",
    4: "resource shortage",
}

# Checks a hop's host key instead of our known_hosts (the host-key fetch decides itself);
# raises to refuse it, which stops the walk.
HostKeyCheck = Callable[[Endpoint, Any], None]


@dataclass(frozen=True)
class JumpPlan:
    """What dialling through jump hosts needs: the hops (first dialled first), the user
    for hops that name none, the key we log in with, and how hop keys are checked."""

    hops: tuple[Hop, ...]
    user: str
    key: Any
    known_hosts: knownhosts.ParsedFile
    profile_name: str
    check: HostKeyCheck | None = None


def _pump(
    read: Callable[[int], bytes], write: Callable[[bytes], object], done: Callable[[], object]
) -> None:
    """Copy ``read``'s bytes to ``write`` until EOF or an error, then ``done()`` (which
    wakes the other direction)."""
    try:
        while True:
            data = read(RELAY_CHUNK)
            if not data:
                break
            write(data)
    except (OSError, EOFError, SSHException):
        pass
    finally:
        with contextlib.suppress(Exception):
            done()


class Relay:
    """Carries bytes between a channel and one end of a socket pair, a thread per direction
    (a channel's writes wait for its window, which no descriptor signals). Each thread holds
    at most ``RELAY_CHUNK`` bytes; the window and the kernel's buffers bound the rest."""

    def __init__(self, channel: Any, name: str) -> None:
        self.socket, self._end = socket.socketpair()
        self._channel = channel
        down, up = channel, self._end
        self._threads = [
            # the jumphost's bytes to our end; at its EOF, shutting our end wakes "up" too
            threading.Thread(
                target=_pump,
                args=(down.recv, up.sendall, lambda: up.shutdown(socket.SHUT_RDWR)),
                name=f"jump-relay-down-{name}",
                daemon=True,
            ),
            # our transport's bytes to the channel; when our end closes, so does the channel
            threading.Thread(
                target=_pump,
                args=(up.recv, down.sendall, down.close),
                name=f"jump-relay-up-{name}",
                daemon=True,
            ),
        ]
        for thread in self._threads:
            thread.start()

    def close(self, timeout: float = 2.0) -> None:
        """Close both ends and the channel; wait (up to ``timeout`` s) for the threads."""
        for sock in (self.socket, self._end):
            with contextlib.suppress(OSError):
                sock.shutdown(socket.SHUT_RDWR)
        with contextlib.suppress(Exception):
            self._channel.close()
        current = threading.current_thread()
        for thread in self._threads:
            if thread is not current:
                thread.join(timeout)
        for sock in (self.socket, self._end):
            with contextlib.suppress(OSError):
                sock.close()


class Chain:
    """The SSH connections to the jump hosts of one connection to the jumphost.

    ``open`` runs on one thread; ``close`` may be called from any thread, also while
    ``open`` runs (it interrupts a handshake), and closes every hop it opened."""

    def __init__(
        self,
        plan: JumpPlan,
        endpoint: Endpoint,
        timeout: float,
        cancel: threading.Event | None = None,
        route: Route | None = None,
        proxy_password: str | None = None,
    ) -> None:
        self.plan = plan
        self.endpoint = endpoint  # the jumphost
        self._timeout = timeout
        self._cancel = cancel
        self._route = route
        self._proxy_password = proxy_password
        self._lock = threading.Lock()
        self._opened: list[Any] = []  # sockets, transports, channels and the relay, in order
        self._closed = False
        self.local_port: int | None = None  # of the TCP connection to the first hop

    def open_channel(self) -> Any:
        """Log in to each hop in turn; the ``direct-tcpip`` channel to the jumphost.
        Raises JumpHostUnreachable, JumphostUnreachable, HandshakeFailed, AuthRejected,
        HostKeyTrouble (naming the hop), a ProxyTrouble, or what ``plan.check`` raises."""
        hops = self.plan.hops
        first = Endpoint(hops[0].host, hops[0].port)
        sock = self._dial_first(first)
        for index, hop in enumerate(hops):
            here = Endpoint(hop.host, hop.port)
            transport = self._login(sock, hop, here)
            last = index == len(hops) - 1
            after = self.endpoint if last else Endpoint(hops[index + 1].host, hops[index + 1].port)
            sock = self._channel_to(transport, here, after, last)
        return sock

    def open(self) -> socket.socket:
        """As :meth:`open_channel`, the channel handed over as a real socket."""
        channel = self.open_channel()
        relay = Relay(channel, self.endpoint.label)
        self._keep(relay)
        return relay.socket

    def close(self) -> None:
        """Close every hop, the last first (any thread; idempotent)."""
        with self._lock:
            self._closed = True
            opened, self._opened = self._opened, []
        for thing in reversed(opened):
            with contextlib.suppress(Exception):
                thing.close()

    # --- the steps -------------------------------------------------------------------------

    def _keep(self, thing: Any) -> None:
        with self._lock:
            closed = self._closed
            if not closed:
                self._opened.append(thing)
        if closed:
            with contextlib.suppress(Exception):
                thing.close()
            raise ConnectionTrouble("stopping")
        if self._cancel is not None and self._cancel.is_set():
            raise ConnectionTrouble("stopping")

    def _dial_first(self, first: Endpoint) -> socket.socket:
        route = self._route
        if route is not None and route.proxy is not None:
            from app.ssh.proxying import dial_via  # noqa: PLC0415 (see dialing.dial)

            sock = dial_via(route, first, self._timeout, self._cancel, self._proxy_password)
        else:
            sock = connect_tcp(
                first,
                self._timeout,
                self._cancel,
                failed=lambda detail: JumpHostUnreachable(first.label, detail),
            )
        self._keep(sock)
        with contextlib.suppress(OSError, IndexError, ValueError, TypeError):
            self.local_port = int(sock.getsockname()[1])
        return sock

    def _login(self, sock: Any, hop: Hop, here: Endpoint) -> Any:
        plan = self.plan
        pinned = knownhosts.pinned_for(plan.known_hosts, here.pattern)
        transport = start_transport(sock, here, algorithms_for(pinned), self._timeout)
        self._keep(transport)
        if plan.check is not None:
            try:
                key = transport.get_remote_server_key()
            except SSHException as exc:
                raise ConnectionLost(here.label, str(exc)) from None
            plan.check(here, key)
        else:
            verify_host_key(transport, plan.known_hosts, here, plan.profile_name, role=ROLE)
        user = hop.user or plan.user
        try:
            authenticate(transport, user, plan.key, here)
        except AuthRejected:
            raise AuthRejected(user, here.label, fingerprint(plan.key), role=ROLE) from None
        self._keep_going()
        return transport

    def _channel_to(self, transport: Any, here: Endpoint, after: Endpoint, last: bool) -> Any:
        """The ``direct-tcpip`` channel through ``here`` to ``after``."""
        try:
            channel = transport.open_channel(
                "direct-tcpip", (after.host, after.port), ("127.0.0.1", 0), timeout=self._timeout
            )
        except ChannelException as exc:
            reason = _OPEN_REASONS.get(exc.code, safe_text(str(exc.text)) or f"code {exc.code}")
            why = f"the jump host {here.label} would not connect to it ({reason})"
            raise _unreachable(after, last, why) from None
        except (SSHException, OSError, EOFError) as exc:
            detail = safe_text(str(exc)) or type(exc).__name__
            raise ConnectionLost(
                here.label, f"opening a channel to {after.label}: {detail}"
            ) from None
        self._keep(channel)
        return channel

    def _keep_going(self) -> None:
        if self._closed or (self._cancel is not None and self._cancel.is_set()):
            raise ConnectionTrouble("stopping")


def _unreachable(endpoint: Endpoint, last: bool, why: str) -> TunnelkeeperError:
    if last:
        return JumphostUnreachable(endpoint.host, endpoint.port, why)
    return JumpHostUnreachable(endpoint.label, why)


def probe(
    plan: JumpPlan,
    endpoint: Endpoint,
    timeout: float,
    cancel: threading.Event | None = None,
    route: Route | None = None,
    proxy_password: str | None = None,
) -> bool:
    """True if the jump hosts let us through to the jumphost's SSH port now (a channel
    opened and closed at once). A hop whose key is not trusted counts as not through."""
    chain = Chain(plan, endpoint, timeout, cancel, route, proxy_password)
    try:
        chain.open_channel()
    except TunnelkeeperError:
        return False
    finally:
        chain.close()
    return True
