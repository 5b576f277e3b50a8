"""The tunnel engine against a real OpenSSH jumphost and real target sockets."""

from __future__ import annotations

import hashlib
import os
import socket
import threading
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import pytest

from app import ssh
from app.engine import Tunnel
from app.events import State
from app.paths import AppPaths
from tests.conftest import EventLog, Jumphost
from tests.support.net import (
    TcpServer,
    echo_handler,
    port_is_listening,
    recv_all,
    recv_exact,
    tcp_server,
    wait_until,
)


@pytest.fixture
def echo() -> Iterator[TcpServer]:
    with tcp_server(echo_handler) as server:
        yield server


def start_tunnel(jumphost: Jumphost, tk_home: AppPaths, events: EventLog, target_port: int, **kw: object) -> Tunnel:
    jumphost.pin(tk_home)
    profile = jumphost.profile(target_port, **kw)
    tunnel = Tunnel(profile, ssh.load_private_key(profile.key_path), tk_home.known_hosts_file, events)
    tunnel.start()
    return tunnel


@pytest.fixture
def running(jumphost: Jumphost, tk_home: AppPaths, events: EventLog, echo: TcpServer) -> Iterator[Tunnel]:
    tunnel = start_tunnel(jumphost, tk_home, events, echo.port)
    try:
        events.wait_for(State.CONNECTED)
        yield tunnel
    finally:
        assert tunnel.stop(), "the tunnel did not stop within 5 s"


def vendor_connect(jumphost: Jumphost) -> socket.socket:
    """What the vendor's pipeline does: connect to the allocated port on the jumphost."""
    return socket.create_connection(("127.0.0.1", jumphost.remote_port), timeout=30)


def test_round_trip_through_the_tunnel(running: Tunnel, jumphost: Jumphost) -> None:
    with vendor_connect(jumphost) as conn:
        conn.sendall(b"hello through the tunnel")
        assert recv_exact(conn, 24) == b"hello through the tunnel"
