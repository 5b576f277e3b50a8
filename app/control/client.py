"""The controllers' side: find this user's hosts, ask one, follow its stream."""

from __future__ import annotations

import contextlib
import os
import socket
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

from app.control.addresses import Address, system_address, user_addresses
from app.control.errors import HostRefused, HostUnavailable
from app.core import control
from app.core.control import BadRequest, Op
from app.core.textsafe import DETAIL_LIMIT, safe_value
from app.platform.peers import peer_of
from app.storage.paths import AppPaths
from app.storage.runstate import process_alive

CONNECT_TIMEOUT = 2.0
REPLY_TIMEOUT = 60.0  # a connection test takes up to ~30 s


@dataclass
class Connection:
    """One open control connection to a host."""

    address: Address
    sock: socket.socket
    _buffer: bytes = b""

    def request(self, op: Op, **args: Any) -> Any:
        """Send a request and return its result; raises HostRefused or HostUnavailable."""
        self.send(op, **args)
        return self.result()

    def send(self, op: Op, **args: Any) -> None:
        try:
            self.sock.sendall(control.encode(control.request(op, **args)))
        except OSError as exc:
            raise HostUnavailable(f"{self.address.path}: {exc.strerror or exc}") from None

    def result(self) -> Any:
        data = self.next()
        if data.get("ok") is True:
            return safe_value(data.get("result"), DETAIL_LIMIT)
        error = data.get("error")
        if not isinstance(error, dict):
            error = {}
        raise HostRefused(
            str(error.get("kind", "Error")),
            str(error.get("message", "the host refused")),
            str(error.get("then", "")),
            str(error.get("action", "")),
        )

    def next(self) -> dict[str, Any]:
        """The next line from the host; HostUnavailable at its end."""
        while b"\n" not in self._buffer:
            if len(self._buffer) > control.MAX_LINE:
                raise HostUnavailable(f"{self.address.path}: reply too long")
            try:
                chunk = self.sock.recv(65536)
            except TimeoutError:
                raise HostUnavailable(f"{self.address.path}: no reply in time") from None
            except OSError as exc:
                raise HostUnavailable(f"{self.address.path}: {exc.strerror or exc}") from None
            if not chunk:
                raise HostUnavailable(f"{self.address.path}: the host hung up")
            self._buffer += chunk
        line, self._buffer = self._buffer.split(b"\n", 1)
        try:
            return control.parse_reply(line)
        except BadRequest as exc:
            raise HostUnavailable(f"{self.address.path}: {exc}") from None

    def stream(self) -> Iterator[dict[str, Any]]:
        """Streamed items, until the host ends the stream."""
        self.sock.settimeout(None)
        with contextlib.suppress(HostUnavailable):
            while True:
                yield safe_value(self.next(), DETAIL_LIMIT)

    def close(self) -> None:
        self.sock.close()

    def __enter__(self) -> Connection:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


def open_connection(address: Address, timeout: float = REPLY_TIMEOUT) -> Connection:
    """Connect to ``address`` and check who listens: our own user's process, or, for the
    system service's socket, root or the socket's owner. Raises HostUnavailable."""
    sock = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    sock.settimeout(CONNECT_TIMEOUT)
    try:
        sock.connect(str(address.path))
    except OSError as exc:
        sock.close()
        raise HostUnavailable(f"{address.path}: {exc.strerror or exc}") from None
    peer = peer_of(sock.fileno())
    allowed = {os.geteuid()}
    if address.system:
        allowed |= {0, address.path.stat().st_uid}
    if peer is None or peer.uid not in allowed:
        sock.close()
        raise HostUnavailable(f"{address.path} is served by another user; not trusted")
    sock.settimeout(timeout)
    return Connection(address, sock)


def reachable_hosts(paths: AppPaths, system: bool = True) -> list[Connection]:
    """An open connection to every host of this user that answers (sockets left by dead
    processes are removed), and to the system service when there is one we may use."""
    found = []
    for address in user_addresses(paths):
        try:
            found.append(open_connection(address))
        except HostUnavailable:
            if not process_alive(address.pid):
                with contextlib.suppress(OSError):
                    address.path.unlink()
    service = system_address() if system else None
    if service is not None:
        with contextlib.suppress(HostUnavailable, OSError):
            found.append(open_connection(service))
    return found
