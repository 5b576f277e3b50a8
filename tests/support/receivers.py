"""Real alert receivers on loopback: an HTTP(S) webhook, an SMTP server (aiosmtpd), a test CA."""

from __future__ import annotations

import contextlib
import datetime
import ipaddress
import json
import socket
import ssl
import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from email import message_from_bytes, policy
from email.message import EmailMessage
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import pytest

from tests.support.net import free_port

SECRET_PATH = "/services/T0001/B0002/sEcReT-tOkEn-42"  # what a Slack hook's path looks like


@dataclass(frozen=True)
class LoopbackCa:
    """A certificate authority of the tests and a certificate it signed for 127.0.0.1 and
    localhost; clients trust it through SSL_CERT_FILE=``ca_file``."""

    ca_file: Path
    cert_file: Path
    key_file: Path

    def server_context(self) -> ssl.SSLContext:
        context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
        context.load_cert_chain(self.cert_file, self.key_file)
        return context


def make_loopback_ca(folder: Path) -> LoopbackCa:
    from cryptography import x509
    from cryptography.hazmat.primitives import hashes, serialization
    from cryptography.hazmat.primitives.asymmetric import ec
    from cryptography.x509.oid import NameOID

    folder.mkdir(parents=True, exist_ok=True)
    now = datetime.datetime.now(datetime.UTC)
    ca_key = ec.generate_private_key(ec.SECP256R1())
    ca_name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "Tunnelkeeper test CA")])
    ca = (
        x509.CertificateBuilder()
        .subject_name(ca_name)
        .issuer_name(ca_name)
        .public_key(ca_key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - datetime.timedelta(hours=1))
        .not_valid_after(now + datetime.timedelta(days=2))
        .add_extension(x509.BasicConstraints(ca=True, path_length=None), critical=True)
        .add_extension(
            x509.KeyUsage(False, False, False, False, False, True, True, False, False), True
        )
        .add_extension(x509.SubjectKeyIdentifier.from_public_key(ca_key.public_key()), False)
        .sign(ca_key, hashes.SHA256())
    )
    key = ec.generate_private_key(ec.SECP256R1())
    cert = (
        x509.CertificateBuilder()
        .subject_name(x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "localhost")]))
        .issuer_name(ca_name)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - datetime.timedelta(hours=1))
        .not_valid_after(now + datetime.timedelta(days=2))
        .add_extension(
            x509.SubjectAlternativeName(
                [x509.DNSName("localhost"), x509.IPAddress(ipaddress.ip_address("127.0.0.1"))]
            ),
            critical=False,
        )
        .add_extension(x509.BasicConstraints(ca=False, path_length=None), critical=True)
        .add_extension(
            x509.AuthorityKeyIdentifier.from_issuer_public_key(ca_key.public_key()), False
        )
        .add_extension(x509.ExtendedKeyUsage([x509.OID_SERVER_AUTH]), critical=False)
        .sign(ca_key, hashes.SHA256())
    )
    found = LoopbackCa(folder / "ca.pem", folder / "server.pem", folder / "server.key")
    found.ca_file.write_bytes(ca.public_bytes(serialization.Encoding.PEM))
    found.cert_file.write_bytes(cert.public_bytes(serialization.Encoding.PEM))
    found.key_file.write_bytes(
        key.private_bytes(
            serialization.Encoding.PEM,
            serialization.PrivateFormat.PKCS8,
            serialization.NoEncryption(),
        )
    )
    return found


# --- the webhook -------------------------------------------------------------------------------


@dataclass(frozen=True)
class Post:
    """One request the webhook got: when (wall clock), where, and its JSON body."""

    at: float
    path: str
    headers: dict[str, str]
    body: Any


class WebhookReceiver:
    """A threaded HTTP server on 127.0.0.1 (HTTPS with ``ca``) that keeps every POST and
    answers ``status`` with ``reply`` (both may be changed while it runs)."""

    def __init__(
        self, status: int = 200, reply: bytes = b"ok", ca: LoopbackCa | None = None, port: int = 0
    ) -> None:
        self.status = status
        self.reply = reply
        self.delay = 0.0  # s before it answers (a slow receiver)
        self.posts: list[Post] = []
        self._arrived = threading.Condition()
        receiver = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:
                size = int(self.headers.get("Content-Length", "0"))
                raw = self.rfile.read(size)
                try:
                    body = json.loads(raw)
                except ValueError:
                    body = raw
                status, reply = receiver.status, receiver.reply
                time.sleep(receiver.delay)
                self.send_response(status)
                self.send_header("Content-Length", str(len(reply)))
                self.end_headers()
                self.wfile.write(reply)
                with receiver._arrived:
                    post = Post(time.time(), self.path, dict(self.headers.items()), body)
                    receiver.posts.append(post)
                    receiver._arrived.notify_all()

            def log_message(self, format: str, *args: Any) -> None:
                return

        self._server = ThreadingHTTPServer(("127.0.0.1", port), Handler)
        self._server.daemon_threads = True
        if ca is not None:
            self._server.socket = ca.server_context().wrap_socket(
                self._server.socket, server_side=True
            )
        self.port: int = self._server.server_address[1]
        self.scheme = "https" if ca is not None else "http"
        self._thread = threading.Thread(
            target=self._server.serve_forever, args=(0.05,), daemon=True
        )
        self._thread.start()

    @property
    def url(self) -> str:
        return f"{self.scheme}://127.0.0.1:{self.port}{SECRET_PATH}?token=qs-secret"

    def wait_for(self, count: int, timeout: float) -> list[Post]:
        """The first ``count`` posts, waiting up to ``timeout`` s; fails with what came."""
        with self._arrived:
            self._arrived.wait_for(lambda: len(self.posts) >= count, timeout)
            assert len(self.posts) >= count, f"{len(self.posts)} posts, not {count}: {self.posts}"
            return list(self.posts[:count])

    def bodies(self) -> list[Any]:
        with self._arrived:
            return [p.body for p in self.posts]

    def stop(self) -> None:
        self._server.shutdown()
        self._server.server_close()
        self._thread.join(5)

    def __enter__(self) -> WebhookReceiver:
        return self

    def __exit__(self, *exc: object) -> None:
        self.stop()


@contextlib.contextmanager
def silent_listener() -> Any:
    """A port that accepts connections and never answers (a receiver that hangs)."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        sock.listen(16)
        yield sock.getsockname()[1]


# --- SMTP --------------------------------------------------------------------------------------


@dataclass
class SmtpReceiver:
    """A real SMTP server (aiosmtpd) on 127.0.0.1: ``tls`` "none", "starttls" (required
    before AUTH) or "tls" (from the start, needs ``ca``); with ``user`` and ``password`` it
    requires a login. Keeps every message; answers ``reply`` to DATA."""

    tls: str = "none"
    ca: LoopbackCa | None = None
    user: str | None = None
    password: str | None = None
    reply: str = "250 2.0.0 Ok: queued as T3ST"
    messages: list[tuple[float, str, list[str], EmailMessage]] = field(default_factory=list)
    logins: list[str] = field(default_factory=list)
    port: int = 0

    def __post_init__(self) -> None:
        from aiosmtpd.controller import Controller
        from aiosmtpd.smtp import AuthResult, LoginPassword

        receiver = self
        self._arrived = threading.Condition()

        class Handler:
            async def handle_DATA(self, server: Any, session: Any, envelope: Any) -> str:
                parsed = message_from_bytes(envelope.content, policy=policy.default)
                with receiver._arrived:
                    receiver.messages.append(
                        (time.time(), envelope.mail_from, list(envelope.rcpt_tos), parsed)
                    )
                    receiver._arrived.notify_all()
                return receiver.reply

        def authenticator(
            server: Any, session: Any, envelope: Any, mechanism: str, data: Any
        ) -> AuthResult:
            ok = (
                isinstance(data, LoginPassword)
                and data.login.decode() == self.user
                and data.password.decode() == self.password
            )
            if ok:
                self.logins.append(data.login.decode())
            return AuthResult(success=ok, handled=False)

        options: dict[str, Any] = {}
        if self.tls != "none":
            assert self.ca is not None, "TLS needs the test CA"
            context = self.ca.server_context()
            options["ssl_context" if self.tls == "tls" else "tls_context"] = context
            options["require_starttls"] = self.tls == "starttls"
        if self.user is not None:
            options.update(authenticator=authenticator, auth_required=True)
            # aiosmtpd counts only STARTTLS as TLS: on TLS from the start it would hide AUTH
            options["auth_require_tls"] = self.tls == "starttls"
        self.port = self.port or free_port()
        self._controller = Controller(Handler(), hostname="127.0.0.1", port=self.port, **options)
        self._controller.start()

    @property
    def address(self) -> str:
        return f"127.0.0.1:{self.port}"

    def wait_for(self, count: int, timeout: float) -> list[tuple[float, str, list[str], Any]]:
        with self._arrived:
            self._arrived.wait_for(lambda: len(self.messages) >= count, timeout)
            assert len(self.messages) >= count, f"{len(self.messages)} messages, not {count}"
            return list(self.messages[:count])

    def stop(self) -> None:
        self._controller.stop()

    def __enter__(self) -> SmtpReceiver:
        return self

    def __exit__(self, *exc: object) -> None:
        self.stop()


# --- fixtures (import them into a test module to use them) -------------------------------------


@pytest.fixture(scope="session", name="loopback_ca")
def loopback_ca_fixture(tmp_path_factory: pytest.TempPathFactory) -> LoopbackCa:
    return make_loopback_ca(tmp_path_factory.mktemp("loopback-ca"))


@pytest.fixture(name="trusted_ca")
def trusted_ca_fixture(loopback_ca: LoopbackCa, monkeypatch: pytest.MonkeyPatch) -> LoopbackCa:
    """The test CA, trusted by this process's TLS clients (OpenSSL reads SSL_CERT_FILE)."""
    monkeypatch.setenv("SSL_CERT_FILE", str(loopback_ca.ca_file))
    return loopback_ca


@pytest.fixture
def webhook() -> Iterator[WebhookReceiver]:
    with WebhookReceiver() as receiver:
        yield receiver
