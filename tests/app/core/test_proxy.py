"""Proxy specs, passwords split off, the environment's proxy and NO_PROXY (pure logic)."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from app.core.proxy import (
    NONE,
    SYSTEM,
    ProxySetting,
    Route,
    choose_route,
    parse_proxy,
    proxy_secret_name,
    split_password,
)
from app.core.supervise import Failure, failure_of
from app.errors import (
    InvalidField,
    ProxyAuthFailed,
    ProxyCannotReach,
    ProxyNoAnswer,
    ProxyRefused,
    Then,
)

SCHEMES = st.sampled_from(["http", "https", "socks5", "socks5h"])
LABELS = st.from_regex(r"[a-z][a-z0-9-]{0,10}[a-z0-9]", fullmatch=True)
HOSTS = st.one_of(
    st.lists(LABELS, min_size=1, max_size=3).map(".".join),
    st.ip_addresses(v=4).map(str),
    st.ip_addresses(v=6).map(str),
)
PORTS = st.integers(1, 65535)
USERS = st.one_of(st.none(), st.text(st.characters(categories=["L", "N", "P"]), min_size=1))


def settings() -> st.SearchStrategy[ProxySetting]:
    return st.builds(ProxySetting, st.just("url"), SCHEMES, HOSTS, PORTS, USERS)


@given(settings())
def test_the_canonical_text_reads_back_as_the_same_setting(setting: ProxySetting) -> None:
    assert parse_proxy(setting.text) == setting
    assert parse_proxy(setting.text).text == setting.text


@given(st.text(max_size=80))
def test_any_text_is_a_setting_or_a_clear_sentence(text: str) -> None:
    try:
        setting = parse_proxy(text)
    except InvalidField as exc:
        assert exc.field == "proxy"
        assert exc.message.endswith(".")
        return
    assert setting.kind in ("none", "system", "url")


@given(settings(), st.text(min_size=0, max_size=20))
def test_a_password_is_split_off_and_the_rest_parses(setting: ProxySetting, pw: str) -> None:
    user = setting.user or "alice"
    with_user = ProxySetting("url", setting.scheme, setting.host, setting.port, user)
    typed = with_user.text.replace("@", ":" + pw.replace("%", "%25").replace("@", "%40") + "@", 1)
    spec, password = split_password(typed)
    assert password == pw  # percent-decoded
    assert parse_proxy(spec) == with_user
    with pytest.raises(InvalidField, match="password"):
        parse_proxy(typed)


@given(st.text(max_size=60))
def test_split_password_never_raises(text: str) -> None:
    spec, password = split_password(text)
    assert password is None or spec != text


@pytest.mark.parametrize(
    ("text", "label"),
    [
        ("http://10.0.0.5:3128", "HTTP proxy 10.0.0.5:3128"),
        ("HTTP://Alice@proxy.corp:8080/", "HTTP proxy proxy.corp:8080"),
        ("socks5://[::1]:1080", "SOCKS5 proxy [::1]:1080"),
        ("socks5h://gw:1080", "SOCKS5h proxy gw:1080"),
        (" none ", "no proxy"),
        ("System", "the system's proxy"),
    ],
)
def test_labels(text: str, label: str) -> None:
    assert parse_proxy(text).label == label


@pytest.mark.parametrize(
    ("text", "words"),
    [
        ("", "no proxy given"),
        ("proxy.corp:3128", "is not a proxy"),
        ("socks4://gw:1080", "scheme ('socks4')"),
        ("http://proxy.corp", "HOST:PORT"),
        ("http://proxy.corp:0", "out of range"),
        ("http://proxy.corp:3128/path", "has a path"),
        ("http://@proxy.corp:3128", "user name"),
        ("http://a:b@proxy.corp:3128", "password"),
        ("http://bad_host!:3128", "not a valid host name"),
        ("http://\x1b[31m:1", "\\x1b"),
    ],
)
def test_malformed_specs_give_sentences(text: str, words: str) -> None:
    with pytest.raises(InvalidField) as caught:
        parse_proxy(text)
    assert words in str(caught.value)


@pytest.mark.parametrize(
    "text",
    ["http://al:pw123@host:99999", "http://al:pw123@10.0.0.5:3128", "ftp://al:pw123@h:1"],
)
def test_a_sentence_never_shows_the_password(text: str) -> None:
    errors: list[InvalidField] = []
    with pytest.raises(InvalidField) as caught:
        parse_proxy(text)  # a tunnel's own setting never holds one
    errors.append(caught.value)
    try:  # HTTPS_PROXY may hold one, but one it cannot use is said without it
        choose_route(SYSTEM, {"HTTPS_PROXY": text}, "jump.example", 22)
    except InvalidField as exc:
        errors.append(exc)
    assert len(errors) == (1 if "10.0.0.5" in text else 2)
    for error in errors:
        assert "pw123" not in str(error)
        assert "al:***@" in str(error)


def test_the_secret_name_names_the_proxy_and_user() -> None:
    setting = parse_proxy("http://alice@10.0.0.5:3128")
    assert proxy_secret_name(setting) == "proxy:http://alice@10.0.0.5:3128"


# --- routes ------------------------------------------------------------------------------


def test_none_and_an_own_proxy_ignore_the_environment() -> None:
    env = {"HTTPS_PROXY": "http://10.0.0.5:3128"}
    assert choose_route(NONE, env, "jump", 22).label == "direct"
    own = parse_proxy("socks5://gw:1080")
    route = choose_route(own, {"NO_PROXY": "*"}, "jump", 22)
    assert route.proxy == own
    assert route.label == "via SOCKS5 proxy gw:1080"


def test_system_reads_https_proxy_then_all_proxy_lower_case_first() -> None:
    assert choose_route(SYSTEM, {}, "jump", 22) == Route(None, "direct: no proxy set")
    route = choose_route(SYSTEM, {"HTTPS_PROXY": "http://10.0.0.5:3128"}, "jump", 22)
    assert route.why == "via HTTP proxy 10.0.0.5:3128 (HTTPS_PROXY)"
    assert route.label == "via HTTP proxy 10.0.0.5:3128"
    both = {"HTTPS_PROXY": "http://upper:1", "https_proxy": "http://lower:2"}
    assert choose_route(SYSTEM, both, "jump", 22).proxy == parse_proxy("http://lower:2")
    fallback = {"ALL_PROXY": "socks5h://gw:1080", "HTTPS_PROXY": " "}
    assert choose_route(SYSTEM, fallback, "jump", 22).why == (
        "via SOCKS5h proxy gw:1080 (ALL_PROXY)"
    )


def test_an_environment_proxy_may_leave_out_scheme_and_port_and_carry_a_password() -> None:
    route = choose_route(SYSTEM, {"https_proxy": "alice:s3cret@proxy.corp"}, "jump", 22)
    assert route.proxy == ProxySetting("url", "http", "proxy.corp", 80, "alice")
    assert route.password == "s3cret"
    assert "s3cret" not in repr(route)


def test_an_unusable_environment_proxy_is_a_sentence() -> None:
    with pytest.raises(InvalidField, match=r"HTTPS_PROXY\) cannot be used"):
        choose_route(SYSTEM, {"HTTPS_PROXY": "socks4://gw:1080"}, "jump", 22)


@pytest.mark.parametrize(
    ("no_proxy", "host", "port", "direct"),
    [
        ("*", "anything.example", 22, True),
        ("127.0.0.1", "127.0.0.1", 22, True),
        ("localhost,127.0.0.1", "127.0.0.2", 22, False),
        ("corp.example", "corp.example", 22, True),
        ("corp.example", "jump.corp.example", 22, True),
        (".corp.example", "jump.corp.example", 22, True),
        ("*.corp.example", "jump.corp.example", 22, True),
        ("corp.example", "evilcorp.example", 22, False),
        ("JUMP.example.", "jump.example", 22, True),
        ("jump.example:2222", "jump.example", 2222, True),
        ("jump.example:2222", "jump.example", 22, False),
        ("10.0.0.0/8", "10.20.30.40", 22, True),
        ("10.0.0.0/8", "11.0.0.1", 22, False),
        ("10.0.0.0/8", "ten.example", 22, False),
        ("[::1]:22", "::1", 22, True),
        ("fd00::/8", "fd12::1", 22, True),
        ("  a.example  b.example ", "b.example", 22, True),
        (",,nonsense/99,", "b.example", 22, False),
    ],
)
def test_no_proxy(no_proxy: str, host: str, port: int, direct: bool) -> None:
    env = {"HTTPS_PROXY": "http://10.0.0.5:3128", "no_proxy": no_proxy}
    route = choose_route(SYSTEM, env, host, port)
    assert (route.proxy is None) is direct
    if direct:
        assert route.why == f"direct: {host} is in NO_PROXY"


@given(HOSTS, PORTS, st.text(max_size=40))
def test_no_proxy_never_raises(host: str, port: int, no_proxy: str) -> None:
    env = {"HTTPS_PROXY": "http://10.0.0.5:3128", "NO_PROXY": no_proxy}
    assert choose_route(SYSTEM, env, host, port).why


# --- the errors' sentences and what they imply ------------------------------------------------


def test_the_sentences_of_the_issue() -> None:
    refused = ProxyRefused("10.0.0.5:3128", "virginia-tunnel.flydata.app", 50683, "HTTP 403")
    assert str(refused) == (
        "the proxy 10.0.0.5:3128 refused to connect to port 50683 (HTTP 403) — many proxies "
        "allow only port 443; ask your network team to allow virginia-tunnel.flydata.app:50683"
    )
    auth = ProxyAuthFailed("10.0.0.5:3128")
    assert auth.fact == "proxy authentication failed (407)"
    assert "the proxy did not answer" in str(ProxyNoAnswer("10.0.0.5:3128", "timed out"))


def test_what_proxy_errors_imply_for_the_next_attempt() -> None:
    assert ProxyAuthFailed("p:1").then is Then.WAIT_FOR_USER
    assert failure_of(ProxyAuthFailed("p:1")) is Failure.NEEDS_USER
    assert failure_of(ProxyNoAnswer("p:1", "refused")) is Failure.UNREACHABLE
    assert failure_of(ProxyCannotReach("p:1", "h", 1, "HTTP 503")) is Failure.UNREACHABLE
    assert failure_of(ProxyRefused("p:1", "h", 1, "HTTP 403")) is Failure.NETWORK
