"""A jumphost that abuses the greeting or stalls a key exchange costs bounded time and CPU."""

from __future__ import annotations

import contextlib
import resource
import socket
import threading
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import paramiko
import pytest

from app import ssh
from app.core.events import State
from app.errors import HandshakeFailed
from app.storage.paths import AppPaths
from tests.conftest import EventLog
from tests.support.cli import tk
from tests.support.fake_jumphost import HostileJumphost, tunnel_against
from tests.support.net import TcpServer, echo_handler, tcp_server

Greeter = Callable[[socket.socket], None]


class _GreetingServer:
    """A TCP server that answers each client with ``greet`` (bounded by the test)."""

    def __init__(self, greet: Greeter) -> None:
        self._greet = greet
        self._listener = socket.socket()
        self._listener.bind(("127.0.0.1", 0))
        self._listener.listen(8)
        self.port: int = self._listener.getsockname()[1]
        self.stop = threading.Event()
        self._thread = threading.Thread(target=self._serve, daemon=True)
        self._thread.start()

    def _serve(self) -> None:
        while not self.stop.is_set():
            try:
                conn, _ = self._listener.accept()
            except OSError:
                return
            threading.Thread(target=self._one, args=(conn,), daemon=True).start()

    def _one(self, conn: socket.socket) -> None:
        with conn, contextlib.suppress(OSError):
            self._greet(conn)

    def close(self) -> None:
        self.stop.set()
        with contextlib.suppress(OSError):
            self._listener.shutdown(socket.SHUT_RDWR)  # wakes the accept (close does not)
        self._listener.close()
        self._thread.join(5)


@pytest.fixture
def greeting_server() -> Iterator[Callable[[Greeter], _GreetingServer]]:
    servers: list[_GreetingServer] = []

    def make(greet: Greeter) -> _GreetingServer:
        server = _GreetingServer(greet)
        servers.append(server)
        return server

    yield make
    for server in servers:
        server.close()


def _handshake(port: int, timeout: float = 5.0) -> None:
    endpoint = ssh.Endpoint("127.0.0.1", port)
    sock = ssh.dial(endpoint, timeout)
    try:
        ssh.start_transport(ssh.WatchedSocket(sock), endpoint, [], timeout).close()
    finally:
        sock.close()


def test_an_endless_greeting_line_is_refused_at_once_in_linear_time(
    greeting_server: Callable[[Greeter], _GreetingServer], tk_home: AppPaths, client_key: Path
) -> None:
    """Issue 13 item 4: a line with no end kept the client at 100 % CPU until its timeout."""

    def endless(conn: socket.socket) -> None:
        line = b"A" * 65536
        deadline = time.monotonic() + 30
        while time.monotonic() < deadline and not server.stop.is_set():
            conn.sendall(line)

    server = greeting_server(endless)
    added = tk(
        "add", "endless", "--jumphost", "127.0.0.1", "--ssh-port", str(server.port),
        "--user", "u", "--remote-port", "40000", "--target", "127.0.0.1:5432",
        "--key", str(client_key),
    )  # fmt: skip
    assert added.returncode == 0, added.stderr
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    started = time.monotonic()
    result = tk("trust", "endless", "--yes")
    wall = time.monotonic() - started
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    cpu = (after.ru_utime - before.ru_utime) + (after.ru_stime - before.ru_stime)
    assert result.returncode != 0
    assert "longer than 8192 bytes" in result.stderr, result.stderr
    assert "\x1b" not in result.stderr
    # the timeout is 10 s; refusing at 8 KiB takes a fraction of a second plus start-up
    assert wall < 8, wall
    assert cpu < 6, cpu


def test_too_many_lines_before_the_greeting_are_refused(
    greeting_server: Callable[[Greeter], _GreetingServer],
) -> None:
    def chatty(conn: socket.socket) -> None:
        conn.sendall(b"hello there\r\n" * 2000 + b"SSH-2.0-late\r\n")
        server.stop.wait(10)

    server = greeting_server(chatty)
    with pytest.raises(HandshakeFailed, match="1024 lines without an SSH greeting"):
        _handshake(server.port)


def test_a_greeting_then_silence_says_no_ssh_answer(
    greeting_server: Callable[[Greeter], _GreetingServer],
) -> None:
    """Issue 13 item 12: this was "failed: EOFError"."""

    def mute(conn: socket.socket) -> None:
        conn.sendall(b"SSH-2.0-OpenSSH_9.2\r\n")
        server.stop.wait(15)

    server = greeting_server(mute)
    with pytest.raises(HandshakeFailed) as caught:
        _handshake(server.port, timeout=2.0)
    assert "no SSH answer within 2 s" in str(caught.value)
    assert "EOFError" not in str(caught.value)


def test_a_slow_trickle_greeting_is_bounded_by_one_deadline(
    greeting_server: Callable[[Greeter], _GreetingServer],
) -> None:
    """paramiko gave each line (and each read) its own timeout: a line a second ran on."""

    def trickle(conn: socket.socket) -> None:
        for _ in range(30):
            conn.sendall(b"wait for it\r\n")
            if server.stop.wait(0.5):
                return

    server = greeting_server(trickle)
    started = time.monotonic()
    with pytest.raises(HandshakeFailed, match="no SSH answer within 2 s"):
        _handshake(server.port, timeout=2.0)
    assert time.monotonic() - started < 6


# --- a key exchange the jumphost never finishes ------------------------------------


def _stall_key_exchanges(transport: Any) -> None:
    """From now on the server drops every key-exchange message the client sends, so a
    rekey it starts never finishes."""
    for ptype in (20, 21, *range(30, 42)):
        transport._handler_table[ptype] = lambda m: None


def _ignore_message() -> paramiko.Message:
    message = paramiko.Message()
    message.add_byte(bytes([2]))  # MSG_IGNORE
    message.add_string(b"still here")
    return message


def _stall_rekey(transport: Any, server: HostileJumphost, then_close: bool) -> None:
    assert server.forward_requested.wait(30)
    assert server.results["connected"].wait(30)  # set by the test on CONNECTED
    _stall_key_exchanges(transport)
    transport._send_kex_init()
    deadline = time.monotonic() + 90
    while transport.is_active() and time.monotonic() < deadline:
        if then_close:
            time.sleep(1)
            transport.sock.shutdown(socket.SHUT_RDWR)
            transport.sock.close()
            return
        transport._send_message(_ignore_message())  # bypasses the key exchange's hold
        time.sleep(1)


def _stalling(then_close: bool) -> HostileJumphost:
    hostile = HostileJumphost(lambda t, s: _stall_rekey(t, s, then_close))
    hostile.results["connected"] = threading.Event()
    return hostile


@pytest.fixture
def target() -> Iterator[TcpServer]:
    with tcp_server(echo_handler) as server:
        yield server


def _lost_within(events: EventLog, hostile: HostileJumphost, seconds: float) -> tuple[float, str]:
    events.wait_for(State.CONNECTED)
    hostile.results["connected"].set()
    started = time.monotonic()
    lost = events.wait_for(State.RETRYING, timeout=seconds)
    return time.monotonic() - started, lost.detail


def test_ignores_during_a_stalled_rekey_do_not_keep_the_link_alive(
    tk_home: AppPaths, events: EventLog, client_key: Path, target: TcpServer
) -> None:
    """Issue 13 item 5: IGNORE every second kept the tunnel "connected" for 77 s and more."""
    hostile = _stalling(then_close=False)
    tunnel = tunnel_against(
        hostile, tk_home, events, client_key, target.port, keepalive_interval=3,
        keepalive_count_max=2, kex_deadline=300.0,
    )  # fmt: skip
    try:
        took, detail = _lost_within(events, hostile, 45)
    finally:
        assert tunnel.stop()
        hostile.close()
    # liveness: (2 + 1) * 3 s after the last packet that proved progress
    assert took < 30
    assert "no reply from the jumphost" in detail


def test_a_key_exchange_past_its_deadline_declares_the_link_lost(
    tk_home: AppPaths, events: EventLog, client_key: Path, target: TcpServer
) -> None:
    hostile = _stalling(then_close=False)
    tunnel = tunnel_against(
        hostile, tk_home, events, client_key, target.port, keepalive_interval=600,
        kex_deadline=4.0,
    )  # fmt: skip
    try:
        took, detail = _lost_within(events, hostile, 45)
    finally:
        assert tunnel.stop()
        hostile.close()
    assert took < 30
    assert "did not finish a key exchange within 4 s" in detail


def test_a_link_dropped_mid_rekey_says_so(
    tk_home: AppPaths, events: EventLog, client_key: Path, target: TcpServer
) -> None:
    """Issue 13 item 12: this was "was lost ()"."""
    hostile = _stalling(then_close=True)
    tunnel = tunnel_against(hostile, tk_home, events, client_key, target.port)
    try:
        _took, detail = _lost_within(events, hostile, 45)
    finally:
        assert tunnel.stop()
        hostile.close()
    assert "()" not in detail
    assert "was lost (" in detail
    assert "during a key exchange" in detail
