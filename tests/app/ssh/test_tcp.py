"""Dialling the jumphost: names are looked up without Python's IDNA codec where they can be."""

from __future__ import annotations

import socket

from app.ssh.tcp import Endpoint, connect_tcp, lookup_name
from tests.support.net import TcpServer, echo_handler, recv_exact


def test_ascii_names_and_addresses_are_looked_up_as_bytes() -> None:
    assert lookup_name("127.0.0.1") == b"127.0.0.1"
    assert lookup_name("jump.example.com") == b"jump.example.com"
    assert lookup_name("::1") == b"::1"
    assert lookup_name("bücher.example") == "bücher.example"  # IDNA-encoded by Python


def test_a_jumphost_given_by_address_is_reached() -> None:
    server = TcpServer(echo_handler)
    try:
        with connect_tcp(Endpoint("127.0.0.1", server.port), timeout=10) as sock:
            sock.sendall(b"ping")
            assert recv_exact(sock, 4) == b"ping"
            assert sock.family == socket.AF_INET
    finally:
        server.stop()
