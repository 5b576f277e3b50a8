"""Reading ``HOST:PORT`` for the metrics endpoint, and telling loopback from the rest."""

from __future__ import annotations

import ipaddress

import pytest
from hypothesis import given
from hypothesis import strategies as st

from app.core.listen_address import ListenAddress, parse_listen_address
from app.errors.metrics import BadListenAddress


@pytest.mark.parametrize(
    ("text", "host", "port", "loopback"),
    [
        ("127.0.0.1:9464", "127.0.0.1", 9464, True),
        ("9464", "127.0.0.1", 9464, True),  # a bare port stays on this machine
        (" 127.0.0.2:1 ", "127.0.0.2", 1, True),
        ("localhost:9464", "localhost", 9464, True),
        ("LOCALHOST:0", "LOCALHOST", 0, True),
        ("[::1]:9464", "::1", 9464, True),
        ("0.0.0.0:9464", "0.0.0.0", 9464, False),
        ("[::]:9464", "::", 9464, False),
        ("192.0.2.10:9464", "192.0.2.10", 9464, False),
        ("monitor.example:9464", "monitor.example", 9464, False),  # a name is never trusted
        ("[::ffff:127.0.0.1]:80", "::ffff:127.0.0.1", 80, False),
    ],
)
def test_reads_addresses(text: str, host: str, port: int, loopback: bool) -> None:
    address = parse_listen_address(text)
    assert address == ListenAddress(host, port)
    assert address.loopback is loopback


@pytest.mark.parametrize(
    ("text", "why"),
    [
        ("", "it is empty"),
        ("127.0.0.1", "give HOST:PORT"),
        (":9464", "give the host"),
        ("127.0.0.1:", "the port must be a number"),
        ("127.0.0.1:65536", "the port must be a number"),
        ("127.0.0.1:-1", "the port must be a number"),
        ("::1:9464", "in brackets"),
        ("[::1]9464", "[ADDRESS]:PORT"),
        ("[127.0.0.1]:80", "is not an IPv6 address"),
        ("http://x:80", "without http://"),
        ("127.0.0.1:9464/metrics", "without http:// or a path"),
        ("a b:80", "is not a host name"),
    ],
)
def test_refuses_what_is_no_address(text: str, why: str) -> None:
    with pytest.raises(BadListenAddress, match="cannot be used") as refused:
        parse_listen_address(text)
    assert why in str(refused.value)


def test_label_is_what_a_person_types() -> None:
    assert ListenAddress("::1", 9464).label == "[::1]:9464"
    assert ListenAddress("127.0.0.1", 9464).label == "127.0.0.1:9464"


@given(st.ip_addresses(), st.integers(0, 65535))
def test_the_label_reads_back_and_loopback_is_the_ip_rule(
    ip: ipaddress.IPv4Address | ipaddress.IPv6Address, port: int
) -> None:
    address = ListenAddress(str(ip), port)
    assert parse_listen_address(address.label) == address
    assert address.loopback is ip.is_loopback


@given(st.text(max_size=40))
def test_any_text_is_an_address_or_a_sentence(text: str) -> None:
    try:
        address = parse_listen_address(text)
    except BadListenAddress as exc:
        assert "\n" not in str(exc)  # control characters escaped
    else:
        assert 0 <= address.port <= 65535 and address.host
