"""The command line's own way to do the remedy an error, event or check names."""

from __future__ import annotations

from app.cli.output import error_text, event_text, with_command
from app.core.events import State, TunnelEvent
from app.errors import (
    CorruptConfigFile,
    HostKeyChanged,
    HostKeyNotPinned,
    HostKeyRevoked,
    UnknownProfile,
)


def test_trust_becomes_the_trust_command() -> None:
    text = error_text(HostKeyNotPinned("db", "[jump.example]:2222"))
    assert text.startswith(
        "the jumphost [jump.example]:2222 of tunnel 'db' has no trusted host key yet; "
    )
    assert text.endswith("the one the vendor shows: run `tunnelkeeper trust db`.")


def test_a_changed_key_names_the_tunnel_it_belongs_to() -> None:
    text = error_text(HostKeyChanged("warehouse", "h:22", "SHA256:a", "SHA256:b"))
    assert text.endswith("run `tunnelkeeper trust warehouse`.")


def test_no_command_without_an_action_that_has_one() -> None:
    revoked = HostKeyRevoked("db", "h:22", "SHA256:x")
    assert error_text(revoked) == str(revoked)
    unknown = UnknownProfile("db")
    assert error_text(unknown) == str(unknown)
    corrupt = CorruptConfigFile("/c/known_hosts", "not UTF-8")  # names `repair` itself
    assert error_text(corrupt) == str(corrupt)


def test_a_check_remedy_gets_the_command_for_its_tunnel() -> None:
    assert with_command("trust its key.", "trust", "db") == (
        "trust its key: run `tunnelkeeper trust db`."
    )
    assert with_command("choose another key.", "edit", "db").endswith(
        "run `tunnelkeeper add db --replace`."
    )
    assert with_command("try again.", None, "db") == "try again."
    assert with_command("trust its key.", "trust", None) == "trust its key."


def test_an_event_offering_trust_gets_the_command() -> None:
    event = TunnelEvent("db", State.ERROR, "not trusted; trust it.", extra={"action": "trust"})
    assert event_text(event) == "db: error — not trusted; trust it: run `tunnelkeeper trust db`."
    plain = TunnelEvent("db", State.CONNECTED, "up.")
    assert event_text(plain) == plain.human()
