"""Forwarded connections: dial the target and copy bytes both ways between it and a channel."""

from __future__ import annotations

import contextlib
import logging
import selectors
import socket
import threading
import time
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from typing import Any

from app.core.budget import FLOOR, Budget, WindowLedger, shared_budget
from app.core.textsafe import safe_text
from app.engine.pumploop import PumpLoop

log = logging.getLogger(__name__)

# Channel-open answers (RFC 4254 section 5.1 reason codes; 0 accepts).
OPEN_OK = 0
OPEN_PROHIBITED = 1
OPEN_RESOURCE_SHORTAGE = 4

CHUNK = 128 * 1024  # bytes read at once from a channel or a target socket
BURST = 8  # chunks per direction before a connection yields the loop to the others
TARGET_CONNECT_TIMEOUT = 10.0
# Targets dialled at once. A pool, because starting a thread per connection on paramiko's
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
    ) -> None:
        self.bind = bind
        self.port = port
        self.target = target
        self.counters = counters or Counters()
        self._on_target_trouble = on_target_trouble
        self._max = max_channels
        self._connect_timeout = connect_timeout
        self._lock = threading.Lock()
        self._connections: set[_Connection] = set()
        self._loops: list[PumpLoop] = []
        self._dialers = ThreadPoolExecutor(DIALERS, thread_name_prefix="dial")
        # offers the first loop to paramiko's transport thread (ssh.GuardedTransport.host)
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
                    log.warning(
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
        self, channel: Any, origin: tuple[str, int], server: tuple[str, int]
    ) -> None:
        """paramiko's ``_tcp_handler``: accept only what we asked for. From here on the
        channel's data goes to its connection, counted against the window it was
        granted, even while the target is still being dialled."""
        with self._lock:
            extra, self._admitted = self._admitted, None
        if not self._armed or (server[0], server[1]) != (self.bind, self.port):
            log.warning(
                "closing a forwarded channel for %s:%s that was never requested",
                safe_text(str(server[0]), 100),
                server[1],
            )
            self._reject(channel, extra)
            return
        if extra is None:
            # not admitted through the gate: its window was never granted from the budget
            log.warning("closing a forwarded channel that did not pass the gate")
            self._reject(channel, None)
            return
        ledger = WindowLedger(self._budget, extra)
        with self._lock:
            if self._closing or len(self._connections) >= self._max:
                full = not self._closing
                self._reject(channel, None)
                ledger.close()
                if full:
                    log.warning("%d forwarded connections already open; refusing one", self._max)
                return
            connection = _Connection(self, channel, ledger)
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

    def _reject(self, channel: Any, extra: int | None) -> None:
        """Close a channel we will not serve; whatever it sends meanwhile is dropped."""
        if extra is not None:
            self._budget.close(extra)
        channel.data_sink = channel.extended_sink = _discard
        _close_later(channel)

    def _dial(self, connection: _Connection) -> None:
        """Connect to the target (blocking, on a dialler thread), then join a loop."""
        if self._closing:
            with contextlib.suppress(Exception):
                connection.channel.close()
            self._done(connection)
            return
        host, port = self.target
        try:
            sock = socket.create_connection((host, port), timeout=self._connect_timeout)
        except OSError as exc:
            reason = "timed out" if isinstance(exc, TimeoutError) else (exc.strerror or str(exc))
            self.counters.add("target_failures", 1)
            with contextlib.suppress(Exception):
                connection.channel.close()
            self._done(connection)
            self._on_target_trouble(
                f"target {self.target_label} refused a forwarded connection ({reason})"
            )
            return
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
            loop = PumpLoop(self._lock, hosted=True)
            if self._host(loop):
                return loop
            loop.host_ended()
        return PumpLoop(self._lock)

    def _done(self, connection: _Connection) -> None:
        connection.release()
        with self._lock:
            self._connections.discard(connection)
        self.counters.add("active", -1)

    def close_all(self, timeout: float = 3.0) -> None:
        """Close every forwarded connection and wait for the loop threads to end."""
        with self._lock:
            self._closing = True
            loops = list(self._loops)
            if self._admitted is not None:  # admitted, then the open failed in paramiko
                self._budget.close(self._admitted)
                self._admitted = None
            self._dialers.shutdown(wait=False)
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


def _close_later(channel: Any) -> None:
    """Close a channel off the transport thread (closing can block during a rekey)."""
    threading.Thread(target=channel.close, name="close-channel", daemon=True).start()


class _Readiness:
    """Stands in for paramiko's ``BufferedPipe`` event: data, EOF or close on a channel
    (set on the transport thread) queues its connection on the loop instead of waking
    a thread of its own."""

    def __init__(self, connection: _Connection) -> None:
        self._connection = connection

    def set(self) -> None:
        self._connection.wake()

    def clear(self) -> None:
        pass

    def is_set(self) -> bool:
        return False


class _Connection:
    """One forwarded connection's state; it runs on its loop thread but for ``wake`` and
    ``deliver``, which paramiko's transport thread calls.

    The vendor's bytes are written to the target by the transport thread as each packet
    is read (no hand-off, no buffer); what the target cannot take at once, or everything
    while the target is still being dialled, waits in one ``bytearray`` for the loop.
    The ledger bounds that: the channel's window is granted out of the process budget and
    credited again only once bytes reach the target, so a slow target holds the vendor
    back instead of filling memory, and a jumphost that sends more than it was granted
    loses the link. Half-close passes through both ways: the vendor's EOF becomes
    ``shutdown(SHUT_WR)`` towards the target once its bytes are written, the target's EOF
    becomes the channel's EOF, and the connection ends when both have ended or the
    channel is closed.
    """

    def __init__(self, owner: Forwarder, channel: Any, ledger: WindowLedger) -> None:
        self.owner = owner
        self.channel = channel
        self.sock: socket.socket | None = None
        self.loop: PumpLoop | None = None
        self._lock = threading.Lock()  # _pending, _ledger, _owed, _failed, closed, sock
        self._ledger = ledger
        self._pending = bytearray()  # coalesced: a 1-byte packet costs 1 byte, not an object
        self._owed = 0  # window the transport thread could not grant during a key exchange
        self._failed = False
        self._to_vendor = b""
        self._to_vendor_at = 0
        self._asked = CHUNK  # the size of the last read from the target
        self._vendor_eof = False
        self._target_eof = False
        self.closed = False
        self._events = 0
        # on the transport thread, before any data
        channel.data_sink = self.deliver
        channel.extended_sink = self.drop_extended

    @property
    def held(self) -> int:
        """Vendor bytes held for the target now."""
        return len(self._pending)

    def wake(self) -> None:
        loop = self.loop
        if loop is not None:
            loop.ready(self)

    def attach(self, sock: socket.socket) -> None:
        """The target is connected (dialler thread): the transport thread may write to it."""
        with self._lock:
            self.sock = sock

    def release(self) -> None:
        """Give the connection's window back to the budget (any thread, once)."""
        with self._lock:
            self._ledger.close()
            self._pending = bytearray()

    def start(self, loop: PumpLoop) -> None:
        self.loop = loop
        channel = self.channel
        channel.settimeout(0.0)
        channel.on_window_adjust = self.wake  # see ssh.GuardedTransport
        # EOF and close still arrive through the channel's buffer; sets itself at once
        # if either already has
        channel.in_buffer.set_event(_Readiness(self))

    def deliver(self, data: memoryview) -> None:
        """Vendor bytes from paramiko's transport thread: to the target now if it takes
        them, else held for the loop. Raises WindowOverrun (the transport then closes the
        link) if the jumphost sent more than its window."""
        sent = 0
        with self._lock:
            if self.closed or self._failed or self._ledger.closed:
                return
            self._ledger.received(len(data))
            sock = self.sock
            if sock is not None and not self._pending:
                try:
                    sent = sock.send(data)
                except BlockingIOError:
                    pass
                except OSError:
                    self._failed = True
                    self.wake()
                    return
            if sent < len(data):
                self._pending += data[sent:]
                self.wake()
            grant = self._ledger.delivered(sent) if sent else 0
        if sent:
            self.owner.counters.add("bytes_to_target", sent)
        if grant and not self.channel.transport.send_window_adjust(
            self.channel, grant, on_transport_thread=True
        ):
            with self._lock:
                self._owed += grant
            self.wake()

    def drop_extended(self, size: int) -> None:
        """Extended (stderr) data from the jumphost: counted against the window, dropped."""
        with self._lock:
            if self.closed or self._ledger.closed:
                return
            self._ledger.received(size)
            grant = self._ledger.delivered(size)
        if grant and not self.channel.transport.send_window_adjust(
            self.channel, grant, on_transport_thread=True
        ):
            with self._lock:
                self._owed += grant
            self.wake()

    def service(self) -> None:
        """Move what can move now without blocking, in both directions."""
        if self.closed:
            return
        try:
            more = self._vendor_to_target() | self._target_to_vendor()
        except (OSError, EOFError):
            self.close()
            return
        except Exception:  # one connection's surprise must not stop the loop for all
            log.exception("forwarded connection failed")
            self.close()
            return
        if self.channel.closed and self._vendor_eof:
            # The vendor side is gone entirely: nothing the target says can be delivered.
            self.close()
            return
        if self._vendor_eof and self._target_eof and not self._to_vendor:
            self.close()
            return
        self._watch_socket()
        if more:
            self.wake()

    def _vendor_to_target(self) -> bool:
        """Write what waits for the target, grant the window for it, pass on EOF."""
        sock, channel = self.sock, self.channel
        assert sock is not None
        # The EOF is read first: data that arrives before it is already queued then, so
        # "drained" below covers it (read the other way round, the transport thread could
        # queue the last bytes and the EOF in between, and the EOF would cut them off).
        ended = channel.eof_received or channel.closed
        # nothing waiting skips the lock: deliver wakes us if that changes
        drained = not (self._pending or self._owed or self._failed) or self._flush(sock)
        if drained and not self._vendor_eof and ended:
            # every packet before the EOF was delivered before paramiko read the EOF
            self._vendor_eof = True
            if not channel.closed:
                sock.shutdown(socket.SHUT_WR)
        return False

    def _flush(self, sock: socket.socket) -> bool:
        """Write the held bytes the target takes now and grant the window for them (and
        any the transport thread owes); True once nothing is left held."""
        written = 0
        with self._lock:
            if self._failed:
                raise OSError("the target connection failed")
            pending = self._pending
            while pending:
                try:
                    sent = sock.send(pending)
                except BlockingIOError:
                    break  # the selector says when the target can take more
                written += sent
                del pending[:sent]  # cheap: a bytearray drops its head in place
                if pending:
                    break  # a short write: the socket is full
            owed, self._owed = self._owed, 0
            if written:
                owed += self._ledger.delivered(written)
            drained = not pending
        if written:
            self.owner.counters.add("bytes_to_target", written)
        if owed:
            self.channel.transport.send_window(self.channel, owed)
        return drained

    def _target_to_vendor(self) -> bool:
        sock, channel, counters = self.sock, self.channel, self.owner.counters
        assert sock is not None
        for _ in range(BURST):
            data, at = self._to_vendor, self._to_vendor_at
            if at < len(data):
                try:
                    sent = channel.transport.send_channel_data(channel, memoryview(data)[at:])
                except TimeoutError:
                    return False  # the window is shut: its adjust wakes us (on_window_adjust)
                counters.add("bytes_to_vendor", sent)
                self._to_vendor_at = at + sent
                continue
            # A read that did not fill what it asked for most likely emptied the socket: leave the
            # next one to the selector instead of a read that would only say so.
            drained = 0 < len(data) < self._asked
            self._to_vendor, self._to_vendor_at = b"", 0
            # read no more than the vendor's window takes now (the rest stays in the
            # kernel until a window adjust wakes us), nor than this connection's share
            # of the budget: a jumphost that stops reading cannot make us hold more
            room = min(CHUNK, channel.out_window_size, self._ledger.allowance)
            if self._target_eof or drained or room <= 0:
                return False
            self._asked = room
            try:
                data = sock.recv(room)
            except BlockingIOError:
                return False
            if not data:
                self._target_eof = True
                channel.shutdown_write()
                return False
            self._to_vendor = data
        return True

    def _watch_socket(self) -> None:
        """Ask the selector for what this connection waits on from its target socket."""
        events = 0
        if self._pending:
            events |= selectors.EVENT_WRITE
        if not self._target_eof and not self._to_vendor and self.channel.out_window_size > 0:
            events |= selectors.EVENT_READ
        if events != self._events:
            assert self.loop is not None and self.sock is not None
            self.loop.watch(self.sock, self, self._events, events)
            self._events = events

    def close(self) -> None:
        """End the connection: close both ends and tell the owner (loop thread only)."""
        with self._lock:
            if self.closed:
                return
            self.closed = True
            self._pending = bytearray()
        sock = self.sock
        if sock is not None:
            if self.loop is not None and self._events:
                self.loop.watch(sock, self, self._events, 0)
            with contextlib.suppress(OSError):
                sock.shutdown(socket.SHUT_RDWR)
            sock.close()
        with contextlib.suppress(Exception):
            self.channel.close()
        if self.loop is not None:
            self.loop.finished(self)
            self.owner._done(self)
