"""The exception tree: what each error implies, and sentences that fit every front end."""

from __future__ import annotations

import pytest

import app.services.errors as services_errors
from app import errors
from app.errors import (
    Action,
    ConfigError,
    ConnectionTrouble,
    CorruptConfigFile,
    HostKeyChanged,
    HostKeyNotPinned,
    HostKeyRevoked,
    HostKeyTrouble,
    HostKeyUnknown,
    KeyringFailed,
    StoredPassphraseWrong,
    Then,
    TunnelkeeperError,
)


def _tree(cls: type[TunnelkeeperError]) -> list[type[TunnelkeeperError]]:
    found = [cls]
    for sub in cls.__subclasses__():
        found += _tree(sub)
    return found


APP_ERRORS = [c for c in _tree(TunnelkeeperError) if c.__module__.startswith("app.errors.")]
HOST_KEY_TROUBLE = [
    HostKeyNotPinned("db", "[jump.example]:2222"),
    HostKeyUnknown("db", "[jump.example]:2222", "SHA256:presented"),
    HostKeyChanged("db", "[jump.example]:2222", "SHA256:pinned", "SHA256:presented"),
    HostKeyRevoked("db", "[jump.example]:2222", "SHA256:presented"),
]


@pytest.mark.parametrize("cls", APP_ERRORS, ids=lambda c: c.__name__)
def test_every_error_class_says_what_it_implies(cls: type[TunnelkeeperError]) -> None:
    assert isinstance(cls.then, Then)
    assert cls.action is None or isinstance(cls.action, Action)


def test_connection_trouble_is_retried() -> None:
    for cls in _tree(ConnectionTrouble):
        assert cls.then is Then.RETRY, cls


@pytest.mark.parametrize("exc", HOST_KEY_TROUBLE, ids=lambda e: type(e).__name__)
def test_host_key_trouble_waits_for_the_user_and_names_no_command(exc: HostKeyTrouble) -> None:
    assert not isinstance(exc, ConnectionTrouble)
    assert exc.then is Then.WAIT_FOR_USER
    assert exc.name == "db" and exc.host == "[jump.example]:2222"
    assert str(exc) == f"{exc.fact}; {exc.remedy}"
    assert "tunnelkeeper" not in str(exc) and "`" not in str(exc)


def test_a_key_to_check_offers_trust_a_revoked_one_does_not() -> None:
    offered = [type(e).__name__ for e in HOST_KEY_TROUBLE if e.action is Action.TRUST]
    assert offered == ["HostKeyNotPinned", "HostKeyUnknown", "HostKeyChanged"]
    changed = HOST_KEY_TROUBLE[2]
    assert "CHANGED: trusted SHA256:pinned, presented SHA256:presented" in str(changed)
    assert "only then trust the jumphost's new key" in changed.remedy


def test_no_pinned_key_is_still_a_configuration_error() -> None:
    assert isinstance(HOST_KEY_TROUBLE[0], ConfigError)  # the CLI leaves with code 2


def test_a_stored_passphrase_that_is_wrong_is_one_of_ours_and_waits() -> None:
    exc = StoredPassphraseWrong("db", "/keys/db")
    assert isinstance(exc, TunnelkeeperError)
    assert (exc.then, exc.action) == (Then.WAIT_FOR_USER, Action.PASSPHRASE)
    assert (exc.name, exc.key_path) == ("db", "/keys/db")


def test_the_services_errors_module_re_exports_the_same_classes() -> None:
    for name in services_errors.__all__:
        assert getattr(services_errors, name) is getattr(errors, name)


def test_a_corrupt_file_offers_repair_only_with_the_repair_remedy() -> None:
    ours = CorruptConfigFile("/c/profiles.toml", "not UTF-8")
    assert ours.action is Action.REPAIR and "`tunnelkeeper repair`" in str(ours)
    assert ours.then is Then.WAIT_FOR_USER
    foreign = CorruptConfigFile("/tmp/known_hosts", "too big", "import a smaller file.")
    assert foreign.action is None and str(foreign).endswith("import a smaller file.")


def test_an_error_without_a_separate_remedy_is_all_fact() -> None:
    exc = ConfigError("the value is wrong.")
    assert (exc.fact, exc.remedy) == ("the value is wrong.", "")


def test_a_failed_keychain_operation_is_named() -> None:
    exc = KeyringFailed("forget", "db", "denied")
    assert exc.operation == "forget" and exc.action is None and exc.then is Then.STOP
    assert "remove the entry 'db'" in str(exc)


def test_the_reason_of_a_socket_failure_is_never_empty() -> None:
    from app.errors import os_reason

    assert os_reason(TimeoutError()) == "timed out"
    assert os_reason(ConnectionRefusedError(111, "Connection refused")) == "Connection refused"
    assert os_reason(OSError("no route")) == "no route"
    assert os_reason(ConnectionResetError()) == "ConnectionResetError"
