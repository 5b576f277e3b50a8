"""Dialling the jumphost: name lookup and TCP connect, each cancellable."""

from __future__ import annotations

import errno
import os
import select
import socket
import threading
import time
from dataclasses import dataclass
from typing import Any

from app.core import knownhosts
from app.errors import JumphostUnreachable

CONNECT_TIMEOUT = 10.0


@dataclass(frozen=True)
class Endpoint:
    """Where to dial and how the host is filed in known_hosts."""

    host: str
    port: int

    @property
    def pattern(self) -> str:
        return knownhosts.host_pattern(self.host, self.port)

    @property
    def label(self) -> str:
        return f"{self.host}:{self.port}" if ":" not in self.host else f"[{self.host}]:{self.port}"


def _resolve(endpoint: Endpoint, timeout: float, cancel: threading.Event | None) -> list[Any]:
    """getaddrinfo on a helper thread so a hung resolver cannot hold up a stop."""
    answer: list[Any] = []

    def lookup() -> None:
        try:
            answer.append(socket.getaddrinfo(endpoint.host, endpoint.port, type=socket.SOCK_STREAM))
        except OSError as exc:
            answer.append(exc)

    thread = threading.Thread(target=lookup, name="resolve", daemon=True)
    thread.start()
    deadline = time.monotonic() + timeout
    while thread.is_alive() and time.monotonic() < deadline:
        if cancel is not None and cancel.is_set():
            raise JumphostUnreachable(endpoint.host, endpoint.port, "cancelled")
        thread.join(0.1)
    if not answer:
        raise JumphostUnreachable(
            endpoint.host, endpoint.port, f"name lookup took longer than {timeout:g} s"
        )
    result = answer[0]
    if isinstance(result, socket.gaierror):
        raise JumphostUnreachable(
            endpoint.host, endpoint.port, f"name lookup failed ({result.strerror})"
        )
    if isinstance(result, OSError):
        raise JumphostUnreachable(endpoint.host, endpoint.port, result.strerror or str(result))
    return list(result)


def dial(
    endpoint: Endpoint, timeout: float, cancel: threading.Event | None = None
) -> socket.socket:
    """Open a TCP connection to the jumphost, trying each address it resolves to in turn
    (the time left is shared among them); ``cancel`` aborts within 0.1 s."""
    deadline = time.monotonic() + timeout
    infos = _resolve(endpoint, timeout, cancel)
    last_error = "no address to connect to"
    for index, (family, socktype, proto, _name, address) in enumerate(infos):
        remaining_addresses = len(infos) - index
        share = max(0.0, deadline - time.monotonic()) / remaining_addresses
        try:
            sock = _connect_one(family, socktype, proto, address, share, cancel)
        except _Cancelled:
            raise JumphostUnreachable(endpoint.host, endpoint.port, "cancelled") from None
        except TimeoutError:
            last_error = f"no answer within {timeout:g} s"
            continue
        except OSError as exc:
            last_error = exc.strerror or str(exc)
            continue
        sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        return sock
    raise JumphostUnreachable(endpoint.host, endpoint.port, last_error)


class _Cancelled(Exception):
    pass


def _connect_one(
    family: int,
    socktype: int,
    proto: int,
    address: Any,
    timeout: float,
    cancel: threading.Event | None,
) -> socket.socket:
    deadline = time.monotonic() + timeout
    sock = socket.socket(family, socktype, proto)
    try:
        sock.setblocking(False)
        error = sock.connect_ex(address)
        while error in (errno.EINPROGRESS, errno.EWOULDBLOCK, errno.EALREADY):
            if cancel is not None and cancel.is_set():
                raise _Cancelled
            remaining = deadline - time.monotonic()
            if remaining <= 0:
                raise TimeoutError
            # Windows reports a failed connect in the "exceptional" set, not as writable.
            _, writable, failed = select.select([], [sock], [sock], min(remaining, 0.1))
            if writable or failed:
                error = sock.getsockopt(socket.SOL_SOCKET, socket.SO_ERROR)
                break
        if error:
            raise OSError(error, os.strerror(error))
        sock.setblocking(True)
    except BaseException:
        sock.close()
        raise
    return sock


def port_open(endpoint: Endpoint, timeout: float, cancel: threading.Event | None = None) -> bool:
    """True if the jumphost's SSH port accepts a TCP connection now (closed again at once)."""
    try:
        sock = dial(endpoint, timeout, cancel)
    except JumphostUnreachable:
        return False
    sock.close()
    return True
