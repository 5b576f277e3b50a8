"""The service's tunnels in the app when the user has no profile of them (after a move): shown
and connected or disconnected there, their settings and key left alone."""

from __future__ import annotations

import os
from pathlib import Path

import pytest
from PySide6.QtWidgets import QMenu
from pytestqt.qtbot import QtBot

from app.control.addresses import SYSTEM_SOCKET_ENV
from app.core.events import State
from app.services.api import Services
from app.storage.paths import HOME_ENV, AppPaths
from app.ui.hub import TunnelHub
from app.ui.remote import KEPT_BY_HOST
from app.ui.status_window import StatusWindow
from app.ui.summary import Light, Notifier
from app.ui.tray import Tray
from tests.app.ui.conftest import DEADLINE_MS, no_keychain
from tests.app.ui.test_status_window import cell
from tests.app.ui.test_tray import action, texts
from tests.conftest import Jumphost
from tests.support.cli import add_profile, next_event, spawn_run, stop, tk
from tests.support.net import TcpServer, port_is_listening

pytestmark = pytest.mark.integration

SERVICE_WORDS = "service: keeps running when you log out"


def service_env(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> dict[str, str]:
    """A headless host as the system service runs: its own home (not the user's), serving
    on the system socket, which this process looks for too."""
    home = tmp_path / "service-home"
    home.mkdir()
    socket = str(tmp_path / "control.sock")
    monkeypatch.setenv(SYSTEM_SOCKET_ENV, socket)
    return {
        **os.environ,
        HOME_ENV: str(home),
        "TUNNELKEEPER_SERVICE": "system",
        SYSTEM_SOCKET_ENV: socket,
    }


def test_the_services_tunnel_shows_and_is_controlled_without_a_profile_of_the_users(
    qtbot: QtBot,
    hub: TunnelHub,
    tk_home: AppPaths,
    jumphost: Jumphost,
    echo: TcpServer,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    env = service_env(tmp_path, monkeypatch)
    add_profile(jumphost, echo.port, env=env)
    assert tk("trust", "db", "--yes", env=env).returncode == 0
    proc = spawn_run("db", env=env)
    try:
        assert next_event(proc)["state"] == "connecting"
        assert next_event(proc)["state"] == "connected"
        hub.reload()
        assert hub.profiles == {}  # the user's own home has none
        window = StatusWindow(hub)
        qtbot.addWidget(window)
        window.show()
        tray = Tray(hub, Notifier(), available=lambda: False)  # built before it is seen

        qtbot.waitUntil(lambda: cell(window, "State") == "connected", timeout=DEADLINE_MS)
        (row,) = hub.rows()
        assert not row.own_profile and (row.host, row.pid) == ("service", proc.pid)
        assert row.profile.remote_port == jumphost.remote_port
        assert row.profile.key_path == KEPT_BY_HOST
        assert cell(window, "Tunnel") == "db" and cell(window, "Runs in") == SERVICE_WORDS
        buttons = window.buttons
        for label in ("Edit…", "Remove…", "Test…"):
            assert not buttons[label].isEnabled(), label
            assert "kept by the service, not in your profiles" in buttons[label].toolTip()
        assert buttons["Disconnect"].isEnabled() and not buttons["Connect"].isEnabled()
        assert buttons["Disconnect"].toolTip() == ""

        qtbot.waitUntil(lambda: tray.light is Light.GREEN, timeout=DEADLINE_MS)
        sub = action(tray.menu, "db — connected").menu()  # its submenu came with it
        assert isinstance(sub, QMenu)
        assert texts(sub)[1] == f"Runs as a {SERVICE_WORDS}"
        for text in ("Copy public key", "Test connection…", "Edit…", "Remove…"):
            entry = action(sub, text)
            assert not entry.isEnabled(), text
            assert entry.toolTip().startswith("This tunnel's settings and key are kept by")
        assert action(sub, "Disconnect").isEnabled()

        buttons["Disconnect"].click()  # asked of the service
        assert cell(window, "Detail") == "disconnecting…"
        qtbot.waitUntil(lambda: cell(window, "Detail") == "disconnected.", timeout=DEADLINE_MS)
        assert not port_is_listening(jumphost.remote_port)
        assert proc.poll() is None  # the host goes on, hosting nothing
        assert cell(window, "State") == "stopped"
        assert cell(window, "Runs in") == "— (kept by the service)"  # still shown, stopped
        assert buttons["Connect"].isEnabled() and not buttons["Edit…"].isEnabled()
        qtbot.waitUntil(lambda: tray.light is Light.GREY, timeout=DEADLINE_MS)
        assert texts(sub)[1] == "Kept by the service: Connect starts it there"

        restarted = TunnelHub(Services(tk_home, no_keychain))  # the app, started again
        try:
            later = StatusWindow(restarted)
            qtbot.addWidget(later)
            qtbot.waitUntil(lambda: later.table.rowCount() == 1, timeout=DEADLINE_MS)
            assert cell(later, "State") == "stopped" and cell(later, "Tunnel") == "db"
            assert cell(later, "Runs in") == "— (kept by the service)"
            assert later.buttons["Connect"].isEnabled()
        finally:
            restarted.stop_all()

        action(sub, "Connect").trigger()  # started where its settings are
        qtbot.waitUntil(lambda: cell(window, "State") == "connected", timeout=DEADLINE_MS)
        assert cell(window, "Runs in") == SERVICE_WORDS
        assert port_is_listening(jumphost.remote_port)
        assert not hub.is_running("db") and hub.remote.get("db") is not None
        assert hub.rows()[0].state is State.CONNECTED
    finally:
        _out, err = stop(proc)
    assert "Traceback" not in err
    # its host is gone: nothing can start it again, so it is shown no more
    qtbot.waitUntil(lambda: window.table.rowCount() == 0, timeout=DEADLINE_MS)
    assert "db — stopped" not in texts(tray.menu) and texts(tray.menu)[0] == "Add tunnel…"
