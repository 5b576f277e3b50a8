"""Plain TCP connects, each cancellable: name lookup and connect on a deadline."""

from __future__ import annotations

import errno
import os
import select
import socket
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from app.core import knownhosts
from app.errors import ConnectionTrouble, JumphostUnreachable

# Makes the error for a failed lookup or connect from its few words ("cancelled", ...).
Failed = Callable[[str], ConnectionTrouble]


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

    def unreachable(self, detail: str) -> ConnectionTrouble:
        """The error for a jumphost at this endpoint that cannot be reached."""
        return JumphostUnreachable(self.host, self.port, detail)


def lookup_name(host: str) -> str | bytes:
    """``host`` as ``getaddrinfo`` should get it: an ASCII name or address as bytes, which
    Python passes on as they are; other names as text, which it encodes with its IDNA
    codec. That codec's first use imports it and unicodedata's tables: ~10 ms on the way
    to the first connection of every process."""
    return host.encode("ascii") if host.isascii() else host


def open_tcp(host: str, port: int, timeout: float) -> socket.socket:
    """``socket.create_connection`` to ``host``:``port``, the name looked up as
    ``lookup_name`` says (for targets and probes; the jumphost has ``connect_tcp``)."""
    address = (lookup_name(host), port)  # bytes or text: as getaddrinfo takes them
    return socket.create_connection(address, timeout=timeout)  # type: ignore[arg-type]


def _resolve(
    endpoint: Endpoint, timeout: float, cancel: threading.Event | None, failed: Failed
) -> list[Any]:
    """getaddrinfo on a helper thread so a hung resolver cannot hold up a stop."""
    answer: list[Any] = []

    def lookup() -> None:
        try:
            answer.append(
                socket.getaddrinfo(
                    lookup_name(endpoint.host), endpoint.port, type=socket.SOCK_STREAM
                )
            )
        except OSError as exc:
            answer.append(exc)

    thread = threading.Thread(target=lookup, name="resolve", daemon=True)
    thread.start()
    deadline = time.monotonic() + timeout
    while thread.is_alive() and time.monotonic() < deadline:
        if cancel is not None and cancel.is_set():
            raise failed("cancelled")
        thread.join(0.1)
    if not answer:
        raise failed(f"name lookup took longer than {timeout:g} s")
    result = answer[0]
    if isinstance(result, socket.gaierror):
        raise failed(f"name lookup failed ({result.strerror})")
    if isinstance(result, OSError):
        raise failed(result.strerror or str(result))
    return list(result)


def connect_tcp(
    endpoint: Endpoint,
    timeout: float,
    cancel: threading.Event | None = None,
    failed: Failed | None = None,
) -> socket.socket:
    """Open a TCP connection to ``endpoint``, trying each address it resolves to in turn
    (the time left is shared among them); ``cancel`` aborts within 0.1 s. Raises what
    ``failed`` makes (by default JumphostUnreachable)."""
    failed = failed or endpoint.unreachable
    deadline = time.monotonic() + timeout
    infos = _resolve(endpoint, timeout, cancel, failed)
    last_error = "no address to connect to"
    for index, (family, socktype, proto, _name, address) in enumerate(infos):
        remaining_addresses = len(infos) - index
        share = max(0.0, deadline - time.monotonic()) / remaining_addresses
        try:
            sock = _connect_one(family, socktype, proto, address, share, cancel)
        except _Cancelled:
            raise failed("cancelled") from None
        except TimeoutError:
            last_error = f"no answer within {timeout:g} s"
            continue
        except OSError as exc:
            last_error = exc.strerror or str(exc)
            continue
        sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        return sock
    raise failed(last_error)


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
