"""Real-world scenarios end to end: MariaDB over the tunnel, and a chrooted SFTP share behind it."""

from __future__ import annotations

import base64
import contextlib
import datetime as dt
import getpass
import hashlib
import io
import os
import random
import shutil
import socket
import tempfile
from collections.abc import Iterator
from dataclasses import dataclass
from decimal import Decimal
from pathlib import Path
from typing import Any

import paramiko
import pytest

from app.core.events import State
from app.engine.tunnel import Tunnel
from app.storage.paths import AppPaths
from tests.conftest import EventLog, Jumphost, start_tunnel
from tests.support.mariadb import MariaDB
from tests.support.net import wait_until
from tests.support.sshd import Sshd, ssh_keygen

pytestmark = [pytest.mark.slow, pytest.mark.integration]

IS_ROOT = os.geteuid() == 0
ROW_COUNT = 10_000
UPLOAD_SIZE = 4 * 1024 * 1024 + 12_345  # a few MiB, deliberately not a multiple of any block


# --- the tunnel -----------------------------------------------------------------------


@contextlib.contextmanager
def tunnel_to(
    jumphost: Jumphost, tk_home: AppPaths, events: EventLog, target_port: int
) -> Iterator[Tunnel]:
    """A connected tunnel from the jumphost's allocated port to ``target_port``; stopped after."""
    tunnel = start_tunnel(jumphost, tk_home, events, target_port)
    try:
        events.wait_for(State.CONNECTED)
        yield tunnel
    finally:
        assert tunnel.stop(), "the tunnel did not stop within 5 s"


def settled_counters(tunnel: Tunnel, timeout: float = 10.0) -> dict[str, int]:
    """The tunnel's traffic figures once every forwarded connection has finished counting."""
    assert wait_until(lambda: tunnel.counters.snapshot()["active_connections"] == 0, timeout), (
        f"forwarded connections still open after {timeout:g} s: {tunnel.counters.snapshot()}"
    )
    return tunnel.counters.snapshot()


# --- scenario 1: a database reached through the tunnel ---------------------------------


Row = tuple[int, str, bytes, Decimal, dt.datetime | None, str | None]

_TEXTS = [
    "plain ascii",
    "Grüße aus Köln",
    "日本語のテキスト",
    "Ελληνικά και русский",
    "emoji 🚇🔐🧪 and a surrogate-free 𝄞",
    "quotes ' \" ` and a backslash \\ and %s %(x)s",
    "tab\tnewline\ncarriage\rreturn",
    "nul \x00 inside",
    "",
    "trailing spaces   ",
    "zero\u200bwidth \ufeff bom",
    "-- not a comment; DROP TABLE rows;",
]
_EDGE_BLOBS = [b"", b"\x00", b"\x00" * 300, bytes(range(256)), b"'\\\"\x1a\r\n", b"\xff\xfe\xfd"]


def make_rows(count: int, seed: int = 20240607) -> list[Row]:
    """Deterministic, varied rows: unicode text, binary payloads, decimals, NULLs."""
    rng = random.Random(seed)
    base = dt.datetime(2024, 1, 1, 0, 0, 0)
    rows: list[Row] = []
    for i in range(1, count + 1):
        label = f"{i:05d} {rng.choice(_TEXTS)}"
        if i % 17 == 0:
            payload = _EDGE_BLOBS[i % len(_EDGE_BLOBS)]
        else:
            payload = rng.randbytes(rng.randint(0, 1024))
        amount = Decimal(rng.randint(-(10**12), 10**12)).scaleb(-4)
        seen_at = None if i % 7 == 0 else base + dt.timedelta(microseconds=rng.getrandbits(45))
        note = None if i % 5 == 0 else rng.choice(_TEXTS) * rng.randint(0, 40)
        rows.append((i, label, payload, amount, seen_at, note))
    return rows


def first_difference(expected: list[Row], actual: list[Any]) -> str:
    for index, (want, got) in enumerate(zip(expected, actual, strict=False)):
        if tuple(got) != want:
            return f"row {index}: expected {want!r}, got {tuple(got)!r}"
    return f"lengths differ: expected {len(expected)}, got {len(actual)}"


def test_mariadb_through_the_tunnel(
    mariadb: MariaDB, jumphost: Jumphost, tk_home: AppPaths, events: EventLog
) -> None:
    database = "vendor_feed"
    rows = make_rows(ROW_COUNT)
    payload_bytes = sum(len(r[2]) for r in rows)

    with tunnel_to(jumphost, tk_home, events, mariadb.port) as tunnel:
        # The vendor only knows the port it allocated on its jumphost.
        conn = mariadb.connect(port=jumphost.remote_port)
        try:
            with conn.cursor() as cursor:
                cursor.execute(f"DROP DATABASE IF EXISTS {database}")
                cursor.execute(f"CREATE DATABASE {database} CHARACTER SET utf8mb4")
                cursor.execute(
                    f"""CREATE TABLE {database}.readings (
                        id INT PRIMARY KEY,
                        label VARCHAR(255) CHARACTER SET utf8mb4 COLLATE utf8mb4_bin NOT NULL,
                        payload BLOB NOT NULL,
                        amount DECIMAL(20, 4) NOT NULL,
                        seen_at DATETIME(6) NULL,
                        note MEDIUMTEXT CHARACTER SET utf8mb4 COLLATE utf8mb4_bin NULL
                    ) ENGINE=InnoDB"""
                )
                inserted = cursor.executemany(
                    f"INSERT INTO {database}.readings"
                    " (id, label, payload, amount, seen_at, note)"
                    " VALUES (%s, %s, %s, %s, %s, %s)",
                    rows,
                )
                assert inserted == ROW_COUNT
            conn.commit()

            with conn.cursor() as cursor:
                cursor.execute(
                    f"SELECT id, label, payload, amount, seen_at, note"
                    f" FROM {database}.readings ORDER BY id"
                )
                back = list(cursor.fetchall())
            assert len(back) == ROW_COUNT
            assert [tuple(r) for r in back] == rows, first_difference(rows, back)
        finally:
            conn.close()

        # It really went through the tunnel: at least every payload byte, both ways.
        traffic = settled_counters(tunnel)
        assert traffic["total_connections"] >= 1
        assert traffic["bytes_to_target"] > payload_bytes
        assert traffic["bytes_to_vendor"] > payload_bytes
        assert traffic["target_failures"] == 0

    # And it landed in the real server, seen directly rather than through the tunnel.
    direct = mariadb.connect()
    try:
        with direct.cursor() as cursor:
            cursor.execute(
                f"SELECT COUNT(*), SUM(LENGTH(payload)), SUM(note IS NULL) FROM {database}.readings"
            )
            summary = cursor.fetchone()
            assert summary is not None
            count, total, nulls = summary
            assert (count, int(total), int(nulls)) == (
                ROW_COUNT,
                payload_bytes,
                sum(r[5] is None for r in rows),
            )
            cursor.execute(f"DROP DATABASE {database}")
    finally:
        direct.close()


# --- scenario 2: the Windows box's SFTP share, reached through the tunnel -----------------


def _root_only_path(path: Path) -> bool:
    """True when ``path`` and every parent are root-owned and not group/other-writable."""
    for part in (path, *path.parents):
        info = part.stat()
        if info.st_uid != 0 or info.st_mode & 0o022:
            return False
    return True


def _chroot_parent(tmp_path: Path) -> Path:
    """A folder sshd accepts for a ChrootDirectory beneath it (/tmp itself is 1777)."""
    for candidate in (tmp_path, Path("/run"), Path("/srv"), Path("/opt"), Path("/mnt")):
        resolved = candidate.resolve()
        if resolved.is_dir() and os.access(resolved, os.W_OK) and _root_only_path(resolved):
            return resolved
    pytest.fail("no root-owned, non-world-writable folder to put the SFTP chroot in")


@dataclass
class SftpShare:
    """A second sshd that only speaks SFTP for our user, rooted at ``root``."""

    sshd: Sshd
    root: Path
    key: Path
    chrooted: bool

    @property
    def out(self) -> Path:
        return self.root / "out"

    @property
    def remote_out(self) -> str:
        """Where the vendor writes: ``/out`` inside the chroot, else relative to the start dir."""
        return "/out" if self.chrooted else "out"

    def host_key(self) -> paramiko.PKey:
        key_type, blob = Path(f"{self.sshd.host_key}.pub").read_text().split()[:2]
        return paramiko.PKey.from_type_string(key_type, base64.b64decode(blob))


@pytest.fixture
def sftp_share(tmp_path: Path) -> Iterator[SftpShare]:
    key = ssh_keygen(tmp_path / "id_sftp_worker", comment="vendor-sftp-worker")
    made_root: Path | None = None
    sshd: Sshd | None = None
    try:
        if IS_ROOT:
            made_root = Path(tempfile.mkdtemp(prefix="tk-sftp-", dir=_chroot_parent(tmp_path)))
            root = made_root
            root.chmod(0o755)
            match_lines = f"    ForceCommand internal-sftp\n    ChrootDirectory {root}\n"
        else:
            root = tmp_path / "share"
            root.mkdir()
            match_lines = f"    ForceCommand internal-sftp -d {root}\n"
        (root / "out").mkdir(mode=0o755)
        sshd = Sshd(
            tmp_path / "sftp-sshd",
            extra_config=(
                "Subsystem sftp internal-sftp\n"
                f"Match User {getpass.getuser()}\n"
                f"{match_lines}"
                "    AllowTcpForwarding no\n"
                "    X11Forwarding no\n"
            ),
        )
        sshd.authorize(key, "")
        sshd.start()
        yield SftpShare(sshd, root, key, chrooted=IS_ROOT)
    finally:
        if sshd is not None:
            sshd.stop()
        if made_root is not None:
            shutil.rmtree(made_root, ignore_errors=True)


@contextlib.contextmanager
def vendor_sftp(port: int, share: SftpShare) -> Iterator[paramiko.SFTPClient]:
    """The vendor's worker: SSH to the jumphost's allocated port, check the key, open SFTP."""
    sock = socket.create_connection(("127.0.0.1", port), timeout=30)
    transport = paramiko.Transport(sock)
    try:
        transport.banner_timeout = 30
        transport.handshake_timeout = 30
        transport.auth_timeout = 30
        # hostkey= makes paramiko refuse anything but the share's own sshd.
        transport.connect(
            hostkey=share.host_key(),
            username=share.sshd.user,
            pkey=paramiko.PKey.from_path(share.key),
        )
        sftp = paramiko.SFTPClient.from_transport(transport)
        assert sftp is not None
        channel = sftp.get_channel()
        assert channel is not None
        channel.settimeout(60)
        try:
            yield sftp
        finally:
            sftp.close()
    finally:
        transport.close()
        sock.close()


def test_sftp_upload_to_the_windows_share_through_the_tunnel(
    sftp_share: SftpShare, jumphost: Jumphost, tk_home: AppPaths, events: EventLog
) -> None:
    data = os.urandom(UPLOAD_SIZE)
    digest = hashlib.sha256(data).hexdigest()
    name = "daily-extract-2024-06-07.bin"
    remote = f"{sftp_share.remote_out}/{name}"

    with tunnel_to(jumphost, tk_home, events, sftp_share.sshd.port) as tunnel:
        with vendor_sftp(jumphost.remote_port, sftp_share) as sftp:
            if sftp_share.chrooted:
                # The vendor sees the share as the whole file system, nothing above it.
                assert sftp.normalize(".") == "/"
                assert sftp.listdir("/") == ["out"]
            attrs = sftp.putfo(io.BytesIO(data), remote, file_size=len(data), confirm=True)
            assert attrs.st_size == len(data)
            assert name in sftp.listdir(sftp_share.remote_out)
            back = io.BytesIO()
            sftp.getfo(remote, back)
            assert hashlib.sha256(back.getvalue()).hexdigest() == digest

        traffic = settled_counters(tunnel)
        assert traffic["total_connections"] == 1
        assert traffic["bytes_to_target"] > len(data)
        assert traffic["bytes_to_vendor"] > len(data)
        assert traffic["target_failures"] == 0

    on_disk = sftp_share.out / name
    assert on_disk.is_file(), f"{on_disk} missing; sftp sshd log:\n{sftp_share.sshd.log()}"
    assert on_disk.stat().st_size == len(data)
    assert hashlib.sha256(on_disk.read_bytes()).hexdigest() == digest
    assert f"Accepted publickey for {sftp_share.sshd.user} from 127.0.0.1" in sftp_share.sshd.log()
