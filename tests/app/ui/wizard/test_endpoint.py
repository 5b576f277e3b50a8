"""The Endpoint page: whatever the paste parser reads fills the fields; each field is checked."""

from __future__ import annotations

import random
import string
from collections.abc import Callable
from pathlib import Path

import pytest
from PySide6.QtWidgets import QWizard

from app.core.profile import Profile
from app.storage.paths import AppPaths
from app.storage.store import ProfileStore
from app.ui.wizard import WizardPrefill
from app.ui.wizard.widgets import AMBER, RED
from app.ui.wizard.wizard import Page
from tests.app.ui.wizard.driver import Driver, StallMeter

VENDOR_COMMAND = (
    "ssh -NR 58115:localhost:3306 sshtunnel@virginia-tunnel.flydata.app "
    '-i ~/.ssh/integrateio_reverse -p 50683 -o "ExitOnForwardFailure yes" '
    "-o ServerAliveInterval=10 -o ServerAliveCountMax=1 -v"
)
EXPECTED = {
    "jumphost": "virginia-tunnel.flydata.app",
    "ssh_port": "50683",
    "user": "sshtunnel",
    "remote_port": "58115",
    "remote_bind": "",
    "jump": "",  # no jump host
}
CONFIG_BLOCK = """Host integrateio
    HostName virginia-tunnel.flydata.app
    User sshtunnel
    Port 50683
    RemoteForward 0.0.0.0:58115 localhost:3306
"""
ASSIGNMENTS = """SSH_HOST=virginia-tunnel.flydata.app
SSH_PORT=50683
SSH_USER=sshtunnel
TUNNEL_PORT=58115
"""


@pytest.fixture
def endpoint(make_wizard: Callable[..., Driver], client_key: Path) -> Driver:
    driver = make_wizard()
    driver.next(Page.KEY)
    driver.use_key(client_key)
    driver.next(Page.ENDPOINT)
    return driver


def texts(driver: Driver) -> dict[str, str]:
    return {name: edit.text() for name, edit in driver.wizard.endpoint_page.edits.items()}


@pytest.mark.parametrize(
    ("pasted", "expected"),
    [
        (VENDOR_COMMAND, EXPECTED),
        ("$ " + VENDOR_COMMAND.replace(" -i", " \\\n  -i"), EXPECTED),  # prompt, continued
        (CONFIG_BLOCK, {**EXPECTED, "remote_bind": "0.0.0.0"}),
        (ASSIGNMENTS, EXPECTED),
        (  # a vendor's "tunnel endpoint" is the jumphost and the allocated port
            "Tunnel endpoint: virginia-tunnel.flydata.app:58115",
            {**EXPECTED, "ssh_port": "22", "user": ""},
        ),
        (
            "ssh -R '*:58115:db:5432' -p 50683 sshtunnel@virginia-tunnel.flydata.app",
            {**EXPECTED, "remote_bind": "*"},
        ),
    ],
    ids=[
        "ssh-command",
        "prompt-and-continuation",
        "config-block",
        "assignments",
        "endpoint",
        "all-addresses",
    ],
)
def test_pastes_fill_the_fields(endpoint: Driver, pasted: str, expected: dict[str, str]) -> None:
    endpoint.paste(pasted)
    assert texts(endpoint) == expected
    note = endpoint.wizard.endpoint_page.paste_note.text()
    assert note.startswith("Found in the ")
    assert endpoint.next_enabled() is all(expected[k] for k in ("user", "remote_port"))


def test_placeholders_are_named_and_next_waits_for_them(endpoint: Driver) -> None:
    endpoint.paste(
        "ssh -NR <allocated_port>:<your-db-host>:<your-db-port> sshtunnel@<jumphost> -p 50683"
    )
    page = endpoint.wizard.endpoint_page
    assert texts(endpoint)["jumphost"] == ""
    assert texts(endpoint)["user"] == "sshtunnel"
    assert "Still to fill in: jumphost (<jumphost>), allocated port (<allocated_port>)" in (
        page.paste_note.text()
    )
    assert not endpoint.next_enabled()
    endpoint.set_text(page.edits["jumphost"], "virginia-tunnel.flydata.app")
    endpoint.set_text(page.edits["remote_port"], "58115")
    assert endpoint.next_enabled()


def test_what_is_set_aside_is_listed(endpoint: Driver) -> None:
    endpoint.paste(VENDOR_COMMAND + " -o StrictHostKeyChecking=no")
    ignored = endpoint.wizard.endpoint_page.ignored_note
    assert ignored.isVisible()
    assert "host keys" in ignored.text()


def test_text_that_is_not_tunnel_details_is_explained_and_fields_stay(endpoint: Driver) -> None:
    endpoint.paste(VENDOR_COMMAND)
    endpoint.paste("Dear customer, thank you for choosing us.")
    note = endpoint.wizard.endpoint_page.paste_note
    assert note.text().startswith("Nothing in this text looks like tunnel details")
    assert RED[1:] in note.styleSheet()  # red
    assert texts(endpoint) == EXPECTED
    endpoint.paste("ssh -R 99999:localhost:3306 me@host")
    assert "out of range" in note.text()


def test_fields_an_earlier_paste_filled_are_cleared_when_the_paste_changes(
    endpoint: Driver,
) -> None:
    endpoint.paste(VENDOR_COMMAND)
    endpoint.paste("Tunnel endpoint: other.example:2222")
    assert texts(endpoint) == {
        "jumphost": "other.example",
        "ssh_port": "22",
        "user": "",
        "remote_port": "2222",
        "remote_bind": "",
        "jump": "",
    }
    endpoint.paste("")
    assert texts(endpoint)["ssh_port"] == "22"  # back to the default


def test_typed_fields_are_kept_when_the_paste_does_not_mention_them(endpoint: Driver) -> None:
    page = endpoint.wizard.endpoint_page
    endpoint.set_text(page.edits["user"], "typed-user")
    endpoint.paste("Tunnel endpoint: other.example:2222")
    assert texts(endpoint)["user"] == "typed-user"


@pytest.mark.parametrize(
    ("field", "text", "message"),
    [
        ("jumphost", "bad host!", "'bad host!' is not a valid host name or IP address."),
        ("jumphost", "host:ssh", "'ssh' is not a port number. A port typed with the jumphost"),
        ("ssh_port", "70000", "70000 is out of range; a port is 1–65535."),  # noqa: RUF001
        ("ssh_port", "ssh", "'ssh' is not a port number."),
        ("user", "a user", "'a user' is not a valid SSH user name."),
        ("remote_port", "0", "0 is out of range; a port is 1–65535."),  # noqa: RUF001
        ("remote_bind", "   ", "Only spaces given"),
        ("remote_bind", "not an address!", "is not a valid host name or IP address"),
    ],
)
def test_each_field_says_what_is_wrong_under_it(
    endpoint: Driver, field: str, text: str, message: str
) -> None:
    endpoint.paste(VENDOR_COMMAND)
    page = endpoint.wizard.endpoint_page
    assert endpoint.next_enabled()
    endpoint.set_text(page.edits[field], text)
    note = page.notes[field]
    assert note.isVisible()
    assert message in note.text()
    assert note.text()[0].isupper() or note.text()[0] in "'0123456789"
    assert not endpoint.next_enabled()
    endpoint.set_text(page.edits[field], EXPECTED[field] or "")
    assert not note.isVisible()
    assert endpoint.next_enabled()


def test_an_emptied_required_field_says_so(endpoint: Driver) -> None:
    page = endpoint.wizard.endpoint_page
    assert not page.notes["user"].isVisible()  # nothing said before anyone typed
    endpoint.set_text(page.edits["user"], "x")
    endpoint.set_text(page.edits["user"], "")
    assert page.notes["user"].text() == "Required."
    assert not endpoint.next_enabled()


def test_next_stores_the_checked_values(endpoint: Driver) -> None:
    endpoint.paste(VENDOR_COMMAND)
    endpoint.next()
    assert endpoint.wizard.draft.endpoint == {
        "jumphost": "virginia-tunnel.flydata.app",
        "ssh_port": 50683,
        "user": "sshtunnel",
        "remote_port": 58115,
        "remote_bind": None,
        "jump": None,  # no jump host
        "proxy": "system",  # the Proxy field's default
    }
    assert endpoint.wizard.draft.pasted["keepalive_count_max"] == 1


def test_a_prefilled_paste_is_read_before_the_page_opens(
    make_wizard: Callable[..., Driver], client_key: Path
) -> None:
    driver = make_wizard(prefill=WizardPrefill(paste=VENDOR_COMMAND))
    page = driver.wizard.endpoint_page
    driver.wait(lambda: not page.parsing)
    assert texts(driver) == EXPECTED


def test_a_huge_paste_is_read_off_the_gui_thread(endpoint: Driver) -> None:
    noise = random.Random(5)
    junk = "".join(noise.choice(string.ascii_letters + " \n:@-") for _ in range(200_000))
    page = endpoint.wizard.endpoint_page
    with StallMeter() as meter:
        page.paste.setPlainText(junk + "\n" + VENDOR_COMMAND)
        endpoint.wait(lambda: page.parsing)
        endpoint.wait(lambda: not page.parsing, 60_000)
    print(f"\nlongest GUI-thread stall while 200 KB were parsed: {meter.longest * 1000:.0f} ms")
    assert page.paste_note.isVisible()
    # setPlainText itself lays out 200 KB of text on the GUI thread (Qt's own work), so
    # the bar here is looser than the wizard run's; parsing it there would take far longer.
    assert meter.longest < 1.0


# --- what a paste leaves out (issue 16, defect 6) ---------------------------------------------

HIGHTOUCH = (
    "ssh -i path/to/key.pem -R 0.0.0.0:56000:$SERVICE_HOST:$SERVICE_PORT tunnel.hightouch.io "
    "-p 49100 -o ExitOnForwardFailure=yes"
)


def next_tooltip(driver: Driver) -> str:
    return driver.button(QWizard.WizardButton.NextButton).toolTip()


def test_a_paste_without_a_user_says_so_by_the_field_and_on_next(endpoint: Driver) -> None:
    page = endpoint.wizard.endpoint_page
    endpoint.paste(HIGHTOUCH)
    assert texts(endpoint) == {
        "jumphost": "tunnel.hightouch.io",
        "ssh_port": "49100",
        "user": "",
        "remote_port": "56000",
        "remote_bind": "0.0.0.0",  # the vendor's bind address is kept
        "jump": "",
    }
    why = (
        "The user name is missing: the vendor's command has no user@ before "
        "tunnel.hightouch.io — ask the vendor or type it."
    )
    assert page.notes["user"].isVisible() and page.notes["user"].text() == why
    assert AMBER[1:] in page.notes["user"].styleSheet()  # amber: to do, not wrong
    assert not endpoint.next_enabled()
    assert next_tooltip(endpoint) == f"Next is not available yet:\n• {why}"
    assert "user (the vendor's command has no user@ before tunnel.hightouch.io)" in (
        page.paste_note.text()
    )
    assert "target host ($SERVICE_HOST), target port ($SERVICE_PORT)" in page.paste_note.text()
    endpoint.set_text(page.edits["user"], "acme")
    assert endpoint.next_enabled() and next_tooltip(endpoint) == ""
    assert not page.notes["user"].isVisible()
    endpoint.set_text(page.edits["user"], "")
    assert page.notes["user"].text() == why  # still the reason, not a bare "Required."
    endpoint.set_text(page.edits["user"], "acme")
    endpoint.next()
    assert endpoint.wizard.draft.endpoint["remote_bind"] == "0.0.0.0"


def test_the_vendors_key_file_is_not_passed_over_in_silence(endpoint: Driver) -> None:
    page = endpoint.wizard.endpoint_page
    endpoint.paste(HIGHTOUCH)
    assert page.key_note.isVisible()
    assert page.key_note.text().startswith(
        "The vendor's command uses the key file path/to/key.pem, which is not at "
    )
    assert "go Back and choose it on the Key page" in page.key_note.text()
    endpoint.paste("Tunnel endpoint: jump.example:58115")
    assert not page.key_note.isVisible()


@pytest.mark.parametrize(
    ("typed", "host", "port"),
    [
        ("jump.example:12345", "jump.example", 12345),
        ("[2001:db8::7]:2222", "2001:db8::7", 2222),
        ("2001:db8::7", "2001:db8::7", 22),
    ],
)
def test_a_port_typed_with_the_jumphost_is_the_ssh_port(
    endpoint: Driver, typed: str, host: str, port: int
) -> None:
    page = endpoint.wizard.endpoint_page
    endpoint.set_text(page.edits["jumphost"], typed)
    if port != 22:
        assert page.notes["jumphost"].text() == (
            f"SSH port {port}, typed with the jumphost: it is used as the SSH port."
        )
    endpoint.set_text(page.edits["user"], "acme")
    endpoint.set_text(page.edits["remote_port"], "58115")
    assert endpoint.next_enabled()
    endpoint.next()
    assert endpoint.wizard.draft.endpoint["jumphost"] == host
    assert endpoint.wizard.draft.endpoint["ssh_port"] == port
    endpoint.back()
    assert (texts(endpoint)["jumphost"], texts(endpoint)["ssh_port"]) == (host, str(port))


def test_leaving_the_jumphost_field_moves_its_port_to_the_ssh_port_field(
    endpoint: Driver,
) -> None:
    page = endpoint.wizard.endpoint_page
    endpoint.set_text(page.edits["jumphost"], "jump.example:12345")
    page.edits["jumphost"].editingFinished.emit()  # as Tab out of the field sends it
    assert (texts(endpoint)["jumphost"], texts(endpoint)["ssh_port"]) == ("jump.example", "12345")
    assert not page.notes["jumphost"].isVisible()


# --- a port another tunnel already uses (issue 16, defect 9) ----------------------------------


def save_warehouse(tk_home: AppPaths, **fields: object) -> None:
    values: dict[str, object] = {
        "name": "warehouse",
        "jumphost": "virginia-tunnel.flydata.app",
        "ssh_port": 50683,
        "user": "sshtunnel",
        "remote_port": 58115,
        "remote_bind": "127.0.0.1",
        "target_host": "localhost",
        "target_port": 3306,
        "key_path": "/keys/warehouse",
    }
    values.update(fields)
    ProfileStore(tk_home.profiles_file).add(Profile(**values))  # type: ignore[arg-type]


def test_a_port_another_tunnel_uses_on_that_jumphost_is_warned_about(
    make_wizard: Callable[..., Driver], client_key: Path, tk_home: AppPaths
) -> None:
    save_warehouse(tk_home)
    driver = make_wizard()
    driver.next(Page.KEY)
    driver.use_key(client_key)
    driver.next(Page.ENDPOINT)
    page = driver.wizard.endpoint_page
    driver.paste(VENDOR_COMMAND)
    note = page.notes["remote_port"]
    driver.wait(note.isVisible)
    assert note.text() == (
        "Tunnel 'warehouse' already uses 127.0.0.1:58115 on this jumphost; the vendor "
        "allocates one port per tunnel, so only one of them can connect at a time."
    )
    assert AMBER[1:] in note.styleSheet()  # a warning: the person may know better
    assert driver.next_enabled()
    driver.set_text(page.edits["remote_port"], "58116")
    assert not note.isVisible()
    driver.set_text(page.edits["remote_port"], "58115")
    driver.set_text(page.edits["ssh_port"], "22")  # another SSH port: another jumphost
    assert not note.isVisible()


def test_the_tunnel_being_edited_does_not_warn_about_itself(
    make_wizard: Callable[..., Driver], client_key: Path, tk_home: AppPaths
) -> None:
    save_warehouse(tk_home, key_path=str(client_key))
    warehouse = ProfileStore(tk_home.profiles_file).get("warehouse")
    driver = make_wizard(profile=warehouse)
    driver.next(Page.KEY)
    driver.wait(driver.next_enabled)
    driver.next(Page.ENDPOINT)
    page = driver.wizard.endpoint_page
    driver.wait(lambda: not page.reading_tunnels)
    assert texts(driver)["remote_port"] == "58115"
    assert not page.notes["remote_port"].isVisible()
