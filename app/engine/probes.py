"""Small waits the connection test makes on sockets, channels and counters."""

from __future__ import annotations

import socket
import threading
import time
from collections.abc import Callable

from app import ssh


def read_some(sock: socket.socket, wait: float) -> bytes:
    sock.settimeout(wait)
    try:
        return sock.recv(512)
    except OSError:
        return b""


def read_channel(channel: ssh.StreamChannel, wait: float) -> bytes:
    channel.settimeout(wait)
    try:
        return bytes(channel.recv(512))
    except Exception:
        return b""


def wait_for(predicate: Callable[[], bool], timeout: float) -> bool:
    done = threading.Event()
    deadline = time.monotonic() + timeout
    while not predicate():
        if time.monotonic() >= deadline:
            return False
        done.wait(0.05)
    return True
