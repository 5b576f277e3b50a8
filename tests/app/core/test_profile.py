"""Profile fields: validation messages, host:port text forms and the wire bind address."""

from __future__ import annotations

import ipaddress
from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st

from app.core.profile import (
    DEFAULT_KEEPALIVE_COUNT_MAX,
    DEFAULT_KEEPALIVE_INTERVAL,
    DEFAULT_SSH_PORT,
    RESERVED_NAMES,
    Profile,
    format_hostport,
    forward_bind_address,
    is_ip_address,
    parse_hostport,
    profile_from_dict,
    validate_bind,
    validate_host,
    validate_interval,
    validate_name,
    validate_port,
    validate_user,
)
from app.errors import InvalidField

# --- strategies ----------------------------------------------------------------------

_label = st.from_regex(r"[A-Za-z0-9]([A-Za-z0-9-]{0,61}[A-Za-z0-9])?", fullmatch=True)
hostnames = (
    st.lists(_label, min_size=1, max_size=5)
    .map(".".join)
    .filter(lambda name: len(name) <= 253 and not name.replace(".", "").isdigit())
)
ipv4s = st.ip_addresses(v=4).map(str)
ipv6s = st.ip_addresses(v=6).map(str)
valid_hosts = st.one_of(hostnames, ipv4s, ipv6s)
valid_ports = st.integers(min_value=1, max_value=65535)


def fields(**overrides: Any) -> dict[str, Any]:
    data: dict[str, Any] = {
        "jumphost": "jump.vendor.example",
        "user": "acme",
        "remote_port": 40001,
        "target_host": "127.0.0.1",
        "target_port": 3306,
        "key_path": "/home/me/.ssh/id_tunnel",
    }
    data.update(overrides)
    return data


def invalid(call: Any, *args: Any) -> InvalidField:
    with pytest.raises(InvalidField) as info:
        call(*args)
    return info.value


# --- ports ---------------------------------------------------------------------------


@pytest.mark.parametrize("value", [1, 22, 65535, "1", "65535", " 443 ", "0080"])
def test_port_accepts_1_to_65535_as_int_or_text(value: object) -> None:
    assert validate_port(value, "remote_port") == int(str(value).strip())


@pytest.mark.parametrize("value", [0, 65536, -1, "0", "65536", "99999"])
def test_port_out_of_range_names_the_range(value: object) -> None:
    error = invalid(validate_port, value, "remote_port")
    assert error.field == "remote_port"
    assert "out of range" in str(error)
    assert "1–65535" in str(error)  # noqa: RUF001 - the message uses an en dash
    assert str(error).startswith("remote_port: ")


@pytest.mark.parametrize(
    "value",
    [
        "abc",
        "",
        " ",
        "22.0",
        22.0,
        None,
        "+80",
        "-0",
        "8_0",
        "0x16",
        "\u0668\u0660",
        "22\n22",
        "1e3",
    ],
)
def test_port_that_is_not_a_number_is_refused(value: object) -> None:
    error = invalid(validate_port, value, "ssh_port")
    assert error.field == "ssh_port"
    assert "is not a port number" in str(error)


@pytest.mark.parametrize("value", [True, False])
def test_port_refuses_booleans_even_though_they_are_ints(value: bool) -> None:
    error = invalid(validate_port, value, "target_port")
    assert "is not a port number" in error.message


@given(st.integers())
def test_port_accepts_exactly_the_range(value: int) -> None:
    if 1 <= value <= 65535:
        assert validate_port(value, "p") == value
        assert validate_port(str(value), "p") == value
    else:
        with pytest.raises(InvalidField):
            validate_port(value, "p")


# --- hosts ---------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        ("jump.vendor.example", "jump.vendor.example"),
        ("localhost", "localhost"),
        ("db-1", "db-1"),
        ("a", "a"),
        ("xn--bcher-kva.example", "xn--bcher-kva.example"),
        ("fully.qualified.", "fully.qualified."),
        ("  spaced.example  ", "spaced.example"),
        ("Mixed.Case.Example", "Mixed.Case.Example"),
        ("3com.example", "3com.example"),
        ("10.0.0.1", "10.0.0.1"),
        ("255.255.255.255", "255.255.255.255"),
        ("::1", "::1"),
        ("2001:db8::17", "2001:db8::17"),
        ("[2001:db8::17]", "2001:db8::17"),
        ("[::1]", "::1"),
        ("fe80::1%eth0", "fe80::1%eth0"),
        ("::ffff:192.0.2.1", "::ffff:192.0.2.1"),
        ("a" * 63 + ".example", "a" * 63 + ".example"),
    ],
)
def test_valid_hosts(value: str, expected: str) -> None:
    assert validate_host(value, "jumphost") == expected


@pytest.mark.parametrize(
    ("value", "message"),
    [
        ("", "a host name or IP address is required"),
        ("   ", "a host name or IP address is required"),
        ("[]", "a host name or IP address is required"),
        ("jump.example:22", "put the port in its own field"),
        ("10.0.0.1:22", "put the port in its own field"),
        ("2001:db8::zz", "put the port in its own field"),
        ("999.1.1.1", "is not a valid IPv4 address"),
        ("1.2.3", "is not a valid IPv4 address"),
        ("256.0.0.1", "is not a valid IPv4 address"),
        ("01.2.3.4", "is not a valid IPv4 address"),
        ("my host", "is not a valid host name"),
        ("my_host.example", "is not a valid host name"),
        ("-leading.example", "is not a valid host name"),
        ("trailing-.example", "is not a valid host name"),
        ("double..dot", "is not a valid host name"),
        (".", "is not a valid host name"),
        ("a" * 64 + ".example", "is not a valid host name"),
        (".".join(["a" * 63] * 4) + ".x", "is not a valid host name"),
        ("héllo.example", "is not a valid host name"),
        ("a\n.example", "is not a valid host name"),
        ("[jump.example]", "only an IPv6 address goes in brackets"),
        ("[10.0.0.1]", "only an IPv6 address goes in brackets"),
        ("fe80::1%a b", "is not a valid IP address"),
        ("fe80::1%]", "is not a valid IP address"),
    ],
)
def test_invalid_hosts_get_specific_messages(value: str, message: str) -> None:
    error = invalid(validate_host, value, "target_host")
    assert error.field == "target_host"
    assert message in error.message


def test_host_name_may_be_253_characters_but_not_254() -> None:
    longest = ".".join(["a" * 63, "b" * 63, "c" * 63, "d" * 61])
    assert len(longest) == 253
    assert validate_host(longest, "jumphost") == longest
    with pytest.raises(InvalidField):
        validate_host(longest + "d", "jumphost")


@given(hostnames)
def test_generated_host_names_are_accepted_verbatim(name: str) -> None:
    assert validate_host(name, "h") == name


@given(st.ip_addresses())
def test_every_ip_address_is_accepted_in_canonical_form(address: Any) -> None:
    text = str(address)
    assert is_ip_address(text)
    assert validate_host(text, "h") == text


@given(ipv6s)
def test_bracketed_ipv6_is_unwrapped(address: str) -> None:
    assert validate_host(f"[{address}]", "h") == address


@given(st.text())
def test_validate_host_raises_only_invalid_field(text: str) -> None:
    try:
        host = validate_host(text, "h")
    except InvalidField as error:
        assert error.field == "h"
    else:
        assert host == validate_host(host, "h")  # a valid result stays valid
        assert host.strip() == host and host


def test_is_ip_address() -> None:
    assert is_ip_address("192.0.2.1")
    assert is_ip_address("::")
    assert not is_ip_address("example.com")
    assert not is_ip_address("[::1]")
    assert not is_ip_address("1")
    assert not is_ip_address("")


# --- host:port text ------------------------------------------------------------------


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("db.internal:3306", ("db.internal", 3306)),
        ("127.0.0.1:5432", ("127.0.0.1", 5432)),
        ("[::1]:22", ("::1", 22)),
        ("[2001:db8::1]:65535", ("2001:db8::1", 65535)),
        ("  localhost:1  ", ("localhost", 1)),
        ("[fe80::1%eth0]:80", ("fe80::1%eth0", 80)),
    ],
)
def test_parse_hostport_accepts(text: str, expected: tuple[str, int]) -> None:
    assert parse_hostport(text) == expected


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("db.internal", "is not of the form HOST:PORT"),
        (":3306", "is not of the form HOST:PORT"),
        ("", "is not of the form HOST:PORT"),
        ("::1:22", "write an IPv6 address in brackets"),
        ("2001:db8::1", "write an IPv6 address in brackets"),
        ("[::1]", "is not of the form [IPv6]:PORT"),
        ("[::1", "is not of the form [IPv6]:PORT"),
        ("[::1]22", "is not of the form [IPv6]:PORT"),
        ("[::1]:", "is not a port number"),
        ("[10.0.0.1]:22", "in brackets is not an IPv6 address"),
        ("[db.internal]:22", "in brackets is not an IPv6 address"),
        ("db.internal:", "is not a port number"),
        ("db.internal:abc", "is not a port number"),
        ("db.internal:0", "out of range"),
        ("db.internal:65536", "out of range"),
        ("db_internal:22", "is not a valid host name"),
        ("999.1.1.1:22", "is not a valid IPv4 address"),
        ("a:\u0661", "is not a port number"),  # an Arabic-Indic digit one
        ("a:\uff11", "is not a port number"),
    ],
)
def test_parse_hostport_rejects(text: str, message: str) -> None:
    error = invalid(parse_hostport, text, "target")
    assert error.field == "target"
    assert message in error.message


def test_parse_hostport_uses_the_given_field_name() -> None:
    assert invalid(parse_hostport, "nope", "jump").field == "jump"
    assert invalid(parse_hostport, "nope").field == "target"


@pytest.mark.parametrize(
    ("host", "port", "text"),
    [("db", 1, "db:1"), ("10.0.0.1", 22, "10.0.0.1:22"), ("::1", 2222, "[::1]:2222")],
)
def test_format_hostport(host: str, port: int, text: str) -> None:
    assert format_hostport(host, port) == text


@given(valid_hosts, valid_ports)
def test_format_then_parse_round_trips(host: str, port: int) -> None:
    assert parse_hostport(format_hostport(host, port)) == (host, port)


@given(st.text())
def test_parse_hostport_raises_only_invalid_field(text: str) -> None:
    try:
        host, port = parse_hostport(text)
    except InvalidField as error:
        assert error.field == "target"
    else:
        assert 1 <= port <= 65535
        assert parse_hostport(format_hostport(host, port)) == (host, port)


@given(st.from_regex(r"[\[\]:0-9a-f.%]{0,20}", fullmatch=True))
def test_parse_hostport_on_address_like_noise(text: str) -> None:
    try:
        host, _port = parse_hostport(text)
    except InvalidField:
        return
    if ":" in host:  # an IPv6 result only comes out of brackets
        assert text.strip().startswith("[")
        assert isinstance(ipaddress.ip_address(host), ipaddress.IPv6Address)


# --- names, users, bind addresses, intervals ------------------------------------------


@pytest.mark.parametrize("name", ["t1", "vendor-db", "a_b", "X", "0", "a" * 64])
def test_valid_tunnel_names(name: str) -> None:
    assert validate_name(name) == name


@pytest.mark.parametrize(
    "name", ["", "a b", "a.b", "a/b", "ä", "a" * 65, "t1\n", "\nt1", "x:y", "-rf;"]
)
def test_invalid_tunnel_names(name: str) -> None:
    error = invalid(validate_name, name)
    assert error.field == "name"
    assert "letters, digits, '-' or '_'" in error.message


@given(st.text(max_size=70))
def test_tunnel_name_rule(name: str) -> None:
    allowed = set("abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789-_")
    ok = 1 <= len(name) <= 64 and set(name) <= allowed and name.lower() not in RESERVED_NAMES
    if ok:
        assert validate_name(name) == name
    else:
        with pytest.raises(InvalidField):
            validate_name(name)


@pytest.mark.parametrize("user", ["acme", "a.b", "_svc", "user@realm", "x-1"])
def test_valid_users(user: str) -> None:
    assert validate_user(user) == user


@pytest.mark.parametrize("user", ["", "-oProxyCommand=x", "a b", "root\n", "@x", "a" * 65])
def test_invalid_users(user: str) -> None:
    error = invalid(validate_user, user)
    assert error.field == "user"
    assert "is not a valid SSH user name" in error.message


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        (None, None),
        ("", ""),
        ("*", "*"),
        ("localhost", "localhost"),
        (" * ", "*"),
        ("0.0.0.0", "0.0.0.0"),
        ("[::]", "::"),
        ("bind.example", "bind.example"),
    ],
)
def test_validate_bind(value: str | None, expected: str | None) -> None:
    assert validate_bind(value) == expected


@pytest.mark.parametrize("value", ["host:22", "a b", "**"])
def test_validate_bind_rejects(value: str) -> None:
    assert invalid(validate_bind, value).field == "remote_bind"


@pytest.mark.parametrize(
    ("setting", "wire"),
    [
        (None, "localhost"),
        ("", ""),
        ("*", ""),
        ("localhost", "localhost"),
        ("0.0.0.0", "0.0.0.0"),
        ("::", "::"),
        ("10.1.2.3", "10.1.2.3"),
        ("gateway.example", "gateway.example"),
    ],
)
def test_forward_bind_address_mirrors_ssh_R(setting: str | None, wire: str) -> None:
    assert forward_bind_address(setting) == wire


@given(st.text().filter(lambda t: t not in ("", "*")))
def test_forward_bind_address_passes_other_text_verbatim(text: str) -> None:
    assert forward_bind_address(text) == text


@pytest.mark.parametrize(("value", "ok"), [(1, True), (3600, True), (0, False), (3601, False)])
def test_validate_interval_bounds(value: int, ok: bool) -> None:
    if ok:
        assert validate_interval(value, "keepalive_interval", 1, 3600) == value
    else:
        error = invalid(validate_interval, value, "keepalive_interval", 1, 3600)
        assert "must be between 1 and 3600" in error.message


@pytest.mark.parametrize("value", [True, "10", 1.5, None])
def test_validate_interval_wants_a_whole_number(value: object) -> None:
    error = invalid(validate_interval, value, "keepalive_count_max", 1, 100)
    assert error.field == "keepalive_count_max"
    assert "is not a whole number" in error.message


# --- whole profiles ------------------------------------------------------------------


def test_profile_from_dict_fills_defaults() -> None:
    profile = profile_from_dict("t1", fields())
    assert profile == Profile(
        name="t1",
        jumphost="jump.vendor.example",
        user="acme",
        remote_port=40001,
        target_host="127.0.0.1",
        target_port=3306,
        key_path="/home/me/.ssh/id_tunnel",
    )
    assert profile.ssh_port == DEFAULT_SSH_PORT == 22
    assert profile.remote_bind is None
    assert profile.keepalive_interval == DEFAULT_KEEPALIVE_INTERVAL
    assert profile.keepalive_count_max == DEFAULT_KEEPALIVE_COUNT_MAX
    assert profile.extra == {}


def test_profile_from_dict_normalises_text_fields() -> None:
    profile = profile_from_dict(
        "t1",
        fields(
            jumphost="[2001:db8::1]",
            ssh_port="2222",
            remote_port="40001",
            key_path="  /k  ",
            remote_bind=" * ",
        ),
    )
    assert profile.jumphost == "2001:db8::1"
    assert profile.ssh_port == 2222
    assert profile.remote_port == 40001
    assert profile.key_path == "/k"
    assert profile.remote_bind == "*"
    assert profile.endpoint == "[2001:db8::1]:2222"
    assert profile.target == "127.0.0.1:3306"
    assert profile.forward_bind == ""


@pytest.mark.parametrize(
    "key", ["jumphost", "user", "remote_port", "target_host", "target_port", "key_path"]
)
def test_profile_from_dict_requires(key: str) -> None:
    data = fields()
    del data[key]
    error = invalid(profile_from_dict, "t1", data)
    assert error.field == key
    assert "is missing" in error.message


@pytest.mark.parametrize(
    ("overrides", "field", "message"),
    [
        ({"jumphost": 5}, "jumphost", "must be text"),
        ({"user": ["a"]}, "user", "must be text"),
        ({"target_host": None}, "target_host", "must be text"),
        ({"key_path": 1}, "key_path", "must be text"),
        ({"key_path": "   "}, "key_path", "a private key file is required"),
        ({"remote_bind": 0}, "remote_bind", "must be text"),
        ({"remote_port": 0}, "remote_port", "out of range"),
        ({"remote_port": True}, "remote_port", "is not a port number"),
        ({"target_port": 70000}, "target_port", "out of range"),
        ({"ssh_port": "ssh"}, "ssh_port", "is not a port number"),
        ({"jumphost": "jump:22"}, "jumphost", "put the port in its own field"),
        ({"target_host": "bad_host"}, "target_host", "is not a valid host name"),
        ({"user": "bad user"}, "user", "is not a valid SSH user name"),
        ({"remote_bind": "x:1"}, "remote_bind", "not a valid IP address"),
        ({"keepalive_interval": 0}, "keepalive_interval", "between 1 and 3600"),
        ({"keepalive_count_max": 101}, "keepalive_count_max", "between 1 and 100"),
        ({"keepalive_count_max": "3"}, "keepalive_count_max", "not a whole number"),
    ],
)
def test_profile_from_dict_names_the_bad_field(
    overrides: dict[str, Any], field: str, message: str
) -> None:
    error = invalid(profile_from_dict, "t1", fields(**overrides))
    assert error.field == field
    assert message in error.message


def test_profile_from_dict_checks_the_name() -> None:
    assert invalid(profile_from_dict, "bad name", fields()).field == "name"


def test_unknown_fields_are_kept_aside_and_not_compared() -> None:
    profile = profile_from_dict("t1", fields(color="blue", notes={"a": 1}))
    assert profile.extra == {"color": "blue", "notes": {"a": 1}}
    assert "color" not in profile.to_dict()
    assert profile == profile_from_dict("t1", fields())


def test_to_dict_round_trips_and_omits_unset_bind() -> None:
    profile = profile_from_dict("t1", fields(ssh_port=2200, keepalive_interval=30))
    data = profile.to_dict()
    assert "remote_bind" not in data
    assert "extra" not in data
    assert data["name"] == "t1"
    name = data.pop("name")
    assert profile_from_dict(name, data) == profile

    bound = profile_from_dict("t2", fields(remote_bind=""))
    assert bound.to_dict()["remote_bind"] == ""
    assert bound.forward_bind == ""


def test_forward_bind_property_defaults_to_localhost() -> None:
    assert profile_from_dict("t1", fields()).forward_bind == "localhost"
    assert profile_from_dict("t1", fields(remote_bind="10.9.8.7")).forward_bind == "10.9.8.7"
