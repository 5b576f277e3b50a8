"""One SSH connection to the jumphost (maybe through jump hosts): dial, verify, log in, forward."""

from __future__ import annotations

import contextlib
import socket
import threading
import time
from typing import Any

from app.core import knownhosts
from app.core.jump import Hop
from app.core.proxy import Route
from app.errors import ConnectionTrouble, ForwardRefused
from app.ssh.channel import ChannelGate, StreamChannel
from app.ssh.dialing import CONNECT_TIMEOUT, Endpoint, dial
from app.ssh.global_requests import (
    GLOBAL_REQUEST_TIMEOUT,
    GlobalRequests,
    cancel_forward,
    request_forward,
)
from app.ssh.handshake import authenticate, start_transport
from app.ssh.hostkey import algorithms_for, verify_host_key
from app.ssh.jumping import Chain, JumpPlan
from app.ssh.watched import Reactor, WatchedSocket

KEEPALIVE = "keepalive@openssh.com"


class Session:
    """One connection to a jumphost, from dialling it to closing it.

    The steps run in order on one thread (``open`` runs the first four); ``close`` and the
    read-only properties may be called from any thread. ``cancel``, when set, aborts a
    dial within 0.1 s and fails the steps after it with ``ConnectionTrouble("stopping")``.
    """

    def __init__(
        self,
        endpoint: Endpoint,
        timeout: float = CONNECT_TIMEOUT,
        cancel: threading.Event | None = None,
        request_timeout: float = GLOBAL_REQUEST_TIMEOUT,
        route: Route | None = None,
        proxy_password: str | None = None,
        hops: tuple[Hop, ...] = (),
    ) -> None:
        self.endpoint = endpoint
        self.route = route  # None or no proxy: direct (to the first jump host, if any)
        self.hops = hops  # jump hosts, the first dialled first
        self._proxy_password = proxy_password
        self._timeout = timeout
        self._cancel = cancel
        self._request_timeout = request_timeout
        self._lock = threading.Lock()  # _sock, _watched, _transport
        self._sock: socket.socket | None = None
        self._chain: Chain | None = None  # the jump hosts' connections, if any
        self._watched: WatchedSocket | None = None
        self._transport: Any = None
        self._requests: GlobalRequests | None = None
        self._forward: tuple[str, int] | None = None  # requested, not yet cancelled
        self.keepalive_rtt: float | None = None  # seconds the last keepalive's reply took

    # --- the steps -----------------------------------------------------------------------

    def open(
        self, known_hosts: knownhosts.ParsedFile, profile_name: str, user: str, key: Any
    ) -> Any:
        """Dial, handshake, verify the pinned host key and authenticate; the host key."""
        jumps = None
        if self.hops:
            jumps = JumpPlan(self.hops, user, key, known_hosts, profile_name)
        self.dial(jumps)
        self.handshake(known_hosts)
        host_key = self.verify_host_key(known_hosts, profile_name)
        self.authenticate(user, key)
        return host_key

    def dial(self, jumps: JumpPlan | None = None) -> None:
        """Open the connection, through the route's proxy if any (JumphostUnreachable or a
        ProxyTrouble if it cannot be) and through ``jumps``' hosts if any (then also what
        logging in to a hop raises: HostKeyTrouble, AuthRejected… naming the hop)."""
        if jumps is not None and jumps.hops:
            chain = Chain(
                jumps,
                self.endpoint,
                self._timeout,
                self._cancel,
                self.route,
                self._proxy_password,
            )
            with self._lock:
                self._chain = chain  # from now on close() interrupts a hop's login
            sock = chain.open()
        else:
            sock = dial(
                self.endpoint, self._timeout, self._cancel, self.route, self._proxy_password
            )
        watched = WatchedSocket(sock)
        with self._lock:
            self._sock, self._watched = sock, watched
        self._check_cancel()

    def handshake(self, known_hosts: knownhosts.ParsedFile) -> None:
        """Run the SSH handshake, preferring the host-key types pinned for this endpoint."""
        pinned = knownhosts.pinned_for(known_hosts, self.endpoint.pattern)
        transport = start_transport(
            self._watched, self.endpoint, algorithms_for(pinned), self._timeout
        )
        with self._lock:
            self._transport = transport
        self._requests = GlobalRequests(transport, self._request_timeout)
        self._check_cancel()

    def verify_host_key(self, known_hosts: knownhosts.ParsedFile, profile_name: str) -> Any:
        """Raise unless the jumphost's key is the pinned one; return that key."""
        verify_host_key(self._transport, known_hosts, self.endpoint, profile_name)
        return self._transport.get_remote_server_key()

    def negotiated(self) -> dict[str, str]:
        """What the jumphost's handshake agreed (see GuardedTransport.negotiated); empty
        before it. Text from the server is cut to 200 characters (escape before showing)."""
        transport = self._transport
        return transport.negotiated() if transport is not None else {}

    def authenticate(self, user: str, key: Any) -> None:
        authenticate(self._transport, user, key, self.endpoint)

    def install_gate(self, gate: ChannelGate) -> None:
        """Hand ``forwarded-tcpip`` opens to ``gate`` from now on (install it before
        asking for the forward, so a channel racing the reply is not refused)."""
        self._transport.install_gate(gate)

    def request_forward(self, bind: str, port: int) -> None:
        """Ask the jumphost to listen on ``bind:port`` (ForwardRefused if it will not)."""
        assert self._requests is not None
        self._forward = (bind, port)
        try:
            request_forward(self._requests, bind, port, self.endpoint)
        except ForwardRefused:
            self._forward = None  # not ours: nothing to cancel
            raise

    def cancel_forward(self) -> None:
        """Take back the forward asked for, if any (errors ignored, a short deadline)."""
        forward, self._forward = self._forward, None
        if forward is not None and self._requests is not None:
            cancel_forward(self._requests, *forward)

    def keepalive(self, timeout: float) -> None:
        """Ask for a reply (any packet proves the link alive); raises if none comes."""
        requests = self._requests
        if requests is None:
            raise EOFError("not connected")
        sent = time.monotonic()
        requests.request(KEEPALIVE, None, timeout=timeout)
        self.keepalive_rtt = time.monotonic() - sent  # a refusal is a reply too

    def open_direct(
        self, destination: tuple[str, int], origin: tuple[str, int], timeout: float
    ) -> StreamChannel:
        """A ``direct-tcpip`` channel to ``destination`` through the jumphost."""
        channel: StreamChannel = self._transport.open_channel(
            "direct-tcpip", destination, origin, timeout=timeout
        )
        return channel

    def host(self, reactor: Reactor) -> bool:
        """Let the transport thread run ``reactor`` while it waits (GuardedTransport.host)."""
        return bool(self._transport.host(reactor))

    def close(self) -> None:
        """Close the transport, the socket and the jump hosts' connections (any thread;
        interrupts a handshake)."""
        with self._lock:
            sock, transport, chain = self._sock, self._transport, self._chain
        if transport is not None:
            with contextlib.suppress(Exception):
                transport.close()
        if sock is not None:
            with contextlib.suppress(OSError):
                sock.shutdown(socket.SHUT_RDWR)
            with contextlib.suppress(OSError):
                sock.close()
        if chain is not None:
            chain.close()

    def _check_cancel(self) -> None:
        if self._cancel is not None and self._cancel.is_set():
            raise ConnectionTrouble("stopping")

    # --- the link ------------------------------------------------------------------------

    @property
    def active(self) -> bool:
        transport = self._transport
        return transport is not None and bool(transport.is_active())

    @property
    def authenticated(self) -> bool:
        transport = self._transport
        return transport is not None and bool(transport.is_authenticated())

    @property
    def error(self) -> BaseException | None:
        """What ended the transport, if anything did."""
        transport = self._transport
        return None if transport is None else transport.get_exception()

    @property
    def last_progress(self) -> float:
        """Monotonic time of the jumphost's last packet that proves progress."""
        transport = self._transport
        return time.monotonic() if transport is None else float(transport.last_progress)

    @property
    def exchanging_keys(self) -> bool:
        transport = self._transport
        return transport is not None and bool(transport.exchanging_keys)

    @property
    def local_port(self) -> int | None:
        """The local TCP port of the connection to the jumphost (or to the first jump
        host), if any."""
        with self._lock:
            sock, chain = self._sock, self._chain
        if chain is not None:
            return chain.local_port
        try:
            return int(sock.getsockname()[1]) if sock is not None else None
        except OSError:
            return None

    @property
    def transport(self) -> Any:
        """The paramiko transport, for the SSH layer's own tests and tools."""
        return self._transport

    @property
    def watched(self) -> WatchedSocket | None:
        return self._watched
