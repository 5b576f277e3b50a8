"""A tunnel's proxy setting: default, canonical form, no password kept, connection change."""

from __future__ import annotations

from dataclasses import replace
from pathlib import Path

import pytest
from hypothesis import given
from hypothesis import strategies as st

from app.core.profile import (
    FIELDS,
    Profile,
    connection_changes,
    profile_from_dict,
    validate_proxy,
)
from app.core.reconcile import plan
from app.errors import CorruptConfigFile, InvalidField
from app.storage.store import ProfileStore

BASE = {
    "jumphost": "virginia-tunnel.flydata.app",
    "ssh_port": 50683,
    "user": "sshtunnel",
    "remote_port": 58115,
    "target_host": "db",
    "target_port": 5432,
    "key_path": "/k",
}


def test_a_profile_without_the_field_reads_as_system_and_writes_it() -> None:
    profile = profile_from_dict("warehouse", dict(BASE))
    assert profile.proxy == "system"
    assert profile.to_dict()["proxy"] == "system"
    assert "proxy" in FIELDS and "proxy" not in profile.extra


@pytest.mark.parametrize(
    ("given", "stored"),
    [
        ("none", "none"),
        ("SYSTEM", "system"),
        ("http://10.0.0.5:3128", "http://10.0.0.5:3128"),
        ("HTTP://proxy.corp:8080/", "http://proxy.corp:8080"),
        ("https://alice@proxy.corp:443", "https://alice@proxy.corp:443"),
        ("socks5://[::1]:1080", "socks5://[::1]:1080"),
        ("socks5h://bob@10.0.0.5:1080", "socks5h://bob@10.0.0.5:1080"),
    ],
)
def test_the_setting_is_kept_in_its_canonical_form(given: str, stored: str) -> None:
    assert profile_from_dict("t", {**BASE, "proxy": given}).proxy == stored


@pytest.mark.parametrize(
    "bad", ["", "ftp://h:1", "http://h", "http://h:99999", "proxy.corp:3128", 3128, None]
)
def test_an_unusable_setting_is_refused_naming_the_field(bad: object) -> None:
    with pytest.raises(InvalidField) as caught:
        profile_from_dict("t", {**BASE, "proxy": bad})
    assert caught.value.field == "proxy"


def test_a_password_is_refused_and_never_repeated() -> None:
    with pytest.raises(InvalidField) as caught:
        validate_proxy("http://alice:s3cret-Pw@10.0.0.5:3128")
    assert caught.value.field == "proxy"
    assert "s3cret" not in str(caught.value)
    assert "password" in str(caught.value)


def test_a_password_written_into_the_file_by_hand_is_refused_with_its_line(
    tmp_path: Path,
) -> None:
    path = tmp_path / "profiles.toml"
    lines = [f'{k} = "{v}"' if isinstance(v, str) else f"{k} = {v}" for k, v in BASE.items()]
    body = "\n".join(["[tunnels.db]", *lines, 'proxy = "http://al:hunter2@h:3128"'])
    path.write_text(body + "\n")
    with pytest.raises(CorruptConfigFile) as caught:
        ProfileStore(path).load()
    assert "line 9" in str(caught.value) and "hunter2" not in str(caught.value)


def test_a_proxy_change_is_a_connection_change_and_restarts_the_tunnel() -> None:
    old = profile_from_dict("db", dict(BASE))
    new = replace(old, proxy="http://10.0.0.5:3128")
    assert connection_changes(old, new) == {"proxy"}
    steps = plan({"db": old}, {"db": new})
    assert steps.stop == ["db"] and steps.start == [new]
    renamed = replace(new, name="warehouse")
    assert plan({"db": new}, {"warehouse": renamed}).rename == [("db", renamed)]


def test_the_store_writes_and_reads_the_setting(tmp_path: Path) -> None:
    store = ProfileStore(tmp_path / "profiles.toml")
    profile = profile_from_dict("db", {**BASE, "proxy": "socks5h://bob@proxy.corp:1080"})
    store.add(profile)
    assert 'proxy = "socks5h://bob@proxy.corp:1080"' in store.path.read_text()
    assert store.get("db") == profile


def test_update_changes_one_tunnel_in_one_locked_write(tmp_path: Path) -> None:
    store = ProfileStore(tmp_path / "profiles.toml")
    store.add(profile_from_dict("db", dict(BASE)))
    store.add(profile_from_dict("other", {**BASE, "remote_port": 1}))
    before, after = store.update("db", lambda p: replace(p, proxy="none"))
    assert before.proxy == "system" and after.proxy == "none"
    assert store.get("db").proxy == "none" and store.get("other").proxy == "system"
    with pytest.raises(ValueError):
        store.update("db", lambda p: replace(p, name="renamed"))


_hosts = st.one_of(
    st.ip_addresses(v=4).map(str),
    st.from_regex(r"[a-z][a-z0-9-]{0,10}[a-z0-9](\.[a-z]{2,5}){0,2}", fullmatch=True),
    st.ip_addresses(v=6).map(lambda a: f"[{a}]"),
)
_users = st.one_of(
    st.none(), st.text(st.characters(codec="ascii", categories=["L", "N"]), min_size=1, max_size=12)
)
_settings = st.one_of(
    st.sampled_from(["none", "system"]),
    st.builds(
        lambda scheme, user, host, port: (
            f"{scheme}://{'' if user is None else user + '@'}{host}:{port}"
        ),
        st.sampled_from(["http", "https", "socks5", "socks5h"]),
        _users,
        _hosts,
        st.integers(1, 65535),
    ),
)


@given(_settings)
def test_round_trip_through_the_stored_form(setting: str) -> None:
    profile = profile_from_dict("t", {**BASE, "proxy": setting})
    again = profile_from_dict("t", {k: v for k, v in profile.to_dict().items() if k != "name"})
    assert again == profile and again.proxy == profile.proxy
    assert validate_proxy(profile.proxy) == profile.proxy


@given(st.text(max_size=40), st.text(min_size=1, max_size=20).filter(lambda p: "@" not in p))
def test_no_password_ever_gets_in_and_none_is_quoted(user: str, password: str) -> None:
    spec = f"http://{user or 'u'}:{password}@10.0.0.5:3128"
    with pytest.raises(InvalidField) as caught:
        profile_from_dict("t", {**BASE, "proxy": spec})
    if len(password) > 3:
        assert password not in str(caught.value)


def test_profiles_built_in_code_default_to_system() -> None:
    profile = Profile("t", "j.example", "u", 1, "db", 2, "/k")
    assert profile.proxy == "system"
