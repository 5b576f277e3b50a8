"""What the desktop app asks of the services besides the CLI's jobs."""

from __future__ import annotations

import dataclasses

import pytest

from app.errors import HostKeyNotPinned, KeyPassphraseNeeded, KeyPassphraseWrong, ProfileExists
from app.services.api import Services
from app.services.keys import Remembered
from app.services.profiles import Removed
from tests.app.services.conftest import MemoryKeychain
from tests.app.services.test_keys import add_tunnel


def test_load_plain_unlock_and_open_key(services: Services, keychain: MemoryKeychain) -> None:
    made = services.keys.create("vault", "pw", remember=False)
    assert keychain.entries == {}
    add_tunnel(services, "vault")
    profile = services.profiles.get("db")
    with pytest.raises(KeyPassphraseNeeded):
        services.keys.load_plain(profile)
    with pytest.raises(KeyPassphraseWrong):
        services.keys.unlock(profile, "nope", remember=True)
    loaded = services.keys.unlock(profile, "pw", remember=False)
    assert loaded.fingerprint == made.fingerprint and loaded.remembered is None
    assert keychain.entries == {}
    with pytest.raises(KeyPassphraseNeeded):
        services.keys.open_key(made.private_path, "vault")
    assert services.keys.open_key(made.private_path, "vault", "pw").fingerprint == made.fingerprint
    loaded = services.keys.unlock(profile, "pw", remember=True)
    assert loaded.remembered == Remembered(True)
    assert services.keys.open_key(made.private_path, "vault").fingerprint == made.fingerprint
    assert services.keys.public_line_of(loaded) == made.public_line


def test_keychain_problem(services: Services, keyless: Services) -> None:
    assert services.keys.keychain_problem() == ""
    assert "(no backend here)" in keyless.keys.keychain_problem()


def test_load_save_and_discard(services: Services, keychain: MemoryKeychain) -> None:
    made = services.keys.create("vault", "pw")
    add_tunnel(services, "vault", name="db")
    profile = services.profiles.get("db")
    assert list(services.profiles.load()) == ["db"]
    with pytest.raises(ProfileExists):
        services.profiles.save(profile)
    services.profiles.save(profile, "db")  # replaced in place
    renamed = dataclasses.replace(profile, name="crm")
    services.profiles.save(renamed, "db")
    assert list(services.profiles.load()) == ["crm"]
    assert services.profiles.discard("crm") == Removed(True, made.private_path)
    assert keychain.entries == {}


def test_check_pinned(services: Services) -> None:
    services.keys.create("plain", None)
    add_tunnel(services, "plain")
    with pytest.raises(HostKeyNotPinned):
        services.hostkeys.check_pinned(services.profiles.get("db"))
