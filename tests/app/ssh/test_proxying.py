"""The HTTP CONNECT client and SOCKS5 dialling against small loopback proxies that misbehave."""

from __future__ import annotations

import base64
import socket
import threading
import time
from collections.abc import Callable

import pytest

from app import ssh
from app.core.proxy import choose_route, parse_proxy
from app.errors import (
    InvalidField,
    ProxyAuthFailed,
    ProxyBadReply,
    ProxyCannotReach,
    ProxyNoAnswer,
)
from tests.support.net import free_port, tcp_server

JUMP = ssh.Endpoint("jump.example", 50683)


def read_request(conn: socket.socket) -> bytes:
    data = b""
    while b"\r\n\r\n" not in data:
        chunk = conn.recv(4096)
        if not chunk:
            break
        data += chunk
    return data


def proxy_answering(reply: bytes, heard: list[bytes] | None = None) -> Callable[..., None]:
    def handler(conn: socket.socket) -> None:
        request = read_request(conn)
        if heard is not None:
            heard.append(request)
        conn.sendall(reply)
        time.sleep(0.5)  # keep the connection open while the client reads

    return handler


def dial_via(port: int, spec: str = "http://127.0.0.1:{port}", **kw: object) -> socket.socket:
    route = choose_route(parse_proxy(spec.format(port=port)), {}, JUMP.host, JUMP.port)
    return ssh.dial(JUMP, 5, route=route, **kw)  # type: ignore[arg-type]


def test_the_ssh_greeting_right_behind_the_200_is_kept_for_ssh() -> None:
    heard: list[bytes] = []
    reply = b"HTTP/1.1 200 Connection established\r\nX-A: b\r\n\r\nSSH-2.0-OpenSSH_9\r\n"
    with tcp_server(proxy_answering(reply, heard)) as proxy:
        sock = dial_via(proxy.port, "http://alice@127.0.0.1:{port}", proxy_password="pw:1")
        with sock:
            sock.settimeout(5)
            assert sock.recv(100) == b"SSH-2.0-OpenSSH_9\r\n"
    request = heard[0].decode()
    assert request.startswith("CONNECT jump.example:50683 HTTP/1.1\r\nHost: jump.example:50683\r\n")
    token = base64.b64encode(b"alice:pw:1").decode()
    assert f"Proxy-Authorization: Basic {token}\r\n" in request


@pytest.mark.parametrize(
    ("reply", "error", "words"),
    [
        (b"HTTP/1.1 407 Proxy Authentication Required\r\n\r\n", ProxyAuthFailed, "(407)"),
        (b"HTTP/1.0 502 Bad Gateway\r\n\r\n", ProxyCannotReach, "(HTTP 502 Bad Gateway)"),
        (b"SSH-2.0-OpenSSH_9\r\n\r\n", ProxyBadReply, "is not an HTTP status line"),
        (b"HTTP/1.1 200 OK\r\n" + b"X: y\r\n" * 4000, ProxyBadReply, "longer than 16384"),
        (b"HTTP/1.1 200 OK\r\n", ProxyNoAnswer, "reply cut off"),
        (b"", ProxyNoAnswer, "without a reply"),
    ],
)
def test_replies_that_are_no_way_through(reply: bytes, error: type, words: str) -> None:
    with tcp_server(proxy_answering(reply)) as proxy, pytest.raises(error) as caught:
        dial_via(proxy.port)
    assert words in str(caught.value)


def test_a_proxy_that_is_not_there_did_not_answer() -> None:
    port = free_port()
    with pytest.raises(ProxyNoAnswer, match=rf"^the proxy did not answer \(127.0.0.1:{port}: "):
        dial_via(port)


@pytest.mark.parametrize("scheme", ["http", "socks5h"])
def test_a_silent_proxy_is_left_within_a_tenth_of_a_second_of_cancel(scheme: str) -> None:
    release = threading.Event()
    with tcp_server(lambda conn: release.wait(10)) as proxy:
        cancel = threading.Event()
        threading.Timer(0.3, cancel.set).start()
        started = time.monotonic()
        try:
            with pytest.raises(ProxyNoAnswer, match="cancelled"):
                dial_via(proxy.port, scheme + "://127.0.0.1:{port}", cancel=cancel)
        finally:
            release.set()
        assert time.monotonic() - started < 0.3 + 0.2


def test_https_proxies_are_refused_with_a_sentence() -> None:
    with pytest.raises(InvalidField, match="https:// proxies"):
        dial_via(1, "https://127.0.0.1:{port}")


def test_port_open_asks_through_the_proxy() -> None:
    ok = b"HTTP/1.1 200 Connection established\r\n\r\n"
    route = choose_route(parse_proxy("http://127.0.0.1:1"), {}, JUMP.host, JUMP.port)
    assert not ssh.port_open(JUMP, 1, route=route)
    with tcp_server(proxy_answering(ok)) as proxy:
        route = choose_route(
            parse_proxy(f"http://127.0.0.1:{proxy.port}"), {}, JUMP.host, JUMP.port
        )
        assert ssh.port_open(JUMP, 5, route=route)  # jump.example resolves nowhere here
