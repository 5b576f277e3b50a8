"""The loops that move forwarded connections' bytes: on a thread, or on the SSH transport's."""

from __future__ import annotations

import contextlib
import logging
import selectors
import socket
import threading
import time
from typing import Protocol

from app.storage.logs import tunnel_log

log = logging.getLogger(__name__)

# the most a connection reads from its target at once, into the loop's read buffer
TARGET_READ = 256 * 1024


class Pumped(Protocol):
    """What a loop needs of a connection (connection.Connection)."""

    closed: bool
    loop: PumpLoop | None

    def start(self, loop: PumpLoop) -> None: ...

    def service(self) -> None: ...

    def close(self) -> None: ...


class _Host:
    """Marks the host's own socket in a hosted loop's selector."""


_HOST = _Host()


class PumpLoop:
    """Moves bytes for many connections: a selector over their target sockets plus a
    wake-up socket that channel events (from the SSH transport thread) poke.

    A loop runs on a thread of its own, or is *hosted* by the SSH transport thread:
    whenever that thread has read every byte the jumphost sent and would wait for more,
    it waits in ``serve`` instead, on the jumphost socket and the targets together. One
    thread then carries a connection's bytes both ways, and a round trip costs no
    hand-off between threads (each one woke the other through the GIL: ~5 futex calls
    and ~80 µs of CPU per 64-byte round trip here).
    """

    def __init__(
        self, load_lock: threading.Lock, hosted: bool = False, tunnel: str | None = None
    ) -> None:
        self._log = tunnel_log(log, tunnel)
        self.load = 0  # connections given to this loop and not yet finished (load_lock)
        self.hosted = hosted
        self._load_lock = load_lock
        self._selector = selectors.DefaultSelector()
        self._wake_recv, self._wake_send = socket.socketpair()
        self._wake_recv.setblocking(False)
        self._wake_send.setblocking(False)
        self._selector.register(self._wake_recv, selectors.EVENT_READ, None)
        self._lock = threading.Lock()
        self._ready: list[Pumped] = []
        self._added: list[Pumped] = []
        self._poked = False
        self._stopping = False
        self._ended = False
        self._ended_event = threading.Event()
        self._host_socket: socket.socket | None = None
        self._connections: set[Pumped] = set()
        self._read_buffer: memoryview | None = None  # see read_buffer
        if not hosted:
            thread = threading.Thread(target=self._run, name="forward-loop", daemon=True)
            thread.start()

    # --- any thread ------------------------------------------------------------------

    def add(self, connection: Pumped) -> None:
        with self._lock:
            ended = self._ended
            if not ended:
                self._added.append(connection)
        if ended:  # stopped between the owner picking this loop and now
            connection.loop = self
            connection.close()
            return
        self._poke()

    def ready(self, connection: Pumped) -> None:
        with self._lock:
            self._ready.append(connection)
            if self._poked:
                return
            self._poked = True
        self._poke(already_marked=True)

    def stop(self) -> None:
        with self._lock:
            self._stopping = True
        self._poke()

    def join(self, timeout: float) -> None:
        self._ended_event.wait(timeout)

    def _poke(self, already_marked: bool = False) -> None:
        if not already_marked:
            with self._lock:
                if self._poked:
                    return
                self._poked = True
        with contextlib.suppress(OSError):  # full means a wake-up is already pending
            self._wake_send.send(b"\0")

    # --- the loop's thread (its own, or the host's) ----------------------------------------

    def watch(self, sock: socket.socket, connection: Pumped, old: int, new: int) -> None:
        if not old:
            self._selector.register(sock, new, connection)
        elif not new:
            self._selector.unregister(sock)
        else:
            self._selector.modify(sock, new, connection)

    def read_buffer(self) -> memoryview:
        """Where this loop's connections read their targets' bytes before sending them
        on (loop thread only); made at the first read, so an idle loop holds none of it."""
        if self._read_buffer is None:
            self._read_buffer = memoryview(bytearray(TARGET_READ))
        return self._read_buffer

    def finished(self, connection: Pumped) -> None:
        self._connections.discard(connection)
        with self._load_lock:
            self.load -= 1

    def _run(self) -> None:
        try:
            while self._turn(None)[0]:
                pass
        finally:
            self._end()

    def serve(self, host_socket: socket.socket, timeout: float) -> bool:
        """Hosted: serve the connections until ``host_socket`` is readable (True) or
        ``timeout`` seconds pass (False). Only outside a key exchange: the host checks."""
        if self._ended:
            return True
        deadline = time.monotonic() + timeout
        try:
            if self._host_socket is None:
                self._host_socket = host_socket
                self._selector.register(host_socket, selectors.EVENT_READ, _HOST)
            while True:
                going, readable = self._turn(max(0.0, deadline - time.monotonic()))
                if not going:
                    self._end()
                    return True
                if readable:
                    return True
                if time.monotonic() >= deadline:
                    return False
        except Exception:  # the host's reads must go on whatever happens here
            self._log.exception("the forwarding loop failed")
            self._end()
            return True

    def host_ended(self) -> None:
        """Hosted: the host thread is ending; close what is left (on that thread)."""
        self._end()

    def _turn(self, timeout: float | None) -> tuple[bool, bool]:
        """Wait up to ``timeout`` s for sockets, then serve what is ready; return whether
        the loop goes on and whether the host's socket is readable."""
        host_readable = False
        for key, _mask in self._selector.select(timeout):
            if key.data is None:
                with contextlib.suppress(OSError):
                    while self._wake_recv.recv(4096):
                        pass
            elif key.data is _HOST:
                host_readable = True
            else:
                key.data.service()
        added, ready, stopping = self._take_queued()
        if stopping:
            return False, host_readable
        for connection in added:
            self._connections.add(connection)
            connection.start(self)
            connection.service()
        for connection in dict.fromkeys(ready):
            connection.service()
        return True, host_readable

    def _take_queued(self) -> tuple[list[Pumped], list[Pumped], bool]:
        """Connections added or woken since the last turn, and whether to stop."""
        if not self._poked:  # set (under the lock) before any poke, so this read is safe
            return [], [], False
        with self._lock:
            added, self._added = self._added, []
            ready, self._ready = self._ready, []
            self._poked = False
            return added, ready, self._stopping

    def _end(self) -> None:
        with self._lock:
            if self._ended:
                return
            added, self._added = self._added, []
            self._ended = True
        for connection in [*self._connections, *added]:
            connection.loop = self
            connection.close()
        self._selector.close()
        self._wake_recv.close()
        self._wake_send.close()
        self._ended_event.set()
