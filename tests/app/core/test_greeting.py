"""Recognising services from their first bytes."""

from __future__ import annotations

import struct

from hypothesis import given
from hypothesis import strategies as st

from app.core.greeting import POSTGRES_SSL_REQUEST, identify_greeting, identify_postgres_reply


def mysql_handshake(version: bytes) -> bytes:
    body = b"\x0a" + version + b"\x00" + b"\x01\x00\x00\x00" + b"abcdefgh\x00" + b"\xff\xf7"
    return struct.pack("<I", len(body))[:3] + b"\x00" + body


def test_ssh_banner() -> None:
    assert identify_greeting(b"SSH-2.0-OpenSSH_9.2p1 Debian-2\r\n") == (
        "SSH server (SSH-2.0-OpenSSH_9.2p1 Debian-2)"
    )


def test_mariadb_and_mysql_handshakes() -> None:
    assert identify_greeting(mysql_handshake(b"5.5.5-10.11.6-MariaDB-0+deb12u1")) == (
        "MariaDB server 5.5.5-10.11.6-MariaDB-0+deb12u1"
    )
    assert identify_greeting(mysql_handshake(b"8.0.36")) == "MySQL server 8.0.36"


def test_mysql_error_packet_is_still_mysql() -> None:
    body = b"\xff\x6a\x04Host '1.2.3.4' is not allowed to connect"
    packet = struct.pack("<I", len(body))[:3] + b"\x00" + body
    assert "refused this client" in (identify_greeting(packet) or "")


def test_postgres_ssl_request_and_reply() -> None:
    assert POSTGRES_SSL_REQUEST == b"\x00\x00\x00\x08\x04\xd2\x16\x2f"
    assert identify_postgres_reply(b"S") == "PostgreSQL server (answered an SSLRequest)"
    assert identify_postgres_reply(b"N") is not None
    assert identify_postgres_reply(b"E") is None


def test_unknown_bytes() -> None:
    assert identify_greeting(b"HTTP/1.1 400 Bad Request\r\n") is None
    assert identify_greeting(b"") is None


@given(st.binary(max_size=300))
def test_never_raises_on_arbitrary_bytes(data: bytes) -> None:
    result = identify_greeting(data)
    assert result is None or isinstance(result, str)
