"""Dialling the jumphost through a proxy: HTTP CONNECT (Basic auth) or SOCKS5 (python-socks)."""

from __future__ import annotations

import base64
import contextlib
import re
import socket
import threading
import time

from python_socks import ProxyConnectionError, ProxyError, ProxyTimeoutError, ProxyType
from python_socks.sync import Proxy

from app import __version__
from app.core.profile import format_hostport
from app.core.proxy import ProxySetting, Route
from app.core.textsafe import safe_text
from app.errors import (
    ConnectionTrouble,
    InvalidField,
    ProxyAuthFailed,
    ProxyBadReply,
    ProxyCannotReach,
    ProxyNoAnswer,
    ProxyRefused,
    os_reason,
)
from app.ssh.tcp import Endpoint, connect_tcp

HEAD_LIMIT = 16 * 1024  # bytes of a proxy's reply head we read at most
_STATUS_RE = re.compile(rb"HTTP/1\.[01] ([0-9]{3})(?: ([^\r\n]*))?")
_POLL = 0.1  # seconds: how often a wait looks at ``cancel``
# SOCKS5 reply codes (RFC 1928): 2 is the proxy's own rule; 3-6 are the way onward.
_SOCKS_RULESET = 0x02
_SOCKS_ONWARD = {0x03, 0x04, 0x05, 0x06}


def dial_via(
    route: Route,
    endpoint: Endpoint,
    timeout: float,
    cancel: threading.Event | None,
    password: str | None,
) -> socket.socket:
    """A connection to ``endpoint`` through ``route.proxy``: the proxy's socket, past its
    handshake, carrying the jumphost's bytes. ``password`` (else the one the environment
    gave) goes with the proxy's user. Raises ProxyTrouble subclasses."""
    proxy = route.proxy
    assert proxy is not None and proxy.host is not None and proxy.port is not None
    if password is None:
        password = route.password
    if proxy.scheme == "https":
        raise InvalidField(
            "proxy",
            "https:// proxies (TLS to the proxy) are not supported yet; most proxies also "
            "take plain http:// on the same or another port — ask your network team which.",
        )
    if proxy.scheme in ("socks5", "socks5h"):
        return _socks5(proxy, endpoint, timeout, cancel, password)
    return _http_connect(proxy, endpoint, timeout, cancel, password)


# --- HTTP CONNECT ----------------------------------------------------------------------------


def _http_connect(
    proxy: ProxySetting,
    endpoint: Endpoint,
    timeout: float,
    cancel: threading.Event | None,
    password: str | None,
) -> socket.socket:
    """Our own small client: python-socks reads the reply with one ``recv`` and drops what
    follows the status line, and an SSH server speaks first, so its greeting (often in the
    same segment as the proxy's "200") would be lost. We read the head byte by byte, up to
    ``HEAD_LIMIT``, and leave every byte after it for SSH."""
    assert proxy.host is not None and proxy.port is not None
    label = proxy.hostport
    deadline = time.monotonic() + timeout
    sock = connect_tcp(
        Endpoint(proxy.host, proxy.port),
        timeout,
        cancel,
        failed=lambda detail: ProxyNoAnswer(label, detail),
    )
    try:
        sock.settimeout(max(0.1, deadline - time.monotonic()))
        try:
            sock.sendall(_connect_request(endpoint, proxy.user, password))
        except OSError as exc:
            raise ProxyNoAnswer(label, os_reason(exc)) from None
        head = _read_head(sock, label, deadline, cancel)
        _check_status(head, proxy, endpoint)
        sock.settimeout(None)
    except BaseException:
        sock.close()
        raise
    return sock


def _connect_request(endpoint: Endpoint, user: str | None, password: str | None) -> bytes:
    target = format_hostport(endpoint.host, endpoint.port)
    lines = [
        f"CONNECT {target} HTTP/1.1",
        f"Host: {target}",
        f"User-Agent: Tunnelkeeper/{__version__}",
    ]
    if user is not None and password is not None:
        token = base64.b64encode(f"{user}:{password}".encode()).decode("ascii")
        lines.append(f"Proxy-Authorization: Basic {token}")
    return ("\r\n".join(lines) + "\r\n\r\n").encode()


def _read_head(
    sock: socket.socket, label: str, deadline: float, cancel: threading.Event | None
) -> bytes:
    """The reply's status line and headers, up to and including the blank line."""
    head = bytearray()
    while not head.endswith(b"\r\n\r\n"):
        if len(head) >= HEAD_LIMIT:
            raise ProxyBadReply(label, f"its reply head is longer than {HEAD_LIMIT} bytes")
        if cancel is not None and cancel.is_set():
            raise ProxyNoAnswer(label, "cancelled")
        remaining = deadline - time.monotonic()
        if remaining <= 0:
            raise ProxyNoAnswer(label, "no reply to CONNECT in time")
        sock.settimeout(min(_POLL, remaining))
        try:
            byte = sock.recv(1)
        except TimeoutError:
            continue
        except OSError as exc:
            raise ProxyNoAnswer(label, os_reason(exc)) from None
        if not byte:
            why = "it closed the connection without a reply" if not head else "reply cut off"
            raise ProxyNoAnswer(label, why)
        head += byte
    return bytes(head)


def _check_status(head: bytes, proxy: ProxySetting, endpoint: Endpoint) -> None:
    label = proxy.hostport
    status_line = head.split(b"\r\n", 1)[0]
    match = _STATUS_RE.fullmatch(status_line)
    if match is None:
        shown = safe_text(status_line.decode("latin-1"), 80)
        raise ProxyBadReply(label, f"{shown!r} is not an HTTP status line")
    code = int(match.group(1))
    reason = safe_text((match.group(2) or b"").decode("latin-1"), 80)
    if 200 <= code < 300:
        return
    status = f"HTTP {code}"
    if code == 407:
        raise ProxyAuthFailed(label, "407")
    if code == 403:
        raise ProxyRefused(label, endpoint.host, endpoint.port, status)
    if code >= 500:
        raise ProxyCannotReach(label, endpoint.host, endpoint.port, f"{status} {reason}".strip())
    raise ProxyRefused(label, endpoint.host, endpoint.port, f"{status} {reason}".strip())


# --- SOCKS5 ----------------------------------------------------------------------------------


def _socks5(
    proxy: ProxySetting,
    endpoint: Endpoint,
    timeout: float,
    cancel: threading.Event | None,
    password: str | None,
) -> socket.socket:
    """python-socks does the SOCKS5 exchange (it reads exactly what the protocol says, so
    nothing of the jumphost's is lost); it runs on a helper thread so that ``cancel`` ends
    the wait within 0.1 s (a socket it opens after that is closed when it returns)."""
    assert proxy.host is not None and proxy.port is not None
    label = proxy.hostport
    client = Proxy(
        ProxyType.SOCKS5,
        proxy.host,
        proxy.port,
        username=proxy.user if password is not None else None,
        password=password if proxy.user is not None else None,
        rdns=proxy.scheme == "socks5h",  # socks5h: the proxy resolves the name
    )
    lock = threading.Lock()
    answer: list[socket.socket | BaseException] = []
    abandoned = False

    def run() -> None:
        try:
            result: socket.socket | BaseException = client.connect(
                endpoint.host, endpoint.port, timeout=timeout
            )
        except BaseException as exc:
            result = exc
        with lock:
            if abandoned and isinstance(result, socket.socket):
                result.close()
            answer.append(result)

    thread = threading.Thread(target=run, name="socks5-dial", daemon=True)
    thread.start()
    deadline = time.monotonic() + timeout + 1.0  # python-socks keeps to ``timeout`` itself
    while thread.is_alive() and time.monotonic() < deadline:
        if cancel is not None and cancel.is_set():
            break
        thread.join(_POLL)
    with lock:
        if not answer:
            abandoned = True
            raise ProxyNoAnswer(label, "cancelled" if thread.is_alive() else "no reply in time")
        result = answer[0]
    if isinstance(result, BaseException):
        raise _socks_error(result, label, endpoint, timeout) from None
    result.settimeout(None)
    with contextlib.suppress(OSError):
        result.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
    return result


def _socks_error(
    exc: BaseException, label: str, endpoint: Endpoint, timeout: float
) -> ConnectionTrouble | ProxyAuthFailed:
    """python-socks's error as ours."""
    if isinstance(exc, ProxyTimeoutError):
        return ProxyNoAnswer(label, f"no reply within {timeout:g} s")
    if isinstance(exc, ProxyConnectionError):
        cause = exc.__cause__
        return ProxyNoAnswer(label, os_reason(cause) if isinstance(cause, OSError) else str(exc))
    if isinstance(exc, ProxyError):
        text = safe_text(str(exc), 120)
        code = exc.error_code
        if code == _SOCKS_RULESET:
            return ProxyRefused(label, endpoint.host, endpoint.port, f"SOCKS5: {text}")
        if code in _SOCKS_ONWARD:
            return ProxyCannotReach(label, endpoint.host, endpoint.port, f"SOCKS5: {text}")
        if "authentication" in text.lower():
            return ProxyAuthFailed(label, f"SOCKS5: {text}")
        return ProxyBadReply(label, f"SOCKS5: {text}")
    if isinstance(exc, OSError):
        return ProxyNoAnswer(label, os_reason(exc))
    return ProxyBadReply(label, safe_text(f"{type(exc).__name__}: {exc}", 120))
