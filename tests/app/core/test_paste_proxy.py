"""The paste parser reads a proxy from ProxyCommand helpers; jump hosts are noted, not used."""

from __future__ import annotations

import shlex

import pytest
from hypothesis import given
from hypothesis import strategies as st

from app.core.paste import parse_paste
from app.errors import PasteError

COMMAND = "ssh -N -R 5000:db:5432 {option} u@jump.example"
BLOCK = "Host jump\n  HostName jump.example\n  User u\n  ProxyCommand {helper}\n"


@pytest.mark.parametrize(
    ("helper", "proxy"),
    [
        ("nc -X connect -x 10.0.0.5:3128 %h %p", "http://10.0.0.5:3128"),
        ("nc -X connect -x proxy.corp %h %p", "http://proxy.corp:3128"),
        ("nc -X 5 -x 10.0.0.5:1080 %h %p", "socks5://10.0.0.5:1080"),
        ("nc -x 10.0.0.5:1080 %h %p", "socks5://10.0.0.5:1080"),  # nc's default: SOCKS5
        (
            "/usr/bin/nc -w 30 -X connect -P alice -x 10.0.0.5:3128 %h %p",
            "http://alice@10.0.0.5:3128",
        ),
        ("nc -Xconnect -x[::1]:3128 %h %p", "http://[::1]:3128"),
        ("connect-proxy -H 10.0.0.5:3128 %h %p", "http://10.0.0.5:3128"),
        ("connect -H proxy.corp %h %p", "http://proxy.corp:8080"),
        ("connect -H alice@proxy.corp:3128 %h %p", "http://alice@proxy.corp:3128"),
        ("connect -S 10.0.0.5:1080 %h %p", "socks5://10.0.0.5:1080"),
        ("connect -5 -S proxy.corp %h %p", "socks5://proxy.corp:1080"),
        ("C:\\tools\\connect.exe -H 10.0.0.5:3128 %h %p", "http://10.0.0.5:3128"),
        ("corkscrew proxy.corp 3128 %h %p", "http://proxy.corp:3128"),
    ],
)
def test_proxy_helpers_in_a_host_block_fill_the_proxy(helper: str, proxy: str) -> None:
    result = parse_paste(BLOCK.format(helper=helper))
    assert result.fields["proxy"] == proxy
    assert result.fields["jumphost"] == "jump.example"
    assert not result.ignored


@pytest.mark.parametrize(
    ("option", "proxy"),
    [
        ("-o 'ProxyCommand=nc -X connect -x 10.0.0.5:3128 %h %p'", "http://10.0.0.5:3128"),
        ('-o "ProxyCommand nc -X 5 -x 10.0.0.5:1080 %h %p"', "socks5://10.0.0.5:1080"),
        ("-o 'ProxyCommand=connect-proxy -S proxy.corp:1080 %h %p'", "socks5://proxy.corp:1080"),
        ("-o 'ProxyCommand corkscrew 10.0.0.5 8080 %h %p'", "http://10.0.0.5:8080"),
    ],
)
def test_dash_o_proxy_command_in_an_ssh_command(option: str, proxy: str) -> None:
    result = parse_paste(COMMAND.format(option=option))
    assert result.fields["proxy"] == proxy
    assert result.fields["remote_port"] == 5000 and result.fields["user"] == "u"


def test_corkscrew_s_password_file_is_noted_not_read() -> None:
    result = parse_paste(BLOCK.format(helper="corkscrew proxy.corp 3128 %h %p ~/.corkscrew"))
    assert result.fields["proxy"] == "http://proxy.corp:3128"
    assert "password file ~/.corkscrew is not read" in result.ignored[0]


@pytest.mark.parametrize(
    ("helper", "why"),
    [
        ("nc -X 4 -x 10.0.0.5:1080 %h %p", "SOCKS4 proxies are not supported"),
        ("connect -4 -S 10.0.0.5:1080 %h %p", "SOCKS4 proxies are not supported"),
        ("nc -X connect %h %p", "names no proxy"),
        ("nc -X connect -x", "-x has no value"),
        ("nc -X gopher -x h:1 %h %p", "not a proxy protocol"),
        ("nc -X connect -x 10.0.0.5:99999 %h %p", "out of range"),
        ("nc -X connect -x bad_host!:3128 %h %p", "the proxy 'bad_host!:3128'"),
        ("nc -X connect -x 10.0.0.5:3128 db.internal 5432", "does not end in %h %p"),
        ("nc -X connect -x 10.0.0.5:3128 %h %p extra", "does not end in %h %p"),
        ("connect %h %p", "names no proxy"),
        ("connect -H a:1 -S b:2 %h %p", "both an HTTP (-H) and a SOCKS (-S)"),
        ("corkscrew proxy.corp %h %p", "corkscrew takes"),
        ("corkscrew proxy.corp port %h %p", "the proxy 'proxy.corp:port'"),
        ("socat - PROXY:10.0.0.5:%h:%p,proxyport=3128", "runs no ProxyCommand"),
        ("openssl s_client -connect %h:%p", "runs no ProxyCommand"),
    ],
)
def test_malformed_helpers_leave_the_proxy_unset_with_a_clear_note(helper: str, why: str) -> None:
    result = parse_paste(BLOCK.format(helper=helper))
    assert "proxy" not in result.fields
    (note,) = result.ignored
    assert note.startswith("ProxyCommand ") and "is ignored: " in note
    assert why in note, note
    assert result.fields["jumphost"] == "jump.example"  # the rest of the paste stands


def test_proxy_command_none_is_no_proxy_command() -> None:
    result = parse_paste(BLOCK.format(helper="none"))
    assert "proxy" not in result.fields and not result.ignored


def test_a_placeholder_proxy_is_reported_as_one() -> None:
    result = parse_paste(BLOCK.format(helper="nc -X connect -x <proxy-host>:3128 %h %p"))
    assert "proxy" not in result.fields
    assert result.placeholders["proxy"] == "<proxy-host>:3128"


def test_the_first_proxy_wins_and_a_later_one_is_noted() -> None:
    text = BLOCK.format(helper="nc -X connect -x 10.0.0.5:3128 %h %p") + (
        "ssh -o 'ProxyCommand nc -X 5 -x 10.0.0.6:1080 %h %p' -R 5000:db:1 u@jump.example\n"
    )
    result = parse_paste(text)
    assert result.fields["proxy"] == "http://10.0.0.5:3128"
    assert any("the proxy socks5://10.0.0.6:1080" in note for note in result.ignored)


def test_an_unbalanced_quote_is_a_paste_error_not_a_traceback() -> None:
    with pytest.raises(PasteError, match="unbalanced quote"):
        parse_paste(BLOCK.format(helper="nc -X connect -x '10.0.0.5:3128 %h %p"))


_host = st.one_of(
    st.ip_addresses(v=4).map(str),
    st.from_regex(r"[a-z][a-z0-9-]{0,12}[a-z0-9]\.(corp|example|net)", fullmatch=True),
)
_forms = {
    "nc-http": ("nc -X connect -x {hp} %h %p", "http"),
    "nc-socks": ("nc -X 5 -x {hp} %h %p", "socks5"),
    "connect-http": ("connect-proxy -H {hp} %h %p", "http"),
    "connect-socks": ("connect -S {hp} %h %p", "socks5"),
    "corkscrew": ("corkscrew {h} {p} %h %p", "http"),
}


@given(st.sampled_from(sorted(_forms)), _host, st.integers(1, 65535), st.booleans())
def test_every_helper_form_gives_its_proxy(form: str, host: str, port: int, dash_o: bool) -> None:
    template, scheme = _forms[form]
    helper = template.format(hp=f"{host}:{port}", h=host, p=port)
    if dash_o:
        text = COMMAND.format(option=f"-o {shlex.quote('ProxyCommand=' + helper)}")
    else:
        text = BLOCK.format(helper=helper)
    assert parse_paste(text).fields["proxy"] == f"{scheme}://{host}:{port}"


_word = st.one_of(
    st.sampled_from(["nc", "connect", "corkscrew", "-X", "-x", "-H", "-S", "-P", "%h", "%p"]),
    st.sampled_from(["connect", "5", "4", "10.0.0.5:3128", "[::1]", "h:0", ":", "@", "-"]),
    st.text(st.characters(blacklist_categories=["Cs", "Cc"]), min_size=1, max_size=8),
)


@given(st.lists(_word, min_size=1, max_size=8))
def test_any_proxy_command_gives_a_proxy_a_note_or_a_paste_error(words: list[str]) -> None:
    text = BLOCK.format(helper=" ".join(words))
    try:
        result = parse_paste(text)
    except PasteError:
        return
    proxy = result.fields.get("proxy")
    assert proxy is None or str(proxy).split("://")[0] in ("http", "socks5")
