"""A proxy's reply head: status, headers, body length, keep-alive and auth challenges."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from app.core.httphead import HEADER_LIMIT, BadHead, parse_head


def test_status_headers_and_challenges() -> None:
    head = parse_head(
        b"HTTP/1.1 407 Proxy Authentication Required\r\n"
        b"Proxy-Authenticate: Negotiate\r\n"
        b"Proxy-Authenticate: NTLM TlRMTVNTUAAC\r\n"
        b'proxy-authenticate: Basic realm="corp"\r\n'
        b"Content-Length: 12\r\n\r\n"
    )
    assert (head.minor, head.code, head.reason) == (1, 407, "Proxy Authentication Required")
    assert head.challenges() == {"negotiate": "", "ntlm": "TlRMTVNTUAAC", "basic": 'realm="corp"'}
    assert head.content_length == 12
    assert head.keeps_alive


@pytest.mark.parametrize(
    ("head", "alive"),
    [
        (b"HTTP/1.1 407 x\r\n\r\n", True),
        (b"HTTP/1.1 407 x\r\nConnection: close\r\n\r\n", False),
        (b"HTTP/1.1 407 x\r\nProxy-Connection: Keep-Alive, Close\r\n\r\n", False),
        (b"HTTP/1.0 407 x\r\n\r\n", False),
        (b"HTTP/1.0 407 x\r\nProxy-Connection: keep-alive\r\n\r\n", True),
    ],
)
def test_keep_alive(head: bytes, alive: bool) -> None:
    assert parse_head(head).keeps_alive is alive


@pytest.mark.parametrize("lengths", [(), ("abc",), ("5", "6"), ("-1",), ("1" * 13,)])
def test_a_length_that_is_missing_or_not_one_number_is_none(lengths: tuple[str, ...]) -> None:
    lines = "".join(f"Content-Length: {n}\r\n" for n in lengths)
    assert parse_head(f"HTTP/1.1 407 x\r\n{lines}\r\n".encode()).content_length is None


@pytest.mark.parametrize(
    ("head", "words"),
    [
        (b"SSH-2.0-OpenSSH_9\r\n\r\n", "is not an HTTP status line"),
        (b"HTTP/2 200 OK\r\n\r\n", "is not an HTTP status line"),
        (b"HTTP/1.1 200 OK\r\nno colon here\r\n\r\n", "is not an HTTP header line"),
        (b"HTTP/1.1 200 OK\r\nBad Name: x\r\n\r\n", "is not an HTTP header line"),
        (b"HTTP/1.1 200 OK\r\n" + b"X: y\r\n" * (HEADER_LIMIT + 1), "more than 100 header"),
    ],
)
def test_what_is_not_a_reply_head(head: bytes, words: str) -> None:
    with pytest.raises(BadHead, match=words):
        parse_head(head)


def test_control_characters_in_a_bad_line_are_escaped() -> None:
    with pytest.raises(BadHead) as caught:
        parse_head(b"\x1b[31mHTTP\x07\r\n\r\n")
    assert "\x1b" not in str(caught.value) and "\x07" not in str(caught.value)


@given(st.binary(max_size=400))
def test_any_bytes_give_a_head_or_bad_head(data: bytes) -> None:
    try:
        head = parse_head(data)
    except BadHead as exc:
        assert str(exc).isprintable()
    else:
        assert 0 <= head.code <= 999 and head.reason.isprintable()
        head.challenges(), head.content_length, head.keeps_alive  # never raise
