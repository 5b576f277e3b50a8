"""Key passphrases in a real Secret Service: round trips, locked and absent keychains, no leaks."""

from __future__ import annotations

import logging
import shutil
import subprocess
import traceback
from collections.abc import Callable, Iterator
from pathlib import Path

import keyring
import keyring.backend
import pytest
from keyring.backend import KeyringBackend
from keyring.backends import SecretService, chainer, fail, null

from app.errors import ConfigError, KeyringFailed, KeyringLocked, KeyringUnavailable
from app.platform.passphrases import SERVICE, PassphraseStore
from tests.support.secret_service import (
    PrivateSecretService,
    secret_service_fixture,  # noqa: F401  (registers the `secret_service` fixture)
)

# Distinctive enough that finding it anywhere in a message means it leaked.
PASSPHRASE = "correct-horse-Battery-staple-7319"
OTHER = "pässwörd with spaces ✓ and 'quotes'"
SECRET_TOOL = shutil.which("secret-tool")


def secret_service_store(**options: bool) -> PassphraseStore:
    return PassphraseStore(SecretService.Keyring(), **options)


def assert_secret_free(exc: BaseException, caplog: pytest.LogCaptureFixture) -> None:
    """Ours alone (no backend exception chained), and no passphrase in the message, the
    repr, the args, a printed traceback, or any log record."""
    assert isinstance(exc, KeyringUnavailable)
    assert exc.__cause__ is None
    assert exc.__context__ is None
    texts = [
        str(exc),
        repr(exc),
        repr(exc.args),
        "".join(traceback.format_exception(exc)),
        caplog.text,
        *(record.getMessage() for record in caplog.records),
    ]
    for text in texts:
        assert PASSPHRASE not in text
        assert OTHER not in text


@pytest.fixture
def debug_logs(caplog: pytest.LogCaptureFixture) -> pytest.LogCaptureFixture:
    caplog.set_level(logging.DEBUG)
    return caplog


@pytest.fixture
def empty_home(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """HOME and the XDG folders point at one empty folder, to see that nothing is written."""
    home = tmp_path / "home"
    home.mkdir()
    for var in ("HOME", "XDG_DATA_HOME", "XDG_CONFIG_HOME", "XDG_CACHE_HOME", "XDG_STATE_HOME"):
        monkeypatch.setenv(var, str(home))
    return home


@pytest.fixture
def fresh_detection() -> Iterator[None]:
    """keyring caches once per process which backends are viable: detect afresh (on the
    private bus) and forget that result after, so no other test inherits it."""
    vars(keyring.backend.get_all_keyring).pop("saved_result", None)
    yield
    vars(keyring.backend.get_all_keyring).pop("saved_result", None)


# --- a working keychain ----------------------------------------------------------------


def test_set_get_delete_round_trip(secret_service: PrivateSecretService) -> None:
    store = secret_service_store()
    assert store.usable()
    assert store.problem() is None
    assert store.get("warehouse") is None

    store.set("warehouse", PASSPHRASE)
    assert store.get("warehouse") == PASSPHRASE

    store.set("warehouse", OTHER)  # replaces, never duplicates
    assert store.get("warehouse") == OTHER
    assert len(secret_service.items({"service": SERVICE, "username": "warehouse"})) == 1

    store.delete("warehouse")
    assert store.get("warehouse") is None
    assert secret_service.items({"service": SERVICE, "username": "warehouse"}) == []
    store.delete("warehouse")  # already gone: fine


def test_one_entry_per_key_under_service_tunnelkeeper(
    secret_service: PrivateSecretService,
) -> None:
    store = secret_service_store()
    store.set("warehouse", PASSPHRASE)
    store.set("crm", OTHER)

    entries = secret_service.items({"service": SERVICE})
    assert sorted(entry["username"] for entry in entries) == ["crm", "warehouse"]
    assert secret_service.secret_of({"service": "Tunnelkeeper", "username": "warehouse"}) == (
        PASSPHRASE
    )
    assert secret_service.secret_of({"service": "Tunnelkeeper", "username": "crm"}) == OTHER

    store.delete("crm")
    assert store.get("warehouse") == PASSPHRASE
    assert [entry["username"] for entry in secret_service.items({"service": SERVICE})] == [
        "warehouse"
    ]


@pytest.mark.skipif(SECRET_TOOL is None, reason="secret-tool (libsecret-tools) is not installed")
def test_secret_tool_agrees(secret_service: PrivateSecretService) -> None:
    assert SECRET_TOOL is not None
    store = secret_service_store()
    store.set("warehouse", PASSPHRASE)
    looked_up = subprocess.run(
        [SECRET_TOOL, "lookup", "service", "Tunnelkeeper", "username", "warehouse"],
        capture_output=True,
        text=True,
        timeout=30,
        check=True,
    )
    assert looked_up.stdout == PASSPHRASE

    subprocess.run(
        [SECRET_TOOL, "store", "--label=crm", "service", "Tunnelkeeper", "username", "crm"],
        input=OTHER,
        capture_output=True,
        text=True,
        timeout=30,
        check=True,
    )
    assert store.get("crm") == OTHER


@pytest.mark.usefixtures("fresh_detection")
def test_chainer_over_a_working_secret_service(secret_service: PrivateSecretService) -> None:
    store = PassphraseStore(chainer.ChainerBackend())
    assert store.usable()
    store.set("warehouse", PASSPHRASE)
    assert secret_service.secret_of({"service": SERVICE, "username": "warehouse"}) == PASSPHRASE
    assert store.get("warehouse") == PASSPHRASE


def test_an_empty_key_name_is_refused(secret_service: PrivateSecretService) -> None:
    store = secret_service_store()
    with pytest.raises(ValueError, match="key_name"):
        store.set("", PASSPHRASE)
    with pytest.raises(ValueError, match="key_name"):
        store.get("")
    assert secret_service.items({"service": SERVICE}) == []


# --- a locked keychain -----------------------------------------------------------------


@pytest.mark.timeout(60)
@pytest.mark.parametrize("allow_prompt", [False, True], ids=["no-prompt", "prompt-dismissed"])
def test_locked_collection_is_reported_not_leaked(
    secret_service: PrivateSecretService,
    debug_logs: pytest.LogCaptureFixture,
    allow_prompt: bool,
) -> None:
    """Without a prompter on the private bus, gnome-keyring dismisses unlock prompts at once."""
    store = secret_service_store(allow_prompt=allow_prompt)
    store.set("warehouse", PASSPHRASE)
    secret_service.lock_default_collection()

    assert not store.usable()
    assert isinstance(store.problem(), KeyringLocked)
    for operation in (
        lambda: store.get("warehouse"),
        lambda: store.set("crm", OTHER),
        lambda: store.set("warehouse", OTHER),
        lambda: store.delete("warehouse"),
    ):
        with pytest.raises(KeyringLocked) as caught:
            operation()
        assert isinstance(caught.value, KeyringUnavailable)
        assert isinstance(caught.value, ConfigError)
        assert "locked" in str(caught.value)
        assert_secret_free(caught.value, debug_logs)

    assert secret_service.default_collection_locked()
    # The locked collection still holds exactly the one entry stored before locking.
    assert len(secret_service.items({"service": SERVICE, "username": "warehouse"})) == 1
    assert secret_service.items({"service": SERVICE, "username": "crm"}) == []


# --- no keychain -----------------------------------------------------------------------


@pytest.mark.parametrize("allow_prompt", [False, True], ids=["no-prompt", "prompt-allowed"])
def test_secret_service_gone_from_the_bus(
    secret_service: PrivateSecretService,
    debug_logs: pytest.LogCaptureFixture,
    allow_prompt: bool,
) -> None:
    store = secret_service_store(allow_prompt=allow_prompt)
    store.set("warehouse", PASSPHRASE)
    secret_service.stop_keyring()

    assert not store.usable()
    problem = store.problem()
    assert isinstance(problem, KeyringUnavailable)
    assert not isinstance(problem, KeyringLocked)
    for operation in (
        lambda: store.get("warehouse"),
        lambda: store.set("warehouse", PASSPHRASE),
        lambda: store.delete("warehouse"),
    ):
        with pytest.raises(KeyringUnavailable) as caught:
            operation()
        assert "system keychain" in str(caught.value)
        assert_secret_free(caught.value, debug_logs)


@pytest.mark.parametrize("allow_prompt", [False, True], ids=["no-prompt", "prompt-allowed"])
def test_no_session_bus_at_all(
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    debug_logs: pytest.LogCaptureFixture,
    allow_prompt: bool,
) -> None:
    monkeypatch.setenv("DBUS_SESSION_BUS_ADDRESS", f"unix:path={tmp_path / 'no-bus-here'}")
    store = secret_service_store(allow_prompt=allow_prompt)
    assert not store.usable()
    with pytest.raises(KeyringUnavailable) as caught:
        store.set("warehouse", PASSPHRASE)
    assert not isinstance(caught.value, KeyringFailed | KeyringLocked)
    assert "cannot talk to it" in str(caught.value)
    assert_secret_free(caught.value, debug_logs)
    with pytest.raises(KeyringUnavailable):
        store.get("warehouse")


@pytest.mark.usefixtures("fresh_detection")
def test_chainer_without_a_secret_service_stores_nothing(
    secret_service: PrivateSecretService, debug_logs: pytest.LogCaptureFixture
) -> None:
    secret_service.stop_keyring()
    store = PassphraseStore(chainer.ChainerBackend())
    assert not store.usable()
    with pytest.raises(KeyringUnavailable) as caught:
        store.set("warehouse", PASSPHRASE)
    assert_secret_free(caught.value, debug_logs)


@pytest.mark.parametrize("backend_type", [fail.Keyring, null.Keyring], ids=["fail", "null"])
def test_fail_and_null_backends_store_nothing_anywhere(
    secret_service: PrivateSecretService,
    empty_home: Path,
    debug_logs: pytest.LogCaptureFixture,
    backend_type: Callable[[], KeyringBackend],
) -> None:
    store = PassphraseStore(backend_type())
    assert not store.usable()
    assert isinstance(store.problem(), KeyringUnavailable)
    for operation in (
        lambda: store.set("warehouse", PASSPHRASE),
        lambda: store.get("warehouse"),
        lambda: store.delete("warehouse"),
    ):
        with pytest.raises(KeyringUnavailable) as caught:
            operation()
        assert not isinstance(caught.value, KeyringFailed | KeyringLocked)
        assert str(caught.value).startswith("the system keychain is not available (")
        assert "asked for each time Tunnelkeeper starts" in str(caught.value)
        assert_secret_free(caught.value, debug_logs)

    # No plaintext fallback: not in the (working) Secret Service, not in any file.
    assert secret_service.items({"service": SERVICE}) == []
    assert list(empty_home.rglob("*")) == []


# --- which backend by default ----------------------------------------------------------


def test_without_an_injected_backend_the_configured_one_is_used(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    # keyring.set_keyring() has no public undo; patching the variable it sets restores it.
    monkeypatch.setattr(keyring.core, "_keyring_backend", None)
    keyring.set_keyring(null.Keyring())
    store = PassphraseStore()
    assert isinstance(store.backend, null.Keyring)
    assert not store.usable()
    with pytest.raises(KeyringUnavailable):
        store.set("warehouse", PASSPHRASE)
