"""Forwarded connections: dial the target and copy bytes both ways between it and a channel."""

from __future__ import annotations

import contextlib
import logging
import socket
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field

from app.core.budget import FLOOR, Budget, WindowLedger, shared_budget
from app.core.textsafe import safe_text
from app.engine.connection import Connection
from app.engine.dialpool import DialPool
from app.engine.pumploop import PumpLoop
from app.errors import os_reason
from app.ssh.channel import ForwardedChannel
from app.ssh.tcp import open_tcp
from app.storage.logs import tunnel_log

log = logging.getLogger(__name__)

# Channel-open answers (RFC 4254 section 5.1 reason codes; 0 accepts).
OPEN_OK = 0
OPEN_PROHIBITED = 1
OPEN_RESOURCE_SHORTAGE = 4

TARGET_CONNECT_TIMEOUT = 10.0
# Targets dialled at once. A pool, because starting a thread per connection on the SSH
# transport thread stalled it (Thread.start waits for the new thread to run).
DIALERS = 32
MAX_CHANNELS = 4096
# Past this many open connections, a new target socket's kernel send buffer is fixed at
# SNDBUF_CAPPED (the kernel doubles it) instead of growing to 4 MiB, so stalled targets
# cannot fill the machine's TCP memory either: 4,096 stalled connections held 1.7 GB there.
SNDBUF_CAP_AFTER = 16
SNDBUF_CAPPED = 16 * 1024
# Connections per loop thread: Windows' select() handles at most 512 sockets.
LOOP_CAPACITY = 500


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
    target_reached_at: float = 0.0  # monotonic time a forwarded connection last reached it
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

    ``handle_channel`` runs on the SSH transport thread, so it only decides and hands
    the channel on: the target is dialled by a small pool of threads, then the
    connection joins a shared loop that moves its bytes: the first ``LOOP_CAPACITY``
    connections on the transport thread itself (see ``PumpLoop``), more on a thread
    per ``LOOP_CAPACITY``, never two threads per connection.
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
        host: Callable[[PumpLoop], bool] | None = None,
        budget: Budget | None = None,
        tunnel: str | None = None,
    ) -> None:
        self.tunnel = tunnel  # the name its log lines start with
        self.log = tunnel_log(log, tunnel)
        self.bind = bind
        self.port = port
        self.target = target
        self.counters = counters or Counters()
        self._on_target_trouble = on_target_trouble
        self._max = max_channels
        self._connect_timeout = connect_timeout
        self._lock = threading.Lock()
        self._connections: set[Connection] = set()
        self._loops: list[PumpLoop] = []
        self._dialers = DialPool(DIALERS, tunnel=tunnel)
        # offers the first loop to the SSH transport thread (ssh.GuardedTransport.host)
        self._host = host
        self._closing = False
        self._armed = False
        self.refused_unrequested = 0
        self._budget = budget if budget is not None else shared_budget()
        self._admitted: int | None = None  # extra allowance admit() took for the open at hand

    def arm(self) -> None:
        """Start accepting: called just before the forward is requested. The hosted loop
        starts now, so the transport thread already waits in it when the first
        connection comes (a target that speaks first, like MySQL, would otherwise wait
        for the jumphost's next packet)."""
        with self._lock:
            self._armed = True
            if self._host is not None and not self._loops and not self._closing:
                self._loops.append(self._new_loop())

    @property
    def target_label(self) -> str:
        host, port = self.target
        return f"[{host}]:{port}" if ":" in host else f"{host}:{port}"

    def admit(self, address: str, port: int) -> tuple[int, int]:
        """Decide on a ``forwarded-tcpip`` open before it is accepted (transport thread):
        the answer, and the window to grant the channel (taken from the budget)."""
        with self._lock:
            if not self._armed or (address, port) != (self.bind, self.port):
                self.refused_unrequested += 1
                if self.refused_unrequested <= 10 or self.refused_unrequested % 1000 == 0:
                    # rate-limited: a hostile server could otherwise flood our log
                    self.log.warning(
                        "refused a forwarded channel for %s:%s that was never requested "
                        "(%d so far)",
                        safe_text(address, 100),
                        port,
                        self.refused_unrequested,
                    )
                self.counters.add("refused_unrequested", 1)
                return OPEN_PROHIBITED, 0
            if self._closing:
                return OPEN_PROHIBITED, 0
            if len(self._connections) >= self._max:
                self.counters.add("refused_over_limit", 1)
                return OPEN_RESOURCE_SHORTAGE, 0
            extra = self._budget.open()
            if extra is None:
                self.counters.add("refused_over_limit", 1)
                return OPEN_RESOURCE_SHORTAGE, 0
            if self._admitted is not None:  # an open that never reached handle_channel
                self._budget.close(self._admitted)
            self._admitted = extra
        return OPEN_OK, FLOOR + extra

    def handle_channel(
        self, channel: ForwardedChannel, origin: tuple[str, int], server: tuple[str, int]
    ) -> None:
        """The gate's second half (ssh.ChannelGate): accept only what we asked for. From here on the
        channel's data goes to its connection, counted against the window it was
        granted, even while the target is still being dialled."""
        with self._lock:
            extra, self._admitted = self._admitted, None
        if not self._armed or (server[0], server[1]) != (self.bind, self.port):
            self.log.warning(
                "closing a forwarded channel for %s:%s that was never requested",
                safe_text(str(server[0]), 100),
                server[1],
            )
            self._reject(channel, extra)
            return
        if extra is None:
            # not admitted through the gate: its window was never granted from the budget
            self.log.warning("closing a forwarded channel that did not pass the gate")
            self._reject(channel, None)
            return
        ledger = WindowLedger(self._budget, extra)
        with self._lock:
            if self._closing or len(self._connections) >= self._max:
                full = not self._closing
                self._reject(channel, None)
                ledger.close()
                if full:
                    self.log.warning(
                        "%d forwarded connections already open; refusing one", self._max
                    )
                return
            connection = Connection(self, channel, ledger)
            self._connections.add(connection)
            self.counters.opened()
            try:
                self._dialers.submit(self._dial, connection)
            except RuntimeError:  # close_all shut the diallers down meanwhile
                dial_later = False
            else:
                dial_later = True
        if not dial_later:
            _close_later(channel)
            self._done(connection)

    def _reject(self, channel: ForwardedChannel, extra: int | None) -> None:
        """Close a channel we will not serve; whatever it sends meanwhile is dropped."""
        if extra is not None:
            self._budget.close(extra)
        channel.data_sink = channel.extended_sink = _discard
        _close_later(channel)

    def _dial(self, connection: Connection) -> None:
        """Connect to the target (blocking, on a dialler thread), then join a loop."""
        if self._closing:
            with contextlib.suppress(Exception):
                connection.channel.close()
            self._done(connection)
            return
        host, port = self.target
        try:
            sock = open_tcp(host, port, self._connect_timeout)
        except OSError as exc:
            reason = os_reason(exc)
            self.counters.add("target_failures", 1)
            with contextlib.suppress(Exception):
                connection.channel.close()
            self._done(connection)
            self._on_target_trouble(
                f"target {self.target_label} refused a forwarded connection ({reason})"
            )
            return
        self.counters.target_reached_at = time.monotonic()  # proof enough for a probe
        sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        self._cap_send_buffer(sock)
        sock.setblocking(False)
        connection.attach(sock)
        with self._lock:
            if self._closing:
                loop = None
            else:
                loop = next((lp for lp in self._loops if lp.load < LOOP_CAPACITY), None)
                if loop is None:
                    loop = self._new_loop()
                    self._loops.append(loop)
                loop.load += 1
        if loop is None:
            connection.close()
            self._done(connection)
            return
        loop.add(connection)

    def _cap_send_buffer(self, sock: socket.socket) -> None:
        if self._budget.open_connections > SNDBUF_CAP_AFTER:
            with contextlib.suppress(OSError):
                sock.setsockopt(socket.SOL_SOCKET, socket.SO_SNDBUF, SNDBUF_CAPPED)

    def _new_loop(self) -> PumpLoop:
        """The first loop is hosted by the transport thread if it takes it; the rest (past
        ``LOOP_CAPACITY`` connections) run on threads of their own."""
        if not self._loops and self._host is not None:
            loop = PumpLoop(self._lock, hosted=True, tunnel=self.tunnel)
            if self._host(loop):
                return loop
            loop.host_ended()
        return PumpLoop(self._lock, tunnel=self.tunnel)

    def _done(self, connection: Connection) -> None:
        connection.release()
        with self._lock:
            self._connections.discard(connection)
        self.counters.add("active", -1)

    def close_all(self, timeout: float = 3.0) -> None:
        """Close every forwarded connection and wait for the loop threads to end."""
        with self._lock:
            self._closing = True
            loops = list(self._loops)
            if self._admitted is not None:  # admitted, then the open failed in the SSH layer
                self._budget.close(self._admitted)
                self._admitted = None
            self._dialers.shutdown()
            abandoned = list(self._connections)
        # a dial can hang for its whole timeout: give every window back now (a connection
        # gives its own back at most once)
        for connection in abandoned:
            connection.release()  # queued dials see _closing and give up
        for loop in loops:
            loop.stop()
        deadline = time.monotonic() + timeout
        for loop in loops:
            loop.join(max(0.0, deadline - time.monotonic()))

    @property
    def active(self) -> int:
        with self._lock:
            return len(self._connections)


def _discard(data: object) -> None:
    """The data sinks of a channel being refused."""


def _close_later(channel: ForwardedChannel) -> None:
    """Close a channel off the transport thread (closing can block during a rekey)."""
    threading.Thread(target=channel.close, name="close-channel", daemon=True).start()
