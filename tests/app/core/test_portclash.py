"""Two tunnels asking one jumphost for one port: which profiles collide, and what is said."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from app.core.portclash import binds_overlap, clash_sentence, listen_label, same_port
from app.core.profile import Profile


def profile(name: str = "warehouse", **fields: object) -> Profile:
    values: dict[str, object] = {
        "name": name,
        "jumphost": "tunnel.vendor.example",
        "ssh_port": 50683,
        "user": "sshtunnel",
        "remote_port": 58115,
        "target_host": "localhost",
        "target_port": 3306,
        "key_path": "/keys/warehouse",
        "remote_bind": "127.0.0.1",
    }
    values.update(fields)
    return Profile(**values)  # type: ignore[arg-type]


def clashes(others: list[Profile], **asked: object) -> list[str]:
    wanted: dict[str, object] = {
        "jumphost": "tunnel.vendor.example",
        "ssh_port": 50683,
        "remote_port": 58115,
        "remote_bind": None,
    }
    wanted.update(asked)
    return [
        p.name
        for p in same_port(
            str(wanted["jumphost"]),
            int(str(wanted["ssh_port"])),
            int(str(wanted["remote_port"])),
            wanted["remote_bind"],  # type: ignore[arg-type]
            others,
        )
    ]


def test_the_same_jumphost_port_and_bind_is_found_and_said() -> None:
    warehouse = profile()
    assert clashes([warehouse]) == ["warehouse"]  # None (localhost) and 127.0.0.1 collide
    assert clash_sentence(warehouse) == (
        "tunnel 'warehouse' already uses 127.0.0.1:58115 on this jumphost; the vendor "
        "allocates one port per tunnel, so only one of them can connect at a time."
    )


@pytest.mark.parametrize(
    ("asked", "found"),
    [
        ({"jumphost": "TUNNEL.Vendor.example."}, True),  # one host, spelled differently
        ({"remote_port": 58116}, False),
        ({"ssh_port": 22}, False),  # another SSH port: another jumphost (Hightouch-style)
        ({"jumphost": "other.vendor.example"}, False),
        ({"remote_bind": ""}, True),  # every address takes the loopback one too
        ({"remote_bind": "0.0.0.0"}, True),
        ({"remote_bind": "::1"}, True),
        ({"remote_bind": "localhost"}, True),
        ({"remote_bind": "10.0.0.5"}, False),  # two specific addresses: both can listen
    ],
)
def test_what_counts_as_the_same_port(asked: dict[str, object], found: bool) -> None:
    assert clashes([profile()], **asked) == (["warehouse"] if found else [])


def test_every_clash_is_listed_in_order_and_ip_spellings_match() -> None:
    others = [
        profile("a", jumphost="2001:db8::1", remote_bind="*"),
        profile("b"),
        profile("c", jumphost="2001:0db8:0:0::1", remote_bind=None),
    ]
    assert clashes(others, jumphost="2001:db8:0::1") == ["a", "c"]


def test_listen_label_spells_the_bind_as_ssh_sends_it() -> None:
    assert listen_label(profile(remote_bind=None)) == "localhost:58115"
    assert listen_label(profile(remote_bind="")) == "*:58115"
    assert listen_label(profile(remote_bind="::1")) == "[::1]:58115"


bind_settings = st.sampled_from(
    [None, "", "*", "0.0.0.0", "::", "localhost", "127.0.0.1", "::1", "10.0.0.5", "db.lan"]
)


@given(bind_settings, bind_settings)
def test_overlap_is_symmetric_and_every_address_overlaps_all(
    first: str | None, second: str | None
) -> None:
    assert binds_overlap(first, second) is binds_overlap(second, first)
    assert binds_overlap(first, first)
    assert binds_overlap("", second)
