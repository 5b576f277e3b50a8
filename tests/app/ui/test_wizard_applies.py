"""What the app does with the wizard's Finish, on a real tunnel: an edit that leaves the
connection alone keeps the vendor's live connections, a key the vendor has not added yet
keeps trying, and the passphrase typed in the wizard is not asked for again."""

from __future__ import annotations

import contextlib
import socket
from collections.abc import Iterator
from dataclasses import replace
from pathlib import Path

import pytest
from PySide6.QtWidgets import QWizard
from pytestqt.qtbot import QtBot

from app.core.events import State, TunnelStatus
from app.platform.autostart import XdgAutostart
from app.storage.paths import AppPaths
from app.ui.application import Shell
from app.ui.wizard import SetupWizard
from app.ui.wizard.wizard import Page
from tests.app.ui.conftest import DEADLINE_MS, add, no_keychain
from tests.app.ui.wizard.driver import Driver, authorize, encrypted_key, vendor_command
from tests.app.ui.wizard.editing import edit_to_finish
from tests.conftest import Jumphost
from tests.support.net import TcpServer, echo_handler, recv_exact, tcp_server

pytestmark = pytest.mark.integration


@pytest.fixture
def shell(qtbot: QtBot, tk_home: AppPaths, tmp_path: Path) -> Iterator[Shell]:
    made = Shell(
        tk_home,
        autostart=XdgAutostart(tmp_path / "autostart"),
        tray_available=lambda: True,
        keychain=no_keychain,
    )
    try:
        yield made
    finally:
        if made.wizard is not None:
            made.wizard.close()
        with qtbot.waitSignal(made.hub.stopped_all, timeout=7_000):
            made.quit()


def finish(shell: Shell, driver: Driver) -> None:
    """Press Finish; the app closes (and deletes) the wizard once it has saved."""
    button = driver.button(QWizard.WizardButton.FinishButton)
    driver.wait(button.isEnabled)
    driver.click(button)
    driver.wait(lambda: shell.wizard is None)


def snapshot(shell: Shell, name: str) -> TunnelStatus:
    return next(row.snapshot for row in shell.hub.rows() if row.profile.name == name)


def open_editor(qtbot: QtBot, shell: Shell, name: str) -> Driver:
    shell.open_wizard(name)
    wizard = shell.wizard
    assert isinstance(wizard, SetupWizard)
    qtbot.waitExposed(wizard)
    return Driver(qtbot, wizard)


def connected_with_one_connection(
    qtbot: QtBot, shell: Shell, host: Jumphost
) -> tuple[socket.socket, TunnelStatus]:
    """The tunnel up, and a vendor's connection through it that carried 6 bytes."""
    shell.start(quiet=True)
    qtbot.waitUntil(lambda: shell.hub.states()["db"] is State.CONNECTED, timeout=DEADLINE_MS)
    conn = socket.create_connection(("127.0.0.1", host.remote_port), timeout=10)
    conn.sendall(b"before")
    assert recv_exact(conn, 6) == b"before"
    qtbot.waitUntil(
        lambda: (
            snapshot(shell, "db").active_connections == 1
            and snapshot(shell, "db").bytes_to_vendor == 6
        ),
        timeout=DEADLINE_MS,
    )
    return conn, snapshot(shell, "db")


def assert_kept(before: TunnelStatus, after: TunnelStatus) -> None:
    """The same worker's figures: nothing was reset by a reconnect."""
    assert after.state is State.CONNECTED
    assert (after.active_connections, after.total_connections) == (1, 1)
    assert after.vendor_last_connected == before.vendor_last_connected
    assert (after.reconnects, after.since) == (before.reconnects, before.since)


def test_edit_then_finish_with_nothing_changed_keeps_the_live_connection(
    qtbot: QtBot, shell: Shell, tk_home: AppPaths, jumphost: Jumphost, echo: TcpServer
) -> None:
    add(tk_home, jumphost, echo.port)
    conn, before = connected_with_one_connection(qtbot, shell, jumphost)
    with conn:
        driver = open_editor(qtbot, shell, "db")
        edit_to_finish(driver)
        finish(shell, driver)  # no question: nothing would be dropped
        assert snapshot(shell, "db").detail != "disconnecting…"  # no restart began
        conn.sendall(b"after")  # the same TCP connection still carries data
        assert recv_exact(conn, 5) == b"after"
        qtbot.waitUntil(lambda: snapshot(shell, "db").bytes_to_vendor == 11, timeout=DEADLINE_MS)
        assert_kept(before, snapshot(shell, "db"))


def test_a_new_name_renames_the_running_tunnel_in_place(
    qtbot: QtBot, shell: Shell, tk_home: AppPaths, jumphost: Jumphost, echo: TcpServer
) -> None:
    add(tk_home, jumphost, echo.port)
    conn, before = connected_with_one_connection(qtbot, shell, jumphost)
    with conn:
        driver = open_editor(qtbot, shell, "db")
        edit_to_finish(driver)
        driver.set_text(driver.wizard.finish_page.name, "warehouse")
        finish(shell, driver)
        assert sorted(shell.hub.profiles) == ["warehouse"]
        assert shell.hub.host.is_hosted("warehouse") and not shell.hub.host.is_hosted("db")
        conn.sendall(b"after")
        assert recv_exact(conn, 5) == b"after"
        qtbot.waitUntil(
            lambda: snapshot(shell, "warehouse").bytes_to_vendor == 11, timeout=DEADLINE_MS
        )
        assert_kept(before, snapshot(shell, "warehouse"))


def test_an_edit_that_alters_the_connection_asks_then_reconnects_with_it(
    qtbot: QtBot, shell: Shell, tk_home: AppPaths, jumphost: Jumphost, echo: TcpServer
) -> None:
    add(tk_home, jumphost, echo.port)
    conn, _before = connected_with_one_connection(qtbot, shell, jumphost)
    with conn, tcp_server(echo_handler) as moved:
        driver = open_editor(qtbot, shell, "db")
        edit_to_finish(driver, target_port=moved.port)
        page = driver.wizard.finish_page
        driver.click(driver.button(QWizard.WizardButton.FinishButton))
        box = page.drop_box
        assert box is not None
        driver.wait(box.isVisible)
        assert box.text() == "This will drop 1 active connection. Apply now?"
        assert page.apply_now is not None
        driver.click(page.apply_now)
        driver.wait(lambda: shell.wizard is None)
        qtbot.waitUntil(
            lambda: (
                shell.hub.states()["db"] is State.CONNECTED
                and snapshot(shell, "db").total_connections == 0
            ),  # a new worker
            timeout=DEADLINE_MS,
        )
        with contextlib.suppress(ConnectionError):  # reset, or ended: dropped as announced
            assert conn.recv(16) == b""
        reached = moved.accepted
        with socket.create_connection(("127.0.0.1", jumphost.remote_port), timeout=10) as new:
            new.sendall(b"moved")
            assert recv_exact(new, 5) == b"moved"
        assert moved.accepted == reached + 1  # through the tunnel to the new target


def test_a_key_not_added_yet_is_saved_and_keeps_trying_until_it_is(
    qtbot: QtBot, shell: Shell, tk_home: AppPaths, jumphost: Jumphost, echo: TcpServer
) -> None:
    shell.start(quiet=True)
    shell.open_wizard(None)
    assert shell.wizard is not None
    driver = Driver(qtbot, shell.wizard)
    driver.next(Page.KEY)
    driver.create_key()  # not pasted at the vendor yet
    driver.next(Page.ENDPOINT)
    driver.paste(vendor_command(jumphost, target=f"127.0.0.1:{echo.port}"))
    driver.next(Page.TARGET)
    driver.next(Page.HOST_KEY)
    driver.trust()
    driver.next(Page.TEST)
    driver.checks_done()
    page = driver.wizard.checks_page
    assert page.key_actions.isVisible()
    driver.click(page.keep_trying)
    driver.wait(lambda: driver.page_id is Page.FINISH)
    driver.wait(lambda: driver.wizard.finish_page.taken is not None)
    finish(shell, driver)

    hub = shell.hub
    qtbot.waitUntil(lambda: "Trying again" in snapshot(shell, "tunnel").detail, timeout=DEADLINE_MS)
    assert hub.host.is_hosted("tunnel")  # it runs, retrying: nothing for the user to do
    authorize(jumphost, str(tk_home.keys_dir / "tunnel"))  # the vendor adds the key
    hub.reconnect_now("tunnel")  # rather than wait out the retry delay
    qtbot.waitUntil(lambda: hub.states()["tunnel"] is State.CONNECTED, timeout=DEADLINE_MS)


def test_the_passphrase_typed_in_the_wizard_is_not_asked_for_again(
    qtbot: QtBot,
    shell: Shell,
    tk_home: AppPaths,
    jumphost: Jumphost,
    echo: TcpServer,
    tmp_path: Path,
) -> None:
    locked = encrypted_key(tmp_path / "locked", "right horse")
    jumphost.sshd.authorize_tunnel(locked, f"localhost:{jumphost.remote_port}")
    asked: list[str] = []
    shell.hub.passphrase_wanted.connect(lambda name, _wrong: asked.append(name))
    shell.start(quiet=True)  # no keychain: nothing could be stored there
    shell.open_wizard(None)
    assert shell.wizard is not None
    driver = Driver(qtbot, shell.wizard)
    driver.next(Page.KEY)
    driver.use_key(locked, "right horse")
    driver.next(Page.ENDPOINT)
    driver.paste(vendor_command(jumphost, target=f"127.0.0.1:{echo.port}"))
    driver.next(Page.TARGET)
    driver.next(Page.HOST_KEY)
    driver.trust()
    driver.next(Page.TEST)
    driver.checks_done()
    driver.next(Page.FINISH)
    driver.wait(lambda: driver.wizard.finish_page.taken is not None)
    finish(shell, driver)
    qtbot.waitUntil(
        lambda: shell.hub.states().get("tunnel") is State.CONNECTED, timeout=DEADLINE_MS
    )
    assert asked == []


def change(qtbot: QtBot, shell: Shell, where: str) -> tuple[Driver, list[int]]:
    """Click the Change… beside ``where`` in the status window's detail pane: the wizard
    it opens, and the pages it shows (in order; the app deletes it once it is done)."""
    shell.window.select("db")
    assert shell.window.detail.name == "db"
    shell.window.detail.changes[where].click()
    wizard = shell.wizard
    assert isinstance(wizard, SetupWizard)
    shown = [wizard.currentId()]
    wizard.currentIdChanged.connect(shown.append)
    qtbot.waitExposed(wizard)
    return Driver(qtbot, wizard), shown


def test_changing_only_the_name_from_the_detail_pane_renames_in_place(
    qtbot: QtBot, shell: Shell, tk_home: AppPaths, jumphost: Jumphost, echo: TcpServer
) -> None:
    add(tk_home, jumphost, echo.port)
    conn, before = connected_with_one_connection(qtbot, shell, jumphost)
    saved = shell.hub.profiles["db"]
    with conn:
        driver, shown = change(qtbot, shell, "Name")
        wizard = driver.wizard
        assert driver.page_id is Page.FINISH  # the name's page, and nothing before it
        driver.wait(lambda: wizard.finish_page.taken is not None)
        driver.set_text(wizard.finish_page.name, "warehouse")
        finish(shell, driver)  # no question: a rename drops nothing
        assert shown == [Page.FINISH]  # no test for a rename
        assert sorted(shell.hub.profiles) == ["warehouse"]
        assert shell.hub.profiles["warehouse"] == replace(saved, name="warehouse")
        assert shell.hub.host.is_hosted("warehouse") and not shell.hub.host.is_hosted("db")
        conn.sendall(b"after")
        assert recv_exact(conn, 5) == b"after"
        qtbot.waitUntil(
            lambda: snapshot(shell, "warehouse").bytes_to_vendor == 11, timeout=DEADLINE_MS
        )
        assert_kept(before, snapshot(shell, "warehouse"))


def test_changing_only_the_target_tests_it_asks_and_reconnects_to_it(
    qtbot: QtBot, shell: Shell, tk_home: AppPaths, jumphost: Jumphost, echo: TcpServer
) -> None:
    add(tk_home, jumphost, echo.port)
    conn, _before = connected_with_one_connection(qtbot, shell, jumphost)
    saved = shell.hub.profiles["db"]
    with conn, tcp_server(echo_handler) as moved:
        driver, shown = change(qtbot, shell, "Forwards to")
        wizard = driver.wizard
        assert driver.page_id is Page.TARGET
        assert wizard.target_page.port.text() == str(echo.port)
        driver.set_text(wizard.target_page.port, str(moved.port))
        driver.next(Page.TEST)  # the connection changes: tested first
        driver.checks_done()
        assert wizard.checks_page.ready(), wizard.checks_page.summary.text()
        driver.next(Page.FINISH)
        driver.wait(lambda: wizard.finish_page.taken is not None)
        page = wizard.finish_page
        driver.click(driver.button(QWizard.WizardButton.FinishButton))
        box = page.drop_box
        assert box is not None
        driver.wait(box.isVisible)
        assert box.text() == "This will drop 1 active connection. Apply now?"
        assert page.apply_now is not None
        driver.click(page.apply_now)
        driver.wait(lambda: shell.wizard is None)
        assert shown == [Page.TARGET, Page.TEST, Page.FINISH]
        assert shell.hub.profiles["db"] == replace(saved, target_port=moved.port)  # that alone
        qtbot.waitUntil(
            lambda: (
                shell.hub.states()["db"] is State.CONNECTED
                and snapshot(shell, "db").total_connections == 0
            ),  # a new worker
            timeout=DEADLINE_MS,
        )
        reached = moved.accepted
        with socket.create_connection(("127.0.0.1", jumphost.remote_port), timeout=10) as new:
            new.sendall(b"moved")
            assert recv_exact(new, 5) == b"moved"
        assert moved.accepted == reached + 1  # through the tunnel to the new target
