"""Jump hosts: the chain's text form, the profile field, and what counts as a change."""

from __future__ import annotations

from dataclasses import replace

import pytest
from hypothesis import given
from hypothesis import strategies as st

from app.core.jump import MAX_HOPS, Hop, jump_text, parse_jump, route_label, validate_jump
from app.core.profile import FIELDS, connection_changes, profile_from_dict
from app.errors import InvalidField

BASE = {
    "jumphost": "virginia-tunnel.flydata.app",
    "ssh_port": 50683,
    "user": "sshtunnel",
    "remote_port": 58115,
    "target_host": "db",
    "target_port": 5432,
    "key_path": "/k",
}


@pytest.mark.parametrize(
    ("given", "hops"),
    [
        ("alice@bastion.corp", (Hop("alice", "bastion.corp", 22),)),
        ("alice@bastion.corp:2222", (Hop("alice", "bastion.corp", 2222),)),
        ("bastion.corp", (Hop(None, "bastion.corp", 22),)),
        ("ssh://bob@10.0.0.1:23/", (Hop("bob", "10.0.0.1", 23),)),
        ("me@[::1]:2200", (Hop("me", "::1", 2200),)),
        ("me@::1", (Hop("me", "::1", 22),)),
        (" a@h1 , b@h2:99 ", (Hop("a", "h1", 22), Hop("b", "h2", 99))),
        ("none", ()),
        ("", ()),
    ],
)
def test_chains_parse(given: str, hops: tuple[Hop, ...]) -> None:
    assert parse_jump(given) == hops


@pytest.mark.parametrize(
    ("given", "why"),
    [
        ("alice@", "host name or IP address is required"),
        ("a@h,,b@h", "empty jump host"),
        ("a@h:0", "out of range"),
        ("a@h:port", "not a port number"),
        ("a@bad_host!", "not a jump host"),
        ("a b@h", "user name"),
        ("me@[::1", "unclosed"),
        ("me@[::1]x", "after the ']'"),
        (",".join(["a@h"] * (MAX_HOPS + 1)), "too many"),
        ("a@h" + "x" * 3000, "longer than"),
    ],
)
def test_malformed_chains_say_why(given: str, why: str) -> None:
    with pytest.raises(InvalidField) as raised:
        parse_jump(given)
    assert raised.value.field == "jump"
    assert why in str(raised.value)


_LABEL = st.from_regex(r"[a-z][a-z0-9]{0,10}", fullmatch=True)
_HOPS = st.lists(
    st.builds(
        Hop,
        st.none() | st.from_regex(r"[a-z_][a-z0-9._-]{0,15}", fullmatch=True),
        st.builds(".".join, st.lists(_LABEL, min_size=1, max_size=3)) | st.ip_addresses().map(str),
        st.integers(1, 65535),
    ),
    min_size=1,
    max_size=MAX_HOPS,
).map(tuple)


@given(_HOPS)
def test_the_canonical_text_reads_back_as_the_same_chain(hops: tuple[Hop, ...]) -> None:
    text = jump_text(hops)
    assert text is not None
    assert parse_jump(text) == hops
    assert validate_jump(text) == text


@given(st.text(max_size=80))
def test_any_text_parses_or_says_why_never_a_traceback(text: str) -> None:
    try:
        hops = parse_jump(text)
    except InvalidField as exc:
        assert exc.field == "jump"
    else:
        assert len(hops) <= MAX_HOPS


def test_route_label_names_the_hops() -> None:
    assert route_label(parse_jump("a@bastion.corp")) == "via jump host bastion.corp:22"
    assert route_label(parse_jump("a@h1,b@[::1]:2")) == "via jump hosts h1:22 then [::1]:2"


def test_a_profile_without_the_field_reads_as_none_and_writes_nothing() -> None:
    profile = profile_from_dict("warehouse", dict(BASE))
    assert profile.jump is None
    assert "jump" not in profile.to_dict()
    assert "jump" in FIELDS and "jump" not in profile.extra


def test_a_profile_keeps_its_jump_hosts_canonical() -> None:
    profile = profile_from_dict("warehouse", {**BASE, "jump": "ssh://a@bastion.corp"})
    assert profile.jump == "a@bastion.corp:22"
    assert profile.to_dict()["jump"] == "a@bastion.corp:22"
    assert profile_from_dict("warehouse", profile.to_dict()) == profile
    with pytest.raises(InvalidField):
        profile_from_dict("warehouse", {**BASE, "jump": 5})


def test_changing_the_jump_hosts_is_a_connection_change() -> None:
    before = profile_from_dict("warehouse", dict(BASE))
    after = replace(before, jump="a@bastion.corp:22")
    assert connection_changes(before, after) == {"jump"}
    assert connection_changes(after, replace(after, name="renamed")) == set()
