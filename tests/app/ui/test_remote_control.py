"""The app as a controller: a tunnel a `tunnelkeeper run` hosts, shown and stopped from the GUI."""

from __future__ import annotations

import socket

import pytest
from PySide6.QtWidgets import QMenu
from pytestqt.qtbot import QtBot

from app.core.events import State
from app.storage.paths import AppPaths
from app.ui.hub import TunnelHub
from app.ui.status_window import StatusWindow
from app.ui.summary import Light, Notifier
from app.ui.tray import Tray
from tests.app.ui.conftest import DEADLINE_MS
from tests.app.ui.test_status_window import cell
from tests.app.ui.test_tray import action, texts
from tests.conftest import Jumphost
from tests.support.cli import add_profile, next_event, spawn_run, status_json, stop, tk
from tests.support.net import TcpServer, echo_handler, port_is_listening, recv_exact, tcp_server

pytestmark = pytest.mark.integration


def test_a_tunnel_run_hosts_is_shown_disconnected_and_reconnected_from_the_window(
    qtbot: QtBot, hub: TunnelHub, tk_home: AppPaths, jumphost: Jumphost, echo: TcpServer
) -> None:
    add_profile(jumphost, echo.port)
    assert tk("trust", "db", "--yes").returncode == 0
    proc = spawn_run("db")
    try:
        assert next_event(proc)["state"] == "connecting"
        assert next_event(proc)["state"] == "connected"
        hub.reload()
        window = StatusWindow(hub)
        qtbot.addWidget(window)
        window.show()
        tray = Tray(hub, Notifier(), available=lambda: False)
        noticed: list[str] = []
        tray.noticed.connect(lambda _title, text: noticed.append(text))

        qtbot.waitUntil(lambda: cell(window, "State") == "connected", timeout=DEADLINE_MS)
        assert cell(window, "Runs in") == f"tunnelkeeper run (process {proc.pid})"
        assert "is listening on" in cell(window, "Detail")
        assert cell(window, "Since") != "—"
        assert not hub.is_running("db")  # the app itself hosts nothing
        assert hub.connected_pid("db") == proc.pid  # what the connection test is told
        assert hub.services.status.running(skip_pid=proc.pid).tunnels == []  # "not us"
        assert window.buttons["Disconnect"].isEnabled()
        assert not window.buttons["Connect"].isEnabled()
        qtbot.waitUntil(lambda: tray.light is Light.GREEN, timeout=DEADLINE_MS)
        sub = action(tray.menu, "db — connected").menu()
        assert isinstance(sub, QMenu)
        assert texts(sub)[1] == f"Runs in tunnelkeeper run (process {proc.pid})"
        assert noticed == ["db is connected."]

        window.buttons["Reconnect now"].click()  # the run process drops the link and redials
        qtbot.waitUntil(
            lambda: hub.rows()[0].snapshot.reconnects == 1 and cell(window, "State") == "connected",
            timeout=DEADLINE_MS,
        )
        assert port_is_listening(jumphost.remote_port)

        window.buttons["Disconnect"].click()
        assert cell(window, "Detail") == "disconnecting…"
        qtbot.waitUntil(lambda: cell(window, "Detail") == "disconnected.", timeout=DEADLINE_MS)
        assert not port_is_listening(jumphost.remote_port)
        assert proc.poll() is None  # the run process goes on, hosting nothing
        (off,) = status_json()  # the run process keeps it switched off
        assert (off["state"], off["running"], off["pid"]) == ("stopped", False, proc.pid)
        assert cell(window, "State") == "stopped" and cell(window, "Runs in") == "—"
        assert window.buttons["Connect"].isEnabled()
        assert not window.buttons["Disconnect"].isEnabled()
        assert tray.light is Light.GREY
        assert [e.detail for e in hub.recent][-1] == "disconnected."

        window.buttons["Connect"].click()  # nobody hosts it now: the app does, as before
        qtbot.waitUntil(lambda: cell(window, "State") == "connected", timeout=DEADLINE_MS)
        assert cell(window, "Runs in") == "this app"
        assert hub.is_running("db") and port_is_listening(jumphost.remote_port)
        assert proc.poll() is None and hub.remote.get("db") is None
    finally:
        _out, err = stop(proc)
    assert "Traceback" not in err


def test_the_tray_stops_an_edited_tunnel_restarted_where_it_runs_and_removes_it(
    qtbot: QtBot, hub: TunnelHub, tk_home: AppPaths, jumphost: Jumphost, echo: TcpServer
) -> None:
    add_profile(jumphost, echo.port)
    assert tk("trust", "db", "--yes").returncode == 0
    proc = spawn_run("db")
    try:
        assert next_event(proc)["state"] == "connecting"
        assert next_event(proc)["state"] == "connected"
        hub.reload()
        tray = Tray(hub, Notifier(), available=lambda: False)
        qtbot.waitUntil(lambda: tray.light is Light.GREEN, timeout=DEADLINE_MS)

        with tcp_server(echo_handler) as other:  # Edit: a new target; the run restarts it
            hub.services.profiles.edit("db", {"target_port": other.port})
            hub.reload()
            hub.restart("db")
            assert hub.rows()[0].status["detail"] == "restarting with the new settings…"
            qtbot.waitUntil(
                lambda: f"127.0.0.1:{other.port}." in hub.rows()[0].status["detail"],
                timeout=DEADLINE_MS,
            )
            row = hub.rows()[0]
            assert (row.state, row.host, row.pid) == (State.CONNECTED, "run", proc.pid)
            with socket.create_connection(("127.0.0.1", jumphost.remote_port), timeout=30) as c:
                c.sendall(b"new target")
                assert recv_exact(c, 10) == b"new target"
            assert other.accepted == 1

            sub = action(tray.menu, "db — connected").menu()
            assert isinstance(sub, QMenu)
            action(sub, "Disconnect").trigger()
            qtbot.waitUntil(lambda: tray.light is Light.GREY, timeout=DEADLINE_MS)
            assert not port_is_listening(jumphost.remote_port)
            assert action(sub, "Connect").isEnabled()

        assert tk("connect", "db").returncode == 0  # the CLI asks the run process again
        qtbot.waitUntil(lambda: hub.rows()[0].host == "run", timeout=DEADLINE_MS)
        hub.remove("db")  # stopped where it runs, then its profile goes
        qtbot.waitUntil(lambda: not hub.profiles, timeout=DEADLINE_MS)
        assert not port_is_listening(jumphost.remote_port)
        assert proc.poll() is None and status_json() == []
    finally:
        _out, err = stop(proc)
    assert "Traceback" not in err
