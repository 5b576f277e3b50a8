"""Forwarded connections: dial the target and copy bytes both ways between it and a channel."""

from __future__ import annotations

import contextlib
import logging
import socket
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

log = logging.getLogger(__name__)

# Channel-open answers (RFC 4254 section 5.1 reason codes; 0 accepts).
OPEN_OK = 0
OPEN_PROHIBITED = 1
OPEN_RESOURCE_SHORTAGE = 4

CHUNK = 64 * 1024
TARGET_CONNECT_TIMEOUT = 10.0
MAX_CHANNELS = 512


@dataclass
class Counters:
    """Traffic figures for one tunnel, updated from pump threads."""

    bytes_to_target: int = 0
    bytes_to_vendor: int = 0
    active: int = 0
    total: int = 0
    target_failures: int = 0
    refused_unrequested: int = 0
    refused_over_limit: int = 0
    last_connection_at: float = 0.0  # wall-clock time of the newest forwarded connection
    lock: threading.Lock = field(default_factory=threading.Lock, repr=False)

    def add(self, name: str, amount: int) -> None:
        with self.lock:
            setattr(self, name, getattr(self, name) + amount)

    def opened(self) -> None:
        with self.lock:
            self.active += 1
            self.total += 1
            self.last_connection_at = time.time()

    def snapshot(self) -> dict[str, float]:
        with self.lock:
            return {
                "bytes_to_target": self.bytes_to_target,
                "bytes_to_vendor": self.bytes_to_vendor,
                "active_connections": self.active,
                "total_connections": self.total,
                "target_failures": self.target_failures,
                "refused_unrequested": self.refused_unrequested,
                "refused_over_limit": self.refused_over_limit,
                "last_connection_at": self.last_connection_at,
            }


TargetTrouble = Callable[[str], None]


class Forwarder:
    """Accepts ``forwarded-tcpip`` channels for one requested (address, port).

    ``handle_channel`` runs on paramiko's transport thread, so it only decides and hands
    the channel to a thread of its own; dialling and copying never happen there.
    """

    def __init__(
        self,
        bind: str,
        port: int,
        target: tuple[str, int],
        on_target_trouble: TargetTrouble,
        counters: Counters | None = None,
        max_channels: int = MAX_CHANNELS,
        connect_timeout: float = TARGET_CONNECT_TIMEOUT,
    ) -> None:
        self.bind = bind
        self.port = port
        self.target = target
        self.counters = counters or Counters()
        self._on_target_trouble = on_target_trouble
        self._max = max_channels
        self._connect_timeout = connect_timeout
        self._lock = threading.Lock()
        self._pumps: set[_Pump] = set()
        self._closing = False
        self._armed = False
        self.refused_unrequested = 0

    def arm(self) -> None:
        """Start accepting: called just before the forward is requested."""
        with self._lock:
            self._armed = True

    @property
    def target_label(self) -> str:
        host, port = self.target
        return f"[{host}]:{port}" if ":" in host else f"{host}:{port}"

    def admit(self, address: str, port: int) -> int:
        """Decide on a ``forwarded-tcpip`` open before it is accepted (transport thread)."""
        with self._lock:
            if not self._armed or (address, port) != (self.bind, self.port):
                self.refused_unrequested += 1
                if self.refused_unrequested <= 10 or self.refused_unrequested % 1000 == 0:
                    # rate-limited: a hostile server could otherwise flood our log
                    log.warning(
                        "refused a forwarded channel for %s:%s that was never requested "
                        "(%d so far)",
                        address,
                        port,
                        self.refused_unrequested,
                    )
                self.counters.add("refused_unrequested", 1)
                return OPEN_PROHIBITED
            if self._closing:
                return OPEN_PROHIBITED
            if len(self._pumps) >= self._max:
                self.counters.add("refused_over_limit", 1)
                return OPEN_RESOURCE_SHORTAGE
        return OPEN_OK

    def handle_channel(
        self, channel: Any, origin: tuple[str, int], server: tuple[str, int]
    ) -> None:
        """paramiko's ``_tcp_handler``: accept only what we asked for."""
        if not self._armed or (server[0], server[1]) != (self.bind, self.port):
            log.warning("closing a forwarded channel for %s:%s that was never requested", *server)
            _close_later(channel)
            return
        with self._lock:
            if self._closing or len(self._pumps) >= self._max:
                full = not self._closing
                _close_later(channel)
                if full:
                    log.warning("%d forwarded connections already open; refusing one", self._max)
                return
            pump = _Pump(self, channel, origin)
            self._pumps.add(pump)
        self.counters.opened()
        pump.start()

    def _done(self, pump: _Pump) -> None:
        with self._lock:
            self._pumps.discard(pump)
        self.counters.add("active", -1)

    def close_all(self, timeout: float = 3.0) -> None:
        """Close every forwarded connection and wait for its threads."""
        with self._lock:
            self._closing = True
            pumps = list(self._pumps)
        for pump in pumps:
            pump.abort()
        deadline = time.monotonic() + timeout
        for pump in pumps:
            pump.join(max(0.0, deadline - time.monotonic()))

    @property
    def active(self) -> int:
        with self._lock:
            return len(self._pumps)


def _close_later(channel: Any) -> None:
    """Close a channel off the transport thread (closing can block during a rekey)."""
    threading.Thread(target=channel.close, name="close-channel", daemon=True).start()


class _Pump:
    """One forwarded connection: a thread per direction, half-close passed through."""

    def __init__(self, owner: Forwarder, channel: Any, origin: tuple[str, int]) -> None:
        self._owner = owner
        self._channel = channel
        self._origin = origin
        self._sock: socket.socket | None = None
        self._aborted = threading.Event()
        self._lock = threading.Lock()
        self._thread = threading.Thread(target=self._run, name="forward", daemon=True)
        self._reverse: threading.Thread | None = None

    def start(self) -> None:
        self._thread.start()

    def join(self, timeout: float) -> None:
        self._thread.join(timeout)

    def abort(self) -> None:
        self._aborted.set()
        self._shutdown()

    def _shutdown(self) -> None:
        with self._lock:
            sock = self._sock
        if sock is not None:
            with contextlib.suppress(OSError):
                sock.shutdown(socket.SHUT_RDWR)
        with contextlib.suppress(Exception):
            self._channel.close()

    def _run(self) -> None:
        try:
            sock = self._dial()
            if sock is None:
                return
            self._reverse = threading.Thread(
                target=self._target_to_channel, args=(sock,), name="forward-back", daemon=True
            )
            self._reverse.start()
            self._channel_to_target(sock)
            self._reverse.join()
        finally:
            self._shutdown()
            with self._lock:
                sock_to_close, self._sock = self._sock, None
            if sock_to_close is not None:
                sock_to_close.close()
            self._owner._done(self)

    def _dial(self) -> socket.socket | None:
        owner = self._owner
        host, port = owner.target
        try:
            sock = socket.create_connection((host, port), timeout=owner._connect_timeout)
        except OSError as exc:
            reason = "timed out" if isinstance(exc, TimeoutError) else (exc.strerror or str(exc))
            owner.counters.add("target_failures", 1)
            with contextlib.suppress(Exception):
                self._channel.close()
            owner._on_target_trouble(
                f"target {owner.target_label} refused a forwarded connection ({reason})"
            )
            return None
        sock.settimeout(None)
        sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        with self._lock:
            self._sock = sock
        if self._aborted.is_set():
            return None
        return sock

    def _channel_to_target(self, sock: socket.socket) -> None:
        channel, counters = self._channel, self._owner.counters
        try:
            while True:
                data = channel.recv(CHUNK)
                if not data:
                    break
                sock.sendall(data)
                counters.add("bytes_to_target", len(data))
            if channel.closed:
                # The vendor side is gone entirely: nothing the target says can be delivered.
                self._shutdown()
                return
            sock.shutdown(socket.SHUT_WR)
            self._await_channel_close()
        except (OSError, EOFError):
            self._shutdown()

    def _await_channel_close(self) -> None:
        """After the vendor's EOF, keep the target's direction open until the channel closes."""
        reverse = self._reverse
        while reverse is not None and reverse.is_alive():
            if self._channel.closed or self._aborted.is_set():
                self._shutdown()
                return
            reverse.join(0.25)

    def _target_to_channel(self, sock: socket.socket) -> None:
        channel, counters = self._channel, self._owner.counters
        try:
            while True:
                data = sock.recv(CHUNK)
                if not data:
                    break
                channel.sendall(data)
                counters.add("bytes_to_vendor", len(data))
            channel.shutdown_write()
        except (OSError, EOFError):
            self._shutdown()
