"""TLS to an https:// proxy and the one-thread relay, against small loopback TLS servers."""

from __future__ import annotations

import datetime
import hashlib
import ipaddress
import os
import socket
import ssl
import threading
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import ExtendedKeyUsageOID, NameOID

from app.errors import ProxyTlsFailed, ProxyTrouble
from app.ssh.tls_relay import RELAY_CHUNK, TlsRelay, open_tls
from tests.support.net import TcpServer, recv_exact, tcp_server, wait_until

Handler = Callable[[ssl.SSLSocket], None]


@dataclass(frozen=True)
class Pki:
    ca: Path  # the certificate authority's certificate (PEM)
    other_ca: Path  # an authority that signed nothing here
    chain: Path  # the server's certificate, then its key (PEM)


def _name(common: str) -> x509.Name:
    return x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, common)])


def _authority(common: str) -> tuple[ec.EllipticCurvePrivateKey, x509.Certificate]:
    key = ec.generate_private_key(ec.SECP256R1())
    now = datetime.datetime.now(datetime.UTC)
    cert = (
        x509.CertificateBuilder()
        .subject_name(_name(common))
        .issuer_name(_name(common))
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - datetime.timedelta(days=1))
        .not_valid_after(now + datetime.timedelta(days=2))
        .add_extension(x509.BasicConstraints(ca=True, path_length=None), critical=True)
        .add_extension(
            x509.KeyUsage(False, False, False, False, False, True, True, False, False),
            critical=True,
        )
        .add_extension(x509.SubjectKeyIdentifier.from_public_key(key.public_key()), critical=False)
        .sign(key, hashes.SHA256())
    )
    return key, cert


def _pem(cert: x509.Certificate) -> bytes:
    return cert.public_bytes(serialization.Encoding.PEM)


@pytest.fixture(scope="module")
def pki(tmp_path_factory: pytest.TempPathFactory) -> Pki:
    """A company-style authority and a server certificate for IP 127.0.0.1 and localhost."""
    folder = tmp_path_factory.mktemp("pki")
    ca_key, ca_cert = _authority("Test Company CA")
    _, other = _authority("Someone Else CA")
    key = ec.generate_private_key(ec.SECP256R1())
    now = datetime.datetime.now(datetime.UTC)
    leaf = (
        x509.CertificateBuilder()
        .subject_name(_name("proxy.test"))
        .issuer_name(ca_cert.subject)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - datetime.timedelta(days=1))
        .not_valid_after(now + datetime.timedelta(days=2))
        .add_extension(
            x509.SubjectAlternativeName(
                [x509.IPAddress(ipaddress.ip_address("127.0.0.1")), x509.DNSName("localhost")]
            ),
            critical=False,
        )
        .add_extension(x509.ExtendedKeyUsage([ExtendedKeyUsageOID.SERVER_AUTH]), critical=False)
        .add_extension(
            x509.AuthorityKeyIdentifier.from_issuer_public_key(ca_key.public_key()), critical=False
        )
        .sign(ca_key, hashes.SHA256())
    )
    pki = Pki(folder / "ca.pem", folder / "other.pem", folder / "server.pem")
    pki.ca.write_bytes(_pem(ca_cert))
    pki.other_ca.write_bytes(_pem(other))
    key_pem = key.private_bytes(
        serialization.Encoding.PEM,
        serialization.PrivateFormat.PKCS8,
        serialization.NoEncryption(),
    )
    pki.chain.write_bytes(_pem(leaf) + key_pem)
    return pki


@pytest.fixture
def tls_server(pki: Pki) -> Iterator[Callable[[Handler], TcpServer]]:
    """Starts loopback TLS servers running ``handler(conn)`` per connection."""
    context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    context.load_cert_chain(pki.chain)
    servers: list[TcpServer] = []

    def start(handler: Handler) -> TcpServer:
        def on_tcp(conn: socket.socket) -> None:
            conn.settimeout(10)
            with context.wrap_socket(conn, server_side=True) as tls:
                handler(tls)

        server = TcpServer(on_tcp)
        servers.append(server)
        return server

    yield start
    for server in servers:
        server.stop()


def connect(pki: Pki, port: int, hostname: str = "127.0.0.1", **kw: object) -> ssl.SSLSocket:
    sock = socket.create_connection(("127.0.0.1", port), timeout=5)
    context = ssl.create_default_context(cafile=str(pki.ca))
    args: dict[str, object] = {"timeout": 5.0, "cancel": None, "context": context} | kw
    return open_tls(sock, hostname, f"127.0.0.1:{port}", **args)  # type: ignore[arg-type]


def wait_for_eof(conn: ssl.SSLSocket) -> None:
    """Read until the client is gone (EOF, or its TLS connection closed without notice)."""
    while True:
        try:
            if not conn.recv(RELAY_CHUNK):
                return
        except OSError:
            return


def relay_thread(name: str) -> threading.Thread:
    return next(t for t in threading.enumerate() if t.name == f"tls-relay-{name}")


def fd_count() -> int:
    return len(os.listdir("/proc/self/fd"))


# --- the relay ---------------------------------------------------------------------------


def test_8_mib_each_way_at_once_arrive_intact(pki: Pki, tls_server: Callable) -> None:
    size = 8 * 1024 * 1024
    payload = os.urandom(size)
    heard = hashlib.sha256()

    def echo(conn: ssl.SSLSocket) -> None:
        while True:
            data = conn.recv(RELAY_CHUNK)
            if not data:
                return
            heard.update(data)
            conn.sendall(data)

    server = tls_server(echo)
    relay = TlsRelay(connect(pki, server.port), "bulk")
    try:
        relay.socket.settimeout(20)
        sender = threading.Thread(target=relay.socket.sendall, args=(payload,), daemon=True)
        sender.start()
        back = recv_exact(relay.socket, size)
        sender.join(20)
    finally:
        relay.close()
    assert len(back) == size
    assert hashlib.sha256(back).digest() == hashlib.sha256(payload).digest()
    assert heard.digest() == hashlib.sha256(payload).digest()


def test_bytes_already_in_the_ssl_buffer_are_delivered(pki: Pki, tls_server: Callable) -> None:
    greeting = b"SSH-2.0-OpenSSH_9.6\r\n"

    def greet(conn: ssl.SSLSocket) -> None:
        conn.sendall(greeting)
        wait_for_eof(conn)

    server = tls_server(greet)
    tls = connect(pki, server.port)
    assert tls.recv(1) == b"S"
    assert tls.pending() == len(greeting) - 1  # the rest waits in the SSL object, not the socket
    relay = TlsRelay(tls, "buffered")
    try:
        relay.socket.settimeout(5)
        assert recv_exact(relay.socket, len(greeting) - 1) == greeting[1:]
    finally:
        relay.close()


@pytest.mark.parametrize("notify", [True, False], ids=["close_notify", "tcp-close"])
def test_the_servers_close_reaches_paramikos_end_as_eof_after_the_last_bytes(
    pki: Pki, tls_server: Callable, notify: bool
) -> None:
    def say_bye(conn: ssl.SSLSocket) -> None:
        conn.sendall(b"bye")
        if notify:
            conn.unwrap().close()

    server = tls_server(say_bye)
    relay = TlsRelay(connect(pki, server.port), "eof")
    try:
        relay.socket.settimeout(5)
        assert recv_exact(relay.socket, 3) == b"bye"
        assert relay.socket.recv(10) == b""
        assert wait_until(lambda: not relay_thread_alive("eof"), 5)
    finally:
        relay.close()


def relay_thread_alive(name: str) -> bool:
    return any(t.name == f"tls-relay-{name}" for t in threading.enumerate())


def test_closing_paramikos_end_closes_the_tls_connection(pki: Pki, tls_server: Callable) -> None:
    gone = threading.Event()

    def watch(conn: ssl.SSLSocket) -> None:
        wait_for_eof(conn)
        gone.set()

    server = tls_server(watch)
    relay = TlsRelay(connect(pki, server.port), "up-eof")
    thread = relay_thread("up-eof")
    relay.socket.close()
    assert gone.wait(5)
    thread.join(5)
    assert not thread.is_alive()
    relay.close()


def test_a_reset_by_the_server_ends_the_relay_quietly(
    pki: Pki, tls_server: Callable, capfd: pytest.CaptureFixture[str]
) -> None:
    def reset(conn: ssl.SSLSocket) -> None:
        conn.recv(10)
        conn.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, b"\x01\x00\x00\x00\x00\x00\x00\x00")

    server = tls_server(reset)
    relay = TlsRelay(connect(pki, server.port), "reset")
    thread = relay_thread("reset")
    try:
        relay.socket.sendall(b"hello")
        relay.socket.settimeout(5)
        assert relay.socket.recv(10) == b""
        thread.join(5)
        assert not thread.is_alive()
    finally:
        relay.close()
    assert capfd.readouterr().err == ""


def test_close_ends_the_thread_at_once_and_again_is_harmless(
    pki: Pki, tls_server: Callable
) -> None:
    server = tls_server(wait_for_eof)
    relay = TlsRelay(connect(pki, server.port), "close")
    thread = relay_thread("close")
    assert thread.daemon
    started = time.monotonic()
    relay.close()
    assert time.monotonic() - started < 1
    assert not thread.is_alive()
    relay.close()
    assert relay.socket.fileno() == -1


def test_an_idle_relay_uses_no_cpu(pki: Pki, tls_server: Callable) -> None:
    server = tls_server(wait_for_eof)
    relay = TlsRelay(connect(pki, server.port), "idle")
    try:
        clock = time.pthread_getcpuclockid(relay_thread("idle").ident or 0)
        before = time.clock_gettime(clock)
        time.sleep(2)  # idle on purpose: what is measured is the time it did not spend
        used = time.clock_gettime(clock) - before
    finally:
        relay.close()
    assert used < 0.1


def test_a_reader_that_stops_holds_the_server_back(pki: Pki, tls_server: Callable) -> None:
    """Back-pressure: with nobody reading paramiko's end the server's writes stall (the
    kernel's buffers fill, not the relay's), and every byte still arrives once read."""
    limit = 64 * 1024 * 1024
    block = os.urandom(RELAY_CHUNK)
    written = [0]

    def flood(conn: ssl.SSLSocket) -> None:
        while written[0] < limit:
            conn.sendall(block)
            written[0] += len(block)

    server = tls_server(flood)
    relay = TlsRelay(connect(pki, server.port), "slow")
    clock = time.pthread_getcpuclockid(relay_thread("slow").ident or 0)
    try:
        samples, cpu = [-1], [0.0]
        deadline = time.monotonic() + 10
        while time.monotonic() < deadline:
            time.sleep(0.3)  # bounded poll until the writer stalls
            samples.append(written[0])
            cpu.append(time.clock_gettime(clock))
            if samples[-1] == samples[-2] > 0:
                break
        stalled = written[0]
        assert samples[-1] == samples[-2] and stalled < limit
        assert cpu[-1] - cpu[-2] < 0.1  # held back, the relay waits without spinning
        relay.socket.settimeout(5)
        got = recv_exact(relay.socket, stalled)
        assert len(got) == stalled
        assert got[:RELAY_CHUNK] == block and got[-RELAY_CHUNK:] == block
    finally:
        relay.close()


def test_twenty_relays_leave_no_thread_or_descriptor_behind(pki: Pki, tls_server: Callable) -> None:
    server = tls_server(wait_for_eof)
    threads, fds = threading.active_count(), fd_count()
    for index in range(20):
        relay = TlsRelay(connect(pki, server.port), f"cycle-{index}")
        relay.socket.sendall(b"x")
        relay.close()
    assert wait_until(lambda: threading.active_count() == threads, 5), threading.enumerate()
    assert wait_until(lambda: fd_count() == fds, 5)


# --- the handshake -----------------------------------------------------------------------


def test_a_certificate_from_an_unknown_authority_says_how_to_trust_it(
    pki: Pki, tls_server: Callable
) -> None:
    server = tls_server(wait_for_eof)
    sock = socket.create_connection(("127.0.0.1", server.port), timeout=5)
    context = ssl.create_default_context(cafile=str(pki.other_ca))
    with pytest.raises(ProxyTlsFailed) as caught:
        open_tls(sock, "127.0.0.1", "proxy.corp:443", 5, None, context)
    text = str(caught.value)
    assert text.startswith("the TLS connection to the proxy proxy.corp:443 failed: ")
    assert "its certificate is not trusted (unable to get local issuer certificate)" in text
    assert "set SSL_CERT_FILE to a file with its certificate" in text
    assert caught.value.untrusted and caught.value.proxy == "proxy.corp:443"
    assert isinstance(caught.value, ProxyTrouble)
    assert sock.fileno() == -1


def test_the_default_context_trusts_the_authority_in_ssl_cert_file(
    pki: Pki, tls_server: Callable, monkeypatch: pytest.MonkeyPatch
) -> None:
    server = tls_server(lambda conn: conn.sendall(b"hi"))
    monkeypatch.setenv("SSL_CERT_FILE", str(pki.ca))
    sock = socket.create_connection(("127.0.0.1", server.port), timeout=5)
    with open_tls(sock, "localhost", "proxy", 5, None) as tls:
        assert tls.gettimeout() is None
        assert recv_exact(tls, 2) == b"hi"


def test_a_certificate_for_another_name(pki: Pki, tls_server: Callable) -> None:
    server = tls_server(wait_for_eof)
    with pytest.raises(ProxyTlsFailed) as caught:
        connect(pki, server.port, hostname="proxy.example")
    assert "its certificate is for another name (Hostname mismatch" in str(caught.value)
    assert "SSL_CERT_FILE" not in str(caught.value)


def silent(conn: socket.socket) -> None:
    conn.settimeout(5)
    conn.recv(1 << 16)  # the ClientHello; no answer
    conn.recv(1)  # until the client gives up


def test_a_server_that_never_speaks_tls_times_out(pki: Pki) -> None:
    with tcp_server(silent) as server:
        started = time.monotonic()
        with pytest.raises(ProxyTlsFailed) as caught:
            connect(pki, server.port, timeout=1.0)
        assert time.monotonic() - started < 3
    assert "no TLS handshake within 1 s" in str(caught.value)


def test_a_plain_http_proxy_is_named_as_such(pki: Pki) -> None:
    def http(conn: socket.socket) -> None:
        conn.recv(1 << 16)
        conn.sendall(b"HTTP/1.1 400 Bad Request\r\nContent-Length: 0\r\n\r\n")

    with tcp_server(http) as server, pytest.raises(ProxyTlsFailed) as caught:
        connect(pki, server.port)
    assert "does not speak TLS on that port (is it an http:// proxy?)" in str(caught.value)


def test_cancel_ends_the_handshake_within_a_poll(pki: Pki) -> None:
    cancel = threading.Event()
    with tcp_server(silent) as server:
        timer = threading.Timer(0.2, cancel.set)
        timer.start()
        started = time.monotonic()
        with pytest.raises(ProxyTlsFailed) as caught:
            connect(pki, server.port, timeout=10.0, cancel=cancel)
        timer.join()
        assert time.monotonic() - started < 1
    assert str(caught.value).endswith("failed: cancelled")
