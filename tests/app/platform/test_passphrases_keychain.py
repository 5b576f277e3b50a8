"""The keychain factory: the system keychain when it answers, else a null one that says why."""

from __future__ import annotations

import pytest
from keyring.backends import SecretService, fail, null

from app.errors import KeyringLocked, KeyringUnavailable
from app.platform.keychain import NOT_KEPT, NoKeychain, NullKeychain, SystemKeychain, open_keychain
from app.platform.passphrases import SERVICE
from tests.support.secret_service import (
    PrivateSecretService,
    secret_service_fixture,  # noqa: F401  (registers the `secret_service` fixture)
)

PASSPHRASE = "correct-horse-Battery-staple-7319"


@pytest.mark.parametrize("backend_type", [fail.Keyring, null.Keyring], ids=["fail", "null"])
def test_no_backend_gives_the_null_keychain(backend_type: type[fail.Keyring]) -> None:
    keychain = open_keychain(backend_type())
    assert isinstance(keychain, NullKeychain)
    assert isinstance(keychain.problem, KeyringUnavailable)
    assert keychain.get("warehouse") is None
    keychain.delete("warehouse")
    with pytest.raises(NoKeychain) as caught:
        keychain.set("warehouse", PASSPHRASE)
    assert str(caught.value) == NOT_KEPT  # the sentence the command line has always used
    assert caught.value.problem is keychain.problem
    assert PASSPHRASE not in repr(caught.value)


def test_a_working_secret_service_is_the_system_keychain(
    secret_service: PrivateSecretService,
) -> None:
    keychain = open_keychain(SecretService.Keyring())
    assert isinstance(keychain, SystemKeychain) and keychain.problem is None
    keychain.set("warehouse", PASSPHRASE)
    assert secret_service.secret_of({"service": SERVICE, "username": "warehouse"}) == PASSPHRASE
    assert keychain.get("warehouse") == PASSPHRASE
    keychain.delete("warehouse")
    assert keychain.get("warehouse") is None


def test_a_locked_secret_service_is_a_null_keychain_that_knows_why(
    secret_service: PrivateSecretService,
) -> None:
    secret_service.lock_default_collection()
    keychain = open_keychain(SecretService.Keyring())
    assert isinstance(keychain, NullKeychain)
    assert isinstance(keychain.problem, KeyringLocked)
    assert keychain.get("warehouse") is None
