"""Dialling the jumphost through a proxy: HTTP CONNECT (own client) or SOCKS5 (python-socks)."""

from __future__ import annotations

import contextlib
import socket
import threading
import time

from python_socks import ProxyConnectionError, ProxyError, ProxyTimeoutError, ProxyType
from python_socks.sync import Proxy

from app.core.proxy import ProxySetting, Route
from app.core.textsafe import safe_text
from app.errors import (
    ConnectionTrouble,
    ProxyAuthFailed,
    ProxyBadReply,
    ProxyCannotReach,
    ProxyNoAnswer,
    ProxyRefused,
    os_reason,
)
from app.ssh.http_connect import http_connect
from app.ssh.tcp import Endpoint

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
    if proxy.scheme in ("socks5", "socks5h"):
        return _socks5(proxy, endpoint, timeout, cancel, password)
    return http_connect(proxy, endpoint, timeout, cancel, password)


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
