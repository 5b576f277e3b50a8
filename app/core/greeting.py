"""Recognising what answers on a target port from its first bytes (pure logic)."""

from __future__ import annotations

import struct

# PostgreSQL's SSLRequest: length 8, code 1234.5679; the server answers one byte, S or N.
POSTGRES_SSL_REQUEST = struct.pack("!II", 8, 80877103)


def identify_greeting(data: bytes) -> str | None:
    """Name the service that sent ``data`` unprompted, or None if unknown."""
    if data.startswith(b"SSH-"):
        line = data.split(b"\r\n", 1)[0].split(b"\n", 1)[0]
        return f"SSH server ({line.decode('ascii', 'replace')})"
    mysql = _mysql_version(data)
    if mysql is not None:
        flavour = "MariaDB" if "mariadb" in mysql.lower() else "MySQL"
        return f"{flavour} server {mysql}"
    if data.startswith(b"220"):
        return "an FTP or SMTP server (220 greeting)"
    return None


def _mysql_version(data: bytes) -> str | None:
    """A MySQL/MariaDB initial handshake: 3-byte length, sequence 0, protocol 10, version."""
    if len(data) < 6:
        return None
    length = data[0] | data[1] << 8 | data[2] << 16
    if data[3] != 0 or length < 2:
        return None
    if data[4] == 0xFF:  # an error packet instead (e.g. "host is not allowed to connect")
        return "(it refused this client: error packet)"
    if data[4] != 10:
        return None
    end = data.find(b"\x00", 5)
    if end < 0:
        return None
    version = data[5:end].decode("ascii", "replace")
    return version if version and version[0].isdigit() else None


def identify_postgres_reply(reply: bytes) -> str | None:
    if reply in (b"S", b"N"):
        return "PostgreSQL server (answered an SSLRequest)"
    return None
