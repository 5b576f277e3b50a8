"""Flooding a Tunnelkeeper client from a hostile jumphost, and reading what it costs."""

from __future__ import annotations

import contextlib
import json
import socket
import subprocess
import threading
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import paramiko
from paramiko.common import cMSG_CHANNEL_DATA, cMSG_CHANNEL_EXTENDED_DATA

MIB = 1024 * 1024
REMOTE_PORT = 40000


def rss(pid: int) -> tuple[int, int]:
    """(current, peak) resident set size of ``pid`` in bytes."""
    fields = {}
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        name, _, value = line.partition(":")
        fields[name] = value
    return int(fields["VmRSS"].split()[0]) * 1024, int(fields["VmHWM"].split()[0]) * 1024


class StalledTarget:
    """Accepts connections and never reads them (a wedged database), with small buffers."""

    def __init__(self) -> None:
        self._listener = socket.socket()
        self._listener.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 4096)
        self._listener.bind(("127.0.0.1", 0))
        self._listener.listen(1024)
        self.port: int = self._listener.getsockname()[1]
        self.accepted: list[socket.socket] = []
        self._thread = threading.Thread(target=self._serve, daemon=True)
        self._thread.start()

    def _serve(self) -> None:
        while True:
            try:
                conn, _ = self._listener.accept()
            except OSError:
                return
            self.accepted.append(conn)

    def close(self) -> None:
        with contextlib.suppress(OSError):
            self._listener.shutdown(socket.SHUT_RDWR)  # wakes the accept (close does not)
        self._listener.close()
        self._thread.join(5)
        for conn in self.accepted:
            conn.close()


class Client:
    """`tunnelkeeper run hostile --events json` against ``hostile``; events read on a thread."""

    def __init__(self, proc: subprocess.Popen[str]) -> None:
        self.proc = proc
        self.events: list[dict[str, Any]] = []
        self._lock = threading.Lock()
        self._thread = threading.Thread(target=self._read, daemon=True)
        self._thread.start()

    def _read(self) -> None:
        assert self.proc.stdout is not None
        for line in self.proc.stdout:
            with contextlib.suppress(ValueError), self._lock:
                self.events.append(json.loads(line))

    def wait_for(self, predicate: Callable[[dict[str, Any]], bool], timeout: float) -> bool:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            with self._lock:
                if any(predicate(event) for event in self.events):
                    return True
            if self.proc.poll() is not None:
                return False
            time.sleep(0.05)
        return False


def open_channels(transport: Any, count: int) -> list[Any]:
    channels = []
    for _ in range(count):
        channel = transport.open_forwarded_tcpip_channel(
            ("203.0.113.9", 5555), ("localhost", REMOTE_PORT)
        )
        channel.settimeout(0.0)
        channels.append(channel)
    return channels


def push_to_the_window(
    channels: list[Any], chunk: bytes, seconds: float, settle: float = 2.0
) -> int:
    """Send on every channel as much as its window allows, until every window stays shut
    for ``settle`` s or ``seconds`` pass; returns the bytes sent."""
    sent = 0
    deadline = time.monotonic() + seconds
    shut_since: float | None = None
    while time.monotonic() < deadline:
        progress = False
        for channel in channels:
            try:
                n = channel.send(chunk)
            except (TimeoutError, OSError):
                continue
            sent += n
            progress = progress or n > 0
        if progress:
            shut_since = None
        elif shut_since is None:
            shut_since = time.monotonic()
        elif time.monotonic() - shut_since > settle:
            break
        else:
            time.sleep(0.01)
    return sent


def raw_data(chanid: int, payload: bytes, extended: bool = False) -> paramiko.Message:
    """CHANNEL_DATA (or EXTENDED_DATA, as stderr) built by hand: sent this way, it ignores
    the window the client granted."""
    message = paramiko.Message()
    if extended:
        message.add_byte(cMSG_CHANNEL_EXTENDED_DATA)
        message.add_int(chanid)
        message.add_int(1)  # SSH_EXTENDED_DATA_STDERR
    else:
        message.add_byte(cMSG_CHANNEL_DATA)
        message.add_int(chanid)
    message.add_string(payload)
    return message
