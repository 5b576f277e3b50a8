"""Our HTTP CONNECT client: plain or TLS to the proxy, Basic, NTLM or Negotiate sign-in."""

from __future__ import annotations

import base64
import contextlib
import socket
import threading
import time
from collections.abc import Callable

from app import __version__
from app.core.httphead import BadHead, ReplyHead, parse_head
from app.core.profile import format_hostport
from app.core.proxy import ProxySetting
from app.errors import (
    ProxyAuthFailed,
    ProxyBadReply,
    ProxyCannotReach,
    ProxyNoAnswer,
    ProxyRefused,
    os_reason,
)
from app.ssh.proxy_auth import IntegratedSignIn, pick_scheme
from app.ssh.tcp import Endpoint, connect_tcp

HEAD_LIMIT = 16 * 1024  # bytes of a proxy's reply head we read at most
BODY_LIMIT = 64 * 1024  # bytes of a 407's body we read past to keep the connection
ROUNDS = 3  # challenge rounds of an NTLM / Negotiate sign-in at most
_POLL = 0.1  # seconds: how often a wait looks at ``cancel``


class _Exchange:
    """One connection to the proxy (TLS to it for https://) and the requests sent on it."""

    def __init__(
        self, proxy: ProxySetting, timeout: float, deadline: float, cancel: threading.Event | None
    ) -> None:
        assert proxy.host is not None and proxy.port is not None
        self.label = proxy.hostport
        self._cancel = cancel
        self._deadline = deadline
        label = self.label
        sock = connect_tcp(
            Endpoint(proxy.host, proxy.port),
            timeout,
            cancel,
            failed=lambda detail: ProxyNoAnswer(label, detail),
        )
        if proxy.scheme == "https":
            from app.ssh.tls_relay import open_tls  # noqa: PLC0415 (only for https://)

            sock = open_tls(sock, proxy.host, label, self._left(), cancel)
        self.sock: socket.socket = sock

    def _left(self) -> float:
        return max(0.1, self._deadline - time.monotonic())

    def ask(self, endpoint: Endpoint, authorization: str | None) -> ReplyHead:
        """Send one CONNECT and read the reply's head (nothing after it)."""
        try:
            self.sock.settimeout(self._left())
            self.sock.sendall(_connect_request(endpoint, authorization))
        except OSError as exc:
            raise ProxyNoAnswer(self.label, os_reason(exc)) from None
        head = self._read(lambda data: data.endswith(b"\r\n\r\n"), HEAD_LIMIT, one=True)
        try:
            return parse_head(head)
        except BadHead as exc:
            raise ProxyBadReply(self.label, str(exc)) from None

    def skip_body(self, head: ReplyHead) -> bool:
        """Read past the body of a reply we do not use; False if the connection cannot
        carry another request (closed, or a body of unknown or too great a length)."""
        length = head.content_length
        if not head.keeps_alive or length is None or length > BODY_LIMIT:
            return False
        if length:
            self._read(lambda data: len(data) >= length, length, one=False)
        return True

    def _read(self, done: Callable[[bytearray], bool], limit: int, one: bool) -> bytes:
        """Bytes until ``done(data)``; one at a time when what follows must stay unread."""
        data = bytearray()
        while not done(data):
            if len(data) >= limit:
                raise ProxyBadReply(self.label, f"its reply head is longer than {HEAD_LIMIT} bytes")
            if self._cancel is not None and self._cancel.is_set():
                raise ProxyNoAnswer(self.label, "cancelled")
            remaining = self._deadline - time.monotonic()
            if remaining <= 0:
                raise ProxyNoAnswer(self.label, "no reply to CONNECT in time")
            self.sock.settimeout(min(_POLL, remaining))
            try:
                chunk = self.sock.recv(1 if one else limit - len(data))
            except TimeoutError:
                continue
            except OSError as exc:
                raise ProxyNoAnswer(self.label, os_reason(exc)) from None
            if not chunk:
                why = "it closed the connection without a reply" if not data else "reply cut off"
                raise ProxyNoAnswer(self.label, why)
            data += chunk
        return bytes(data)

    def close(self) -> None:
        with contextlib.suppress(OSError):
            self.sock.close()


def http_connect(
    proxy: ProxySetting,
    endpoint: Endpoint,
    timeout: float,
    cancel: threading.Event | None,
    password: str | None,
) -> socket.socket:
    """A socket carrying the jumphost's bytes through the proxy, past its "200".

    We read the reply head byte by byte, up to ``HEAD_LIMIT``, and leave every byte after
    it for SSH (an SSH server speaks first, so its greeting often shares a segment with
    the "200"). Basic goes with the first request when there is a user and password;
    a 407 offering NTLM or Negotiate starts that sign-in (on the same connection while
    the proxy keeps it, as NTLM requires). For https:// the socket returned is one end of
    a socket pair, a relay carrying the bytes through TLS (``tls_relay``)."""
    deadline = time.monotonic() + timeout
    exchange = _Exchange(proxy, timeout, deadline, cancel)
    try:
        basic = _basic(proxy.user, password)
        head = exchange.ask(endpoint, basic)
        offered = head.challenges() if head.code == 407 else {}
        scheme = pick_scheme(offered)
        if scheme is not None:
            assert proxy.host is not None
            sign_in = IntegratedSignIn(scheme, exchange.label, proxy.host, proxy.user, password)
            if not exchange.skip_body(head):
                exchange.close()
                exchange = _Exchange(proxy, timeout, deadline, cancel)
            head = exchange.ask(endpoint, sign_in.first())
            for _ in range(ROUNDS):
                challenge = head.challenges().get(scheme.lower()) if head.code == 407 else None
                if not challenge:
                    break
                if not exchange.skip_body(head):
                    raise ProxyBadReply(
                        exchange.label, f"it closed the connection during {scheme} sign-in"
                    )
                head = exchange.ask(endpoint, sign_in.answer(challenge))
        elif head.code == 407 and basic is None:
            raise ProxyAuthFailed(
                exchange.label,
                "407",
                "the proxy asks for a user name and password, and the tunnel has none",
            )
        _check_status(head, proxy, endpoint)
        sock = exchange.sock
        sock.settimeout(None)
    except BaseException:
        exchange.close()
        raise
    if proxy.scheme == "https":
        from app.ssh.tls_relay import TlsRelay  # noqa: PLC0415

        relay = TlsRelay(sock, exchange.label)  # type: ignore[arg-type]
        return relay.socket
    return sock


def _basic(user: str | None, password: str | None) -> str | None:
    if user is None or password is None:
        return None
    return "Basic " + base64.b64encode(f"{user}:{password}".encode()).decode("ascii")


def _connect_request(endpoint: Endpoint, authorization: str | None) -> bytes:
    target = format_hostport(endpoint.host, endpoint.port)
    lines = [
        f"CONNECT {target} HTTP/1.1",
        f"Host: {target}",
        f"User-Agent: Tunnelkeeper/{__version__}",
        "Proxy-Connection: Keep-Alive",
    ]
    if authorization is not None:
        lines.append(f"Proxy-Authorization: {authorization}")
    return ("\r\n".join(lines) + "\r\n\r\n").encode()


def _check_status(head: ReplyHead, proxy: ProxySetting, endpoint: Endpoint) -> None:
    label = proxy.hostport
    code = head.code
    if 200 <= code < 300:
        return
    status = f"HTTP {code}"
    if code == 407:
        raise ProxyAuthFailed(label, "407")
    if code == 403:
        raise ProxyRefused(label, endpoint.host, endpoint.port, status)
    if code >= 500:
        raise ProxyCannotReach(
            label, endpoint.host, endpoint.port, f"{status} {head.reason}".strip()
        )
    raise ProxyRefused(label, endpoint.host, endpoint.port, f"{status} {head.reason}".strip())
