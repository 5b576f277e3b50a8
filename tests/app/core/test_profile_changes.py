"""Which edits of a profile alter its live connection (and so drop its connections)."""

from __future__ import annotations

from dataclasses import replace
from typing import Any

from hypothesis import given
from hypothesis import strategies as st

from app.core.profile import CONNECTION_FIELDS, FIELDS, Profile, connection_changes

names = st.from_regex(r"[A-Za-z0-9_-]{1,64}", fullmatch=True)
hosts = st.one_of(
    st.from_regex(r"[a-z][a-z0-9]{0,10}(\.[a-z][a-z0-9]{0,10}){0,3}", fullmatch=True),
    st.ip_addresses().map(str),
)
ports = st.integers(min_value=1, max_value=65535)
binds = st.sampled_from([None, "", "*", "localhost", "0.0.0.0", "127.0.0.1", "::"])
key_paths = st.from_regex(r"/[a-z]{1,8}(/[a-z0-9_.-]{1,8}){0,3}", fullmatch=True).filter(
    lambda p: not any(part in (".", "..") for part in p.split("/"))
)

profiles = st.builds(
    Profile,
    name=names,
    jumphost=hosts,
    user=st.from_regex(r"[a-z][a-z0-9_-]{0,15}", fullmatch=True),
    remote_port=ports,
    target_host=hosts,
    target_port=ports,
    key_path=key_paths,
    ssh_port=ports,
    remote_bind=binds,
    keepalive_interval=st.integers(min_value=1, max_value=3600),
    keepalive_count_max=st.integers(min_value=1, max_value=100),
    extra=st.dictionaries(st.sampled_from(["enabled", "note"]), st.booleans()),
)


def wire(profile: Profile, name: str) -> Any:
    """A field as the connection sees it (the bind address as it goes on the wire)."""
    return profile.forward_bind if name == "remote_bind" else getattr(profile, name)


def test_every_stored_field_is_a_connection_field() -> None:
    assert set(CONNECTION_FIELDS) == set(FIELDS)


@given(profiles)
def test_a_profile_does_not_change_against_itself(profile: Profile) -> None:
    assert connection_changes(profile, profile) == set()


@given(profiles, names, st.dictionaries(st.text(max_size=8), st.integers()))
def test_a_new_name_or_other_fields_never_alter_the_connection(
    profile: Profile, name: str, extra: dict[str, Any]
) -> None:
    assert connection_changes(profile, replace(profile, name=name, extra=extra)) == set()


@given(profiles, profiles)
def test_the_changes_are_the_fields_that_differ_on_the_wire(old: Profile, new: Profile) -> None:
    changed = connection_changes(old, new)
    assert changed == {n for n in FIELDS if wire(old, n) != wire(new, n)}
    assert changed == connection_changes(new, old)  # symmetric


@given(profiles, st.data())
def test_changing_one_field_reports_exactly_that_field(profile: Profile, data: Any) -> None:
    strategies: dict[str, Any] = {
        "jumphost": hosts,
        "ssh_port": ports,
        "user": st.from_regex(r"[a-z][a-z0-9]{0,15}", fullmatch=True),
        "remote_bind": binds,
        "remote_port": ports,
        "target_host": hosts,
        "target_port": ports,
        "key_path": key_paths,
        "keepalive_interval": st.integers(min_value=1, max_value=3600),
        "keepalive_count_max": st.integers(min_value=1, max_value=100),
    }
    field_name = data.draw(st.sampled_from(sorted(strategies)))
    value = data.draw(strategies[field_name])
    edited = replace(profile, **{field_name: value})
    expected = {field_name} if wire(edited, field_name) != wire(profile, field_name) else set()
    assert connection_changes(profile, edited) == expected


@given(profiles)
def test_spellings_of_one_setting_are_no_change(profile: Profile) -> None:
    default = connection_changes(
        replace(profile, remote_bind=None), replace(profile, remote_bind="localhost")
    )
    assert default == set()  # ssh -R with no bind address sends "localhost"
    starred = connection_changes(
        replace(profile, remote_bind=""), replace(profile, remote_bind="*")
    )
    assert starred == set()
    dotted = replace(profile, key_path=profile.key_path.replace("/", "/./", 1))
    assert connection_changes(profile, dotted) == set()


def test_a_jumphost_and_a_port_are_reported_by_name() -> None:
    old = Profile("db", "jump.example", "acme", 40001, "127.0.0.1", 3306, "/k/id")
    new = replace(old, jumphost="jump2.example", target_port=5432, name="warehouse")
    assert connection_changes(old, new) == {"jumphost", "target_port"}
