"""Jump hosts in a paste: -J, ProxyJump and ProxyCommand ssh -W, and their malformed forms."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from app.core.paste import parse_paste
from app.errors import PasteError

COMMAND = "ssh -N {option} -R 58115:db.internal:5432 sshtunnel@virginia-tunnel.flydata.app"
BLOCK = """Host vendor
  HostName virginia-tunnel.flydata.app
  User sshtunnel
  {line}
  RemoteForward 58115 db.internal:5432
"""


@pytest.mark.parametrize(
    ("option", "jump"),
    [
        ("-J alice@bastion.corp:2222", "alice@bastion.corp:2222"),
        ("-J bastion.corp", "bastion.corp:22"),
        ("-J a@h1,b@h2:23", "a@h1:22,b@h2:23"),
        ("-Jalice@bastion.corp", "alice@bastion.corp:22"),
        ("-o ProxyJump=alice@bastion.corp:2222", "alice@bastion.corp:2222"),
        ("-o 'ProxyJump alice@bastion.corp'", "alice@bastion.corp:22"),
        ("-o 'ProxyCommand ssh -W %h:%p alice@bastion.corp'", "alice@bastion.corp:22"),
        ("-o 'ProxyCommand ssh -W %h:%p -p 2222 alice@bastion.corp'", "alice@bastion.corp:2222"),
        ("-o 'ProxyCommand=/usr/bin/ssh -q -W %h:%p -l me bastion.corp'", "me@bastion.corp:22"),
        ("-o 'ProxyCommand ssh -J a@h1 -W [%h]:%p b@h2'", "a@h1:22,b@h2:22"),
        ("-o 'ProxyCommand ssh.exe -W %h:%p ssh://me@[::1]:2200'", "me@[::1]:2200"),
    ],
)
def test_jump_forms_fill_jump(option: str, jump: str) -> None:
    result = parse_paste(COMMAND.format(option=option))
    assert result.fields["jump"] == jump, result.ignored
    assert result.fields["jumphost"] == "virginia-tunnel.flydata.app"
    assert "proxy" not in result.fields
    assert result.ignored == ()


@pytest.mark.parametrize(
    ("line", "jump"),
    [
        ("ProxyJump alice@bastion.corp:2222", "alice@bastion.corp:2222"),
        ("ProxyJump=a@h1,b@h2", "a@h1:22,b@h2:22"),
        ("ProxyCommand ssh -W %h:%p -p 2222 alice@bastion.corp", "alice@bastion.corp:2222"),
    ],
)
def test_a_host_block_s_jump_fills_jump(line: str, jump: str) -> None:
    result = parse_paste(BLOCK.format(line=line))
    assert result.fields["jump"] == jump, result.ignored


def test_proxyjump_none_is_no_jump_host() -> None:
    result = parse_paste(BLOCK.format(line="ProxyJump none"))
    assert "jump" not in result.fields and result.ignored == ()


def test_a_placeholder_jump_host_is_still_to_fill_in() -> None:
    result = parse_paste(COMMAND.format(option="-J <bastion>"))
    assert result.placeholders["jump"] == "<bastion>"


@pytest.mark.parametrize(
    ("option", "why"),
    [
        ("-J 'bad host'", "is not a jump host"),
        ("-J a@h:99999", "out of range"),
        ("-o ProxyJump=a@,b", "host name or IP address is required"),
        ("-o 'ProxyCommand ssh bastion.corp'", "without -W %h:%p"),
        ("-o 'ProxyCommand ssh -W db:5432 bastion.corp'", "does not forward to %h:%p"),
        ("-o 'ProxyCommand ssh -W %h:%p'", "no single jump host"),
        ("-o 'ProxyCommand ssh -W %h:%p bastion.corp uptime'", "no single jump host"),
        ("-o 'ProxyCommand ssh -W %h:%p -p'", "-p has no value"),
        ("-o 'ProxyCommand ssh -W %h:%p -p x bastion.corp'", "not a port number"),
    ],
)
def test_malformed_jump_forms_are_notes(option: str, why: str) -> None:
    result = parse_paste(COMMAND.format(option=option))
    assert "jump" not in result.fields
    (note,) = result.ignored
    assert "is ignored" in note and why in note, note


_WORDS = st.lists(
    st.sampled_from(["-W", "%h:%p", "-p", "22", "-l", "me", "-J", "a@b", "-q", "h", "x@[::1]"])
    | st.text(alphabet="ab@:[],%-0123456789", max_size=12),
    max_size=8,
)


@given(_WORDS)
def test_any_proxycommand_ssh_gives_a_value_or_a_note(words: list[str]) -> None:
    quoted = " ".join(f"'{w}'" if w else "''" for w in words if "'" not in w)
    try:
        result = parse_paste(COMMAND.format(option=f"-o 'ProxyCommand=ssh {quoted}'"))
    except PasteError:
        return  # the paste as a whole is not understood: a sentence, no traceback
    assert "jump" in result.fields or "jump" in result.placeholders or result.ignored


@given(st.text(max_size=40))
def test_any_proxyjump_value_gives_a_value_or_a_note(value: str) -> None:
    try:
        result = parse_paste(BLOCK.format(line=f"ProxyJump {value}"))
    except PasteError:
        return
    assert isinstance(result.fields.get("jump", ""), str)
