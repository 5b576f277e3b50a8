"""Key work done off the GUI thread: names, loading with passphrases, forgetting."""

from __future__ import annotations

from pathlib import Path

import pytest
from keyring.backends import SecretService

from app.errors import KeyPassphraseNeeded
from app.platform.keychain import Keychain, open_keychain
from app.services.api import Services
from app.services.keys import KeyService
from app.ssh.keys import generate, key_files
from app.storage.paths import AppPaths
from app.ui.wizard import keying
from tests.app.ui.wizard.driver import no_keychain
from tests.support.secret_service import (
    PrivateSecretService,
    secret_service_fixture,  # noqa: F401  (registers the `secret_service` fixture)
)


def key_service(paths: AppPaths, keychain: Keychain) -> KeyService:
    return Services(paths, lambda: keychain).keys


def test_free_key_name(tmp_path: Path) -> None:
    assert keying.free_key_name(tmp_path, "db") == "db"
    generate(key_files(tmp_path, "db"), "db", None)
    assert keying.free_key_name(tmp_path, "db") == "db-2"
    key_files(tmp_path, "db-2").public.write_text("")  # a lone .pub also takes the name
    assert keying.free_key_name(tmp_path, "db") == "db-3"
    assert keying.free_key_name(tmp_path, "not a name!") == "tunnel"
    assert keying.free_key_name(tmp_path, "x" * 64).startswith("x" * 56)


def test_load_key_uses_the_typed_passphrase_then_the_keychain(
    tmp_path: Path, tk_home: AppPaths, secret_service: PrivateSecretService
) -> None:
    files = key_files(tmp_path, "locked")
    generate(files, "locked", "pw")
    path = str(files.private)
    keychain = key_service(tk_home, open_keychain(SecretService.Keyring()))
    with pytest.raises(KeyPassphraseNeeded):
        keying.load_key(path, None, keychain, "locked")
    assert keying.load_key(path, "pw", keychain, "locked") is not None
    assert keying.remember(keychain, path, "pw") == (True, keying.STORED_NOTE)
    assert keying.load_key(path, None, keychain, "locked") is not None


def test_forget_deletes_keys_and_their_keychain_entries(
    tmp_path: Path, tk_home: AppPaths, secret_service: PrivateSecretService
) -> None:
    files = key_files(tmp_path, "gone")
    generate(files, "gone", "pw")
    keychain = key_service(tk_home, open_keychain(SecretService.Keyring()))
    keying.remember(keychain, str(files.private), "pw")
    keying.forget([files], [str(files.private)], keychain)
    assert not files.private.exists() and not files.public.exists()
    assert (
        secret_service.secret_of({"service": "Tunnelkeeper", "username": str(files.private)})
        is None
    )


def test_without_a_keychain_remember_says_why(tmp_path: Path, tk_home: AppPaths) -> None:
    stored, note = keying.remember(key_service(tk_home, no_keychain()), str(tmp_path / "k"), "pw")
    assert not stored
    assert note.startswith("the system keychain is not available")
    assert "pw" not in note


def test_the_remember_box_without_a_keychain_is_off_and_warns_only_with_a_passphrase() -> None:
    problem = "the system keychain is not available (no backend): the passphrase will be "
    problem += "asked for each time Tunnelkeeper starts."
    for asking in (None, ""):  # still being asked, or it works
        assert keying.remember_box(asking, "pw") == keying.RememberBox(True, "", "")
    silent = keying.remember_box(problem, "")
    assert not silent.usable and silent.note == ""  # no passphrase: nothing asked each time
    assert silent.tooltip.startswith("No system keychain is available")
    assert keying.remember_box(problem, "pw").note == problem
