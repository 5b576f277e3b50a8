"""The jumphost socket as paramiko's transport thread reads and writes it."""

from __future__ import annotations

import contextlib
import os
import socket
import time
from collections.abc import Callable
from typing import Any, Protocol

READ_AHEAD = 256 * 1024  # bytes asked of the jumphost socket at once
# Linux only: acknowledge at once instead of up to 40 ms later (see WatchedSocket.recv).
_QUICKACK = getattr(socket, "TCP_QUICKACK", None)
# A socket with a timeout (paramiko gives it one) makes Python poll before every recv and
# send: two system calls each. Its descriptor is non-blocking underneath, so on POSIX we
# try the read or write first and fall back to the socket's own waiting call only when it
# would block. (Windows cannot read or write sockets as files.)
_DIRECT = os.name == "posix"


class Reactor(Protocol):
    """A forwarding loop the transport thread can host (pumploop.PumpLoop)."""

    def serve(self, host_socket: socket.socket, timeout: float) -> bool: ...

    def host_ended(self) -> None: ...


class WatchedSocket:
    """The jumphost socket, remembering when the server last sent anything.

    paramiko reads each packet with two exact-size ``recv`` calls; reading ahead serves
    many packets from one system call. Only paramiko's transport thread reads, so no lock is needed.
    """

    def __init__(self, sock: socket.socket) -> None:
        self._sock = sock
        self._ahead = b""
        self._ahead_at = 0
        self.last_rx = time.monotonic()
        # set by GuardedTransport.host: waits for the jumphost while serving the targets
        self.reactor: Reactor | None = None
        self.may_serve: Callable[[], bool] = lambda: False

    def recv(self, size: int) -> bytes:
        start = self._ahead_at
        if start < len(self._ahead):
            self._ahead_at = start + size
            return self._ahead[start : start + size]
        reactor = self.reactor
        if reactor is not None and self.may_serve():
            timeout = self._sock.gettimeout()
            if not reactor.serve(self._sock, 1.0 if timeout is None else timeout):
                raise TimeoutError  # as the socket's own timeout: paramiko polls again
        data = self._read(max(size, READ_AHEAD))
        if not data:
            return data
        self.last_rx = time.monotonic()
        if _QUICKACK is not None:
            # sshd leaves Nagle on: its next small packet (an EOF, or the next
            # connection's CHANNEL_OPEN) waits for our ACK of the last one, which Linux
            # would delay by up to 40 ms whenever we have nothing to send back. The
            # kernel drops quick-ack mode by itself, hence once per read.
            with contextlib.suppress(OSError):
                self._sock.setsockopt(socket.IPPROTO_TCP, _QUICKACK, 1)
        if len(data) > size:
            self._ahead, self._ahead_at = data, size
            return data[:size]
        return data

    def take(self, size: int) -> memoryview | None:
        """The next ``size`` bytes if the read-ahead holds them all (a view, no copy),
        else None and nothing is consumed."""
        start = self._ahead_at
        if start + size > len(self._ahead):
            return None
        self._ahead_at = start + size
        return memoryview(self._ahead)[start : start + size]

    def _read(self, size: int) -> bytes:
        if _DIRECT:
            try:
                return os.read(self._sock.fileno(), size)
            except BlockingIOError:
                pass
        return self._sock.recv(size)  # waits, up to paramiko's poll interval

    def send(self, data: Any) -> int:
        """paramiko's writes: at once when the socket takes them (see ``_DIRECT``)."""
        if _DIRECT:
            try:
                return os.write(self._sock.fileno(), data)
            except BlockingIOError:
                pass
        return self._sock.send(data)  # waits for room, up to paramiko's poll interval

    if _DIRECT:  # not on Windows (no writev): the packetizer joins and writes there

        def send_pieces(self, pieces: list[bytes]) -> int:
            """Write ``pieces`` in order with one system call, as much as the socket
            takes now (0 if none: the caller writes the rest)."""
            try:
                return os.writev(self._sock.fileno(), pieces)
            except OSError:  # full, or failed: paramiko's write says which, as it does
                return 0

    def __getattr__(self, name: str) -> Any:
        return getattr(self._sock, name)
