"""The status window: live table, per-tunnel actions, log pane with filter, diagnostics."""

from __future__ import annotations

import logging
import socket
from pathlib import Path

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

    window.buttons["Disconnect"].click()
    qtbot.waitUntil(lambda: cell(window, "Detail") == "disconnected.", timeout=DEADLINE_MS)
    assert hub.states()["db"] is State.STOPPED


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
    with qtbot.waitSignal(window.edit_requested, timeout=DEADLINE_MS) as asked:
        window.trust.click()  # the wizard's Host key page is where a key is trusted
    assert asked.args == ["db"]
