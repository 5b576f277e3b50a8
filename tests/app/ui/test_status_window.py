"""The status window: live table, per-tunnel actions, log pane with filter, diagnostics."""

from __future__ import annotations

import logging
import socket
from pathlib import Path

from PySide6.QtCore import Qt
from PySide6.QtWidgets import QApplication
from pytestqt.qtbot import QtBot

from app.core import knownhosts
from app.core.events import State
from app.storage.paths import AppPaths
from app.ui.hub import TunnelHub
from app.ui.logfeed import LogFeed
from app.ui.status_window import COLUMNS, LOG_LINES, StatusWindow
from tests.app.ui.conftest import DEADLINE_MS, add
from tests.conftest import Jumphost
from tests.support.net import TcpServer, recv_exact
from tests.support.sshd import ssh_keygen


def cell(window: StatusWindow, column: str, row: int = 0) -> str:
    item = window.table.item(row, COLUMNS.index(column))
    return item.text() if item is not None else ""


def test_the_table_follows_the_tunnel_live(
    qtbot: QtBot, hub: TunnelHub, tk_home: AppPaths, jumphost: Jumphost, echo: TcpServer
) -> None:
    add(tk_home, jumphost, echo.port)
    hub.reload()
    window = StatusWindow(hub)
    qtbot.addWidget(window)
    window.show()
    assert window.table.rowCount() == 1
    assert cell(window, "Tunnel") == "db" and cell(window, "State") == "stopped"
    assert window.selected() == "db"
    assert window.buttons["Connect"].isEnabled() and not window.buttons["Disconnect"].isEnabled()

    window.buttons["Connect"].click()
    qtbot.waitUntil(lambda: cell(window, "State") == "connected", timeout=DEADLINE_MS)
    assert window.buttons["Disconnect"].isEnabled() and not window.buttons["Connect"].isEnabled()
    with socket.create_connection(("127.0.0.1", jumphost.remote_port), timeout=10) as conn:
        conn.sendall(b"x" * 2048)
        assert recv_exact(conn, 2048) == b"x" * 2048
    qtbot.waitUntil(lambda: cell(window, "To target") == "2.0 KiB", timeout=DEADLINE_MS)
    qtbot.waitUntil(lambda: cell(window, "Connections") == "0 / 1", timeout=DEADLINE_MS)
    assert cell(window, "Vendor last connected") != "never"
    assert hub.history.flush()
    window.tabs.setCurrentWidget(window.history)
    window.history.reload()  # the History tab: read from the file the app records into
    qtbot.waitUntil(lambda: window.history.day_words.text() == "100.0 % up", timeout=DEADLINE_MS)
    assert [s.kind.value for s in window.history.day.segments()][-1] == "up"

    window.buttons["Disconnect"].click()
    qtbot.waitUntil(lambda: cell(window, "Detail") == "disconnected.", timeout=DEADLINE_MS)
    assert hub.states()["db"] is State.STOPPED
    # what it carried stays on show until the next Connect, not reset by Disconnect
    assert cell(window, "To target") == "2.0 KiB" and cell(window, "Connections") == "0 / 1"
    window.buttons["Connect"].click()
    qtbot.waitUntil(lambda: cell(window, "State") == "connected", timeout=DEADLINE_MS)
    assert cell(window, "To target") == "0 B" and cell(window, "Connections") == "0 / 0"


def test_the_log_pane_keeps_the_last_lines_and_filters(qtbot: QtBot, hub: TunnelHub) -> None:
    hub.reload()
    window = StatusWindow(hub)
    qtbot.addWidget(window)
    window.show()
    feed = LogFeed()
    feed.line.connect(window.add_log_line)
    logger = logging.getLogger("tunnelkeeper.test-feed")
    logger.setLevel(logging.INFO)
    feed.attach(logger)
    try:
        for i in range(LOG_LINES + 200):
            logger.info("line %d %s", i, "warehouse" if i % 2 else "files")
    finally:
        feed.detach(logger)
    qtbot.waitUntil(lambda: "line 1199" in window.log.toPlainText(), timeout=5_000)
    shown = window.log.toPlainText().splitlines()
    assert len(shown) == LOG_LINES and "line 200 " in shown[0]
    window.filter.setText("warehouse")
    shown = window.log.toPlainText().splitlines()
    assert len(shown) == LOG_LINES // 2 and all("warehouse" in line for line in shown)
    window.filter.setText("")
    assert len(window.log.toPlainText().splitlines()) == LOG_LINES


def test_copy_diagnostics_has_the_profile_and_events_but_no_secrets(
    qtbot: QtBot, hub: TunnelHub, tk_home: AppPaths, jumphost: Jumphost, echo: TcpServer
) -> None:
    add(tk_home, jumphost, echo.port)
    hub.reload()
    window = StatusWindow(hub)
    qtbot.addWidget(window)
    window.show()
    hub.connect_tunnel("db")
    qtbot.waitUntil(lambda: hub.states()["db"] is State.CONNECTED, timeout=DEADLINE_MS)
    window.copy_diagnostics()
    text = QApplication.clipboard().text()
    assert text.startswith("Tunnelkeeper diagnostics")
    for expected in ("paramiko:", "qt:", '"remote_port": ' + str(jumphost.remote_port)):
        assert expected in text
    assert '"state": "connected"' in text
    assert str(jumphost.key) not in text  # the key's path says who the user is
    assert jumphost.key.read_text().splitlines()[1] not in text
    assert '"key_file": "' + jumphost.key.name + '"' in text


def test_closing_the_window_only_hides_it(qtbot: QtBot, hub: TunnelHub) -> None:
    hub.reload()
    window = StatusWindow(hub)
    qtbot.addWidget(window)
    window.show()
    window.bring_forward()
    assert window.isVisible()
    assert window.close() is False
    assert not window.isVisible()


def test_a_changed_host_key_offers_to_trust_the_new_one(
    qtbot: QtBot,
    hub: TunnelHub,
    tk_home: AppPaths,
    jumphost: Jumphost,
    echo: TcpServer,
    tmp_path: Path,
) -> None:
    add(tk_home, jumphost, echo.port)
    impostor = Path(f"{ssh_keygen(tmp_path / 'impostor')}.pub").read_text().split()
    pattern = knownhosts.host_pattern("127.0.0.1", jumphost.port)
    tk_home.known_hosts_file.write_text(f"{pattern} {impostor[0]} {impostor[1]}\n")
    hub.reload()
    window = StatusWindow(hub)
    qtbot.addWidget(window)
    window.show()
    assert not window.trust.isVisible()  # nothing to trust while stopped

    hub.connect_tunnel("db")
    qtbot.waitUntil(lambda: cell(window, "State") == "error", timeout=DEADLINE_MS)
    qtbot.waitUntil(window.trust.isVisible, timeout=DEADLINE_MS)
    detail = cell(window, "Detail")
    assert "CHANGED" in detail and "trust the jumphost's new key" in detail
    assert "tunnelkeeper" not in detail  # the command line's way is not the app's
    with qtbot.waitSignal(window.edit_part_requested, timeout=DEADLINE_MS) as asked:
        window.trust.click()  # the wizard's Host key page alone is where a key is trusted
    assert asked.args == ["db", "hostkey"]
    with qtbot.waitSignal(window.edit_part_requested, timeout=DEADLINE_MS) as asked:
        window.detail.trust.click()  # the detail pane's button: the same page
    assert asked.args == ["db", "hostkey"]


def test_esc_and_ctrl_w_hide_it_and_the_empty_window_offers_a_first_tunnel(
    qtbot: QtBot, hub: TunnelHub
) -> None:
    hub.reload()
    window = StatusWindow(hub)
    qtbot.addWidget(window)
    for keys in ((Qt.Key.Key_Escape, Qt.KeyboardModifier.NoModifier),
                 (Qt.Key.Key_W, Qt.KeyboardModifier.ControlModifier)):  # fmt: skip
        window.show()
        qtbot.waitExposed(window)
        qtbot.keyClick(window, keys[0], keys[1])
        assert not window.isVisible(), keys
    window.show()
    assert window.top.currentIndex() == 1 and window.first.isVisible()
    with qtbot.waitSignal(window.add_requested, timeout=2000):
        window.first.click()
    screen = window.screen().availableSize()
    assert window.width() <= screen.width() and window.height() <= screen.height()
    assert window.minimumSizeHint().width() <= 1280 * 0.9


def test_the_rows_menu_double_click_and_detail_pane(
    qtbot: QtBot, hub: TunnelHub, tk_home: AppPaths, jumphost: Jumphost, echo: TcpServer
) -> None:
    add(tk_home, jumphost, echo.port)
    hub.reload()
    window = StatusWindow(hub)
    qtbot.addWidget(window)
    window.show()
    assert window.top.currentIndex() == 0
    assert not window.buttons["Reconnect now"].isEnabled()  # nothing to reconnect while stopped

    window._row_menu("db", window.mapToGlobal(window.rect().center()))
    menu = {a.text(): a for a in window.menu.actions() if a.text()}
    assert list(menu) == [
        "Connect", "Disconnect", "Reconnect now", "Test…", "Edit…", "Remove…", "Copy public key",
    ]  # fmt: skip
    assert menu["Connect"].isEnabled() and not menu["Reconnect now"].isEnabled()
    window.menu.close()
    with qtbot.waitSignal(window.edit_requested, timeout=2000) as asked:
        window.table.activated.emit("db")  # double-click: edit it
    assert asked.args == ["db"]

    pane = window.detail
    assert pane.name == "db" and pane.title.text() == "db"
    assert pane.fields["Jumphost"].text() == f"{jumphost.sshd.user}@127.0.0.1:{jumphost.port}"
    assert pane.fields["Forwards to"].text() == f"127.0.0.1:{echo.port}"
    public = Path(f"{jumphost.key}.pub").read_text().strip()
    qtbot.waitUntil(
        lambda: pane.fields["Key"].text().startswith("ssh-ed25519 SHA256:"), timeout=DEADLINE_MS
    )
    qtbot.waitUntil(lambda: "SHA256:" in pane.fields["Jumphost's key"].text(), timeout=DEADLINE_MS)
    pane.copy_key.click()
    assert QApplication.clipboard().text().strip() == public
    assert pane.badge.text() == "● stopped" and not pane.trust.isVisible()

    window.buttons["Connect"].click()
    qtbot.waitUntil(lambda: cell(window, "State") == "connected", timeout=DEADLINE_MS)
    assert window.buttons["Reconnect now"].isEnabled()
    assert pane.badge.text() == "● connected"


def test_the_newest_log_line_is_never_under_a_scroll_bar(qtbot: QtBot, hub: TunnelHub) -> None:
    hub.reload()
    window = StatusWindow(hub)
    qtbot.addWidget(window)
    window.show()
    window.tabs.setCurrentWidget(window.log.parentWidget())
    for i in range(60):
        window.add_log_line(f"line {i} " + "x" * 400)
    qtbot.waitUntil(lambda: "line 59" in window.log.toPlainText(), timeout=5_000)
    assert not window.log.horizontalScrollBar().isVisible()
    bar = window.log.verticalScrollBar()
    qtbot.waitUntil(lambda: bar.value() == bar.maximum(), timeout=5_000)


def test_a_change_button_in_the_detail_pane_asks_the_app_for_that_part(
    qtbot: QtBot, hub: TunnelHub, tk_home: AppPaths, jumphost: Jumphost, echo: TcpServer
) -> None:
    add(tk_home, jumphost, echo.port)
    hub.reload()
    window = StatusWindow(hub)
    qtbot.addWidget(window)
    window.show()
    assert window.detail.name == "db"
    with qtbot.waitSignal(window.edit_part_requested, timeout=2000) as asked:
        window.detail.changes["Forwards to"].click()
    assert asked.args == ["db", "target"]
