"""Tunnel profiles as plain data; a key no tunnel uses any more has its passphrase forgotten."""

from __future__ import annotations

import json

import pytest

from app.errors import ProfileExists, UnknownProfile
from app.services.api import Services
from tests.app.services.conftest import MemoryKeychain
from tests.app.services.test_keys import add_tunnel


def test_add_show_and_list_are_plain_data(services: Services) -> None:
    services.keys.create("plain", None)
    key_path = add_tunnel(services, "plain")
    view = services.profiles.show("db")
    assert view["name"] == "db" and key_path.endswith("plain")
    assert view["forward"] == "localhost:15432" and view["target"] == "127.0.0.1:5432"
    assert view["remote_bind"] is None
    assert services.profiles.all() == [view]
    assert json.loads(json.dumps(view)) == view
    with pytest.raises(ProfileExists):
        add_tunnel(services, "plain")


def test_edit_changes_fields_and_forgets_an_unused_key(
    services: Services, keychain: MemoryKeychain
) -> None:
    old = services.keys.create("old", "pw")
    services.keys.create("new", None)
    add_tunnel(services, "old")
    view = services.profiles.edit("db", {"remote_port": 15433, "key_path": "new"})
    assert view["remote_port"] == 15433 and view["key_path"].endswith("new")
    assert old.private_path not in keychain.entries


def test_remove_forgets_the_passphrase_only_when_no_tunnel_uses_the_key(
    services: Services, keychain: MemoryKeychain
) -> None:
    made = services.keys.create("vault", "pw")
    add_tunnel(services, "vault", name="db")
    add_tunnel(services, "vault", name="crm")
    assert services.profiles.remove("db")
    assert keychain.entries == {made.private_path: "pw"}
    assert services.profiles.remove("crm")
    assert keychain.entries == {}
    with pytest.raises(UnknownProfile):
        services.profiles.remove("crm")


def test_select_keeps_order_drops_repeats_and_names_the_unknown(services: Services) -> None:
    services.keys.create("plain", None)
    add_tunnel(services, "plain", name="a")
    add_tunnel(services, "plain", name="b")
    assert [p.name for p in services.profiles.select(["b", "a", "b"])] == ["b", "a"]
    with pytest.raises(UnknownProfile, match="nope"):
        services.profiles.select(["a", "nope"])
