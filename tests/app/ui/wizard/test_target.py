"""The Target page: presets, checked fields and a live reachable / refused light."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import pytest
from PySide6.QtWidgets import QWizard

from app.ui.wizard import WizardPrefill
from app.ui.wizard.target import PRESETS, probe
from app.ui.wizard.widgets import Mark
from app.ui.wizard.wizard import Page
from tests.app.ui.wizard.driver import Driver
from tests.support.net import TcpServer, echo_handler, free_port, tcp_server


def to_target(
    driver: Driver, key: Path, paste: str = "Tunnel endpoint: jump.example:58115"
) -> None:
    driver.next(Page.KEY)
    driver.use_key(key)
    driver.next(Page.ENDPOINT)
    driver.paste(paste)
    driver.set_text(driver.wizard.endpoint_page.edits["user"], "sshtunnel")
    driver.next(Page.TARGET)


@pytest.fixture
def target_page(make_wizard: Callable[..., Driver], client_key: Path) -> Driver:
    driver = make_wizard()
    to_target(driver, client_key)
    return driver


def test_presets_set_the_port_and_a_typed_port_picks_its_preset(target_page: Driver) -> None:
    page = target_page.wizard.target_page
    assert page.host.text() == "localhost"
    for index, (name, port) in enumerate(PRESETS):
        page.preset.setCurrentIndex(index)
        page.preset.activated.emit(index)  # as a person's choice in the list sends it
        assert page.port.text() == str(port), name
    assert "SFTP" in page.preset.currentText()  # the Windows file-share case
    target_page.set_text(page.port, "1433")
    assert page.preset.currentText().startswith("SQL Server")
    target_page.set_text(page.port, "6000")
    assert page.preset.currentText() == "Other"


def test_the_light_shows_reachable_then_refused_when_the_target_stops(
    target_page: Driver,
) -> None:
    page = target_page.wizard.target_page
    server = TcpServer(echo_handler)
    try:
        target_page.target("127.0.0.1", server.port)
        target_page.wait(lambda: page.light.mark is Mark.PASS, 10_000)
        assert page.reach.text().startswith(f"Reachable: 127.0.0.1:{server.port} accepted")
    finally:
        server.stop()
    # nobody touched the page: it looks again by itself
    target_page.wait(lambda: page.light.mark is Mark.FAIL, 10_000)
    assert page.reach.text() == (
        f"Refused: nothing accepts connections on 127.0.0.1:{server.port} right now."
    )
    assert target_page.next_enabled()  # a target that is down now can still be set up


def test_an_unknown_name_is_reported(target_page: Driver) -> None:
    page = target_page.wizard.target_page
    target_page.target("no-such-host.invalid", 5432)
    target_page.wait(lambda: page.light.mark is Mark.FAIL, 30_000)
    assert page.reach.text().startswith("Not found: the name no-such-host.invalid")


@pytest.mark.parametrize(
    ("field", "text", "message"),
    [
        ("host", "bad host!", "'bad host!' is not a valid host name or IP address."),
        ("port", "99999", "99999 is out of range"),
        ("port", "db", "'db' is not a port number."),
    ],
)
def test_bad_fields_are_explained_and_block_next(
    target_page: Driver, field: str, text: str, message: str
) -> None:
    page = target_page.wizard.target_page
    target_page.target("127.0.0.1", 5432)
    assert target_page.next_enabled()
    edit, note = (page.host, page.host_note) if field == "host" else (page.port, page.port_note)
    target_page.set_text(edit, text)
    assert message in note.text() and note.isVisible()
    assert not target_page.next_enabled()
    assert page.light.mark is Mark.PENDING  # nothing to look at


def test_the_target_in_the_vendor_command_is_offered(
    make_wizard: Callable[..., Driver], client_key: Path
) -> None:
    driver = make_wizard()
    to_target(driver, client_key, "ssh -R 58115:db.internal:5432 tunnel@jump.example")
    page = driver.wizard.target_page
    assert (page.host.text(), page.port.text()) == ("db.internal", "5432")
    assert page.preset.currentText().startswith("PostgreSQL")


def test_a_prefilled_target_wins_over_the_command(
    make_wizard: Callable[..., Driver], client_key: Path
) -> None:
    with tcp_server(echo_handler) as server:
        driver = make_wizard(
            prefill=WizardPrefill(target_host="127.0.0.1", target_port=server.port)
        )
        to_target(driver, client_key, "ssh -R 58115:db.internal:5432 tunnel@jump.example")
        page = driver.wizard.target_page
        assert (page.host.text(), page.port.text()) == ("127.0.0.1", str(server.port))
        driver.wait(lambda: page.light.mark is Mark.PASS, 10_000)
        driver.next()
        assert driver.wizard.draft.target == ("127.0.0.1", server.port)


def test_probe_says_what_happened() -> None:
    with tcp_server(echo_handler) as server:
        assert probe("127.0.0.1", server.port)[0]
    closed = free_port()
    reachable, text = probe("127.0.0.1", closed)
    assert not reachable and text.startswith("refused:")


def test_placeholders_for_the_target_are_asked_for_not_taken_literally(
    make_wizard: Callable[..., Driver], client_key: Path
) -> None:
    driver = make_wizard()
    to_target(
        driver,
        client_key,
        "ssh -R 0.0.0.0:56000:$SERVICE_HOST:$SERVICE_PORT tunnel.hightouch.io -p 49100",
    )
    page = driver.wizard.target_page
    assert page.asked.isVisible()
    assert page.asked.text() == (
        "The vendor's text leaves the target to you: $SERVICE_HOST stands for your service's "
        "host and $SERVICE_PORT for its port. Enter them below (the host is localhost when "
        "the service runs on this computer)."
    )
    assert (page.host.text(), page.port.text()) == ("", "")  # asked, not guessed
    assert page.port_note.text() == "Your service's port (the vendor's text says $SERVICE_PORT)."
    assert not driver.next_enabled()
    tooltip = driver.button(QWizard.WizardButton.NextButton).toolTip()
    assert tooltip == (
        "Next is not available yet:\n• The target host is required.\n• The target port is required."
    )
    driver.target("127.0.0.1", 5432)
    assert driver.next_enabled()
    assert driver.button(QWizard.WizardButton.NextButton).toolTip() == ""
    assert not page.port_note.isVisible()


def test_without_placeholders_the_host_is_localhost_and_nothing_is_asked(
    target_page: Driver,
) -> None:
    page = target_page.wizard.target_page
    assert page.host.text() == "localhost"
    assert not page.asked.isVisible()
