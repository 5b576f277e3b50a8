"""The paramiko adapter: keys with and without passphrases, dialling, handshake failures."""

from __future__ import annotations

import socket
import subprocess
import threading
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from app import ssh
from app.errors import (
    HandshakeFailed,
    JumphostUnreachable,
    KeyPassphraseNeeded,
    KeyPassphraseWrong,
    KeyUnreadable,
)
from app.ssh import tcp
from tests.support import firewall
from tests.support.net import TcpServer, free_port, tcp_server


def keygen(path: Path, key_type: str, passphrase: str, *extra: str) -> Path:
    subprocess.run(
        ["ssh-keygen", "-q", "-t", key_type, "-N", passphrase, "-C", "k", "-f", str(path), *extra],
        check=True,
    )
    return path


@pytest.mark.parametrize(
    ("key_type", "extra"),
    [("ed25519", ()), ("ecdsa", ()), ("rsa", ("-b", "2048")), ("rsa", ("-b", "2048", "-m", "PEM"))],
    ids=["ed25519", "ecdsa", "rsa-openssh", "rsa-pem"],
)
def test_passphrase_protected_keys(tmp_path: Path, key_type: str, extra: tuple[str, ...]) -> None:
    path = keygen(tmp_path / "key", key_type, "correct horse", *extra)
    with pytest.raises(KeyPassphraseNeeded):
        ssh.load_private_key(path)
    with pytest.raises(KeyPassphraseWrong, match="the passphrase for key warehouse is wrong"):
        ssh.load_private_key(path, "battery staple", name="warehouse")
    key = ssh.load_private_key(path, "correct horse")
    expected = subprocess.run(
        ["ssh-keygen", "-lf", f"{path}.pub"], capture_output=True, text=True, check=True
    ).stdout.split()[1]
    assert ssh.fingerprint(key) == expected


def test_a_passphrase_for_an_unencrypted_key_is_ignored(tmp_path: Path) -> None:
    path = keygen(tmp_path / "key", "ed25519", "")
    assert ssh.load_private_key(path, "anything").get_name() == "ssh-ed25519"


def test_files_that_are_not_keys(tmp_path: Path) -> None:
    junk = tmp_path / "junk"
    junk.write_text("hello")
    with pytest.raises(KeyUnreadable, match="not a private key"):
        ssh.load_private_key(junk)
    with pytest.raises(KeyUnreadable, match="folder"):
        ssh.load_private_key(tmp_path)
    public = keygen(tmp_path / "k", "ed25519", "")
    with pytest.raises(KeyUnreadable, match="not a private key"):
        ssh.load_private_key(f"{public}.pub")


@pytest.fixture
def silent() -> Iterator[TcpServer]:
    """Accepts TCP and never says a word."""
    release = threading.Event()
    with tcp_server(lambda conn: release.wait(60)) as server:
        yield server
        release.set()


def test_a_silent_server_is_a_handshake_failure_not_a_crash(silent: TcpServer) -> None:
    endpoint = ssh.Endpoint("127.0.0.1", silent.port)
    started = time.monotonic()
    with pytest.raises((HandshakeFailed, JumphostUnreachable)) as info:
        ssh.fetch_host_key(endpoint, [], timeout=2)
    assert time.monotonic() - started < 15
    assert "127.0.0.1" in str(info.value)


def test_a_non_ssh_server_is_named_as_such() -> None:
    def http(conn: socket.socket) -> None:
        conn.sendall(b"HTTP/1.1 400 Bad Request\r\nContent-Length: 0\r\n\r\n")
        conn.close()

    with (
        tcp_server(http) as server,
        pytest.raises(HandshakeFailed, match="did not answer like an SSH server"),
    ):
        ssh.fetch_host_key(ssh.Endpoint("127.0.0.1", server.port), [], timeout=5)


def test_dial_refused_and_cancelled() -> None:
    with pytest.raises(JumphostUnreachable, match="refused"):
        ssh.dial(ssh.Endpoint("127.0.0.1", free_port()), 5)
    cancel = threading.Event()
    cancel.set()
    with pytest.raises(JumphostUnreachable, match="cancelled"):
        ssh.dial(ssh.Endpoint("localhost", free_port()), 5, cancel)


@pytest.mark.skipif(not firewall.available(), reason="iptables needs root (CI runs as root)")
def test_dial_moves_on_when_the_first_address_is_a_black_hole(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    with tcp_server(lambda conn: None) as live, firewall.blackhole() as hole:
        dead_port = free_port()
        hole.port(dead_port)
        # a name with a dead address first and a live one second (a broken IPv6 path, say)
        answers = [
            (socket.AF_INET, socket.SOCK_STREAM, 6, "", ("127.0.0.1", dead_port)),
            (socket.AF_INET, socket.SOCK_STREAM, 6, "", ("127.0.0.1", live.port)),
        ]
        monkeypatch.setattr(tcp, "_resolve", lambda endpoint, timeout, cancel, failed: answers)
        started = time.monotonic()
        sock = ssh.dial(ssh.Endpoint("jumphost.example", 22), 4)
        sock.close()
        assert time.monotonic() - started < 4
    assert live.accepted == 1


@pytest.mark.skipif(not firewall.available(), reason="iptables needs root (CI runs as root)")
def test_cancel_interrupts_a_connect_into_a_black_hole() -> None:
    with firewall.blackhole() as hole:
        port = free_port()
        hole.port(port)
        cancel = threading.Event()
        threading.Timer(0.5, cancel.set).start()
        started = time.monotonic()
        with pytest.raises(JumphostUnreachable, match="cancelled"):
            ssh.dial(ssh.Endpoint("127.0.0.1", port), 30, cancel)
        assert time.monotonic() - started < 3


def test_the_transport_polls_its_socket_once_a_second_not_ten_times() -> None:
    # The idle-CPU fix rides on a paramiko class attribute; if paramiko stops reading it,
    # the socket timeout falls back to its 0.1 s and this fails.
    ours, theirs = socket.socketpair()
    with ours, theirs:
        transport = ssh.GuardedTransport(ours)
        try:
            assert ours.gettimeout() == 1.0
        finally:
            transport.close()
