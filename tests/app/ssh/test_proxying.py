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


def proxy_script(replies: list[bytes], heard: list[bytes]) -> Callable[..., None]:
    """A proxy that answers each request on a connection with the next reply in turn (one
    that ends in b"CLOSE" closes the connection after it)."""

    def handler(conn: socket.socket) -> None:
        while replies:
            request = read_request(conn)
            if not request:
                return
            heard.append(request)
            reply = replies.pop(0)
            conn.sendall(reply.removesuffix(b"CLOSE"))
            if reply.endswith(b"CLOSE"):
                return
        time.sleep(0.5)

    return handler


NTLM_407 = b"HTTP/1.1 407 Proxy Authentication Required\r\nProxy-Authenticate: NTLM\r\n"


def ntlm_dial(port: int) -> socket.socket:
    return dial_via(port, "http://CORP%5Calice@127.0.0.1:{port}", proxy_password="pw")


def test_ntlm_after_a_407_that_closes_starts_on_a_new_connection() -> None:
    heard: list[bytes] = []
    replies = [
        NTLM_407 + b"Connection: close\r\n\r\nCLOSE",
        NTLM_407[:-2] + b" %%%not-base64\r\nContent-Length: 0\r\n\r\n",
    ]
    with tcp_server(proxy_script(replies, heard)) as proxy, pytest.raises(ProxyAuthFailed) as e:
        ntlm_dial(proxy.port)
    assert "the proxy's NTLM challenge is not base64" in str(e.value)
    assert "Proxy-Authorization: Basic " in heard[0].decode()
    assert "Proxy-Authorization: NTLM TlRMTVNT" in heard[1].decode()  # "NTLMSS…"


def test_a_proxy_that_closes_in_the_middle_of_ntlm_is_a_bad_reply() -> None:
    heard: list[bytes] = []
    challenge = base64.b64encode(b"NTLMSSP\x00\x02" + b"\x00" * 40).decode()
    replies = [
        NTLM_407 + b"Content-Length: 5\r\n\r\nhello",
        NTLM_407[:-2] + f" {challenge}\r\n\r\n".encode(),  # no length: cannot go on
    ]
    with tcp_server(proxy_script(replies, heard)) as proxy, pytest.raises(ProxyBadReply) as e:
        ntlm_dial(proxy.port)
    assert "closed the connection during NTLM sign-in" in str(e.value)
    assert len(heard) == 2  # both on the first connection: the body of 5 was read past


def test_a_407_without_a_user_says_the_proxy_wants_one() -> None:
    reply = b"HTTP/1.1 407 No\r\nProxy-Authenticate: Basic realm=x\r\n\r\n"
    with tcp_server(proxy_answering(reply)) as proxy, pytest.raises(ProxyAuthFailed) as e:
        dial_via(proxy.port)
    assert "the proxy asks for a user name and password" in str(e.value)


def test_ntlm_without_a_password_here_is_refused_before_any_sign_in() -> None:
    heard: list[bytes] = []
    with (
        tcp_server(proxy_script([NTLM_407 + b"\r\n"], heard)) as proxy,
        pytest.raises(ProxyAuthFailed, match="asks for NTLM sign-in"),
    ):
        dial_via(proxy.port, "http://alice@127.0.0.1:{port}")
    assert len(heard) == 1


def test_port_open_asks_through_the_proxy() -> None:
    ok = b"HTTP/1.1 200 Connection established\r\n\r\n"
    route = choose_route(parse_proxy("http://127.0.0.1:1"), {}, JUMP.host, JUMP.port)
    assert not ssh.port_open(JUMP, 1, route=route)
    with tcp_server(proxy_answering(ok)) as proxy:
        route = choose_route(
            parse_proxy(f"http://127.0.0.1:{proxy.port}"), {}, JUMP.host, JUMP.port
        )
        assert ssh.port_open(JUMP, 5, route=route)  # jump.example resolves nowhere here
