"""The tray follows the tunnels: icon colour, tooltip, summary line, menu entries, notices."""

from __future__ import annotations

import time
from dataclasses import replace
from typing import cast

from PySide6.QtCore import QObject, Signal
from PySide6.QtGui import QAction
from PySide6.QtWidgets import QMenu
from pytestqt.qtbot import QtBot

from app.core.events import State, TunnelEvent, TunnelStatus
from app.core.profile import Profile, profile_from_dict
from app.storage.paths import AppPaths
from app.storage.store import ProfileStore
from app.ui.hub import TunnelHub
from app.ui.rows import Row
from app.ui.summary import Light, Notifier
from app.ui.tray import STATUS_CHARS, Tray
from tests.app.ui.conftest import DEADLINE_MS, add
from tests.conftest import Jumphost
from tests.support.net import TcpServer


def texts(menu: QMenu) -> list[str]:
    """The entries as the user sees them (no separators, nothing hidden)."""
    return [a.text() for a in menu.actions() if not a.isSeparator() and a.isVisible()]


def action(menu: QMenu, text: str) -> QAction:
    found = [a for a in menu.actions() if a.text() == text]
    assert found, f"no {text!r} in {texts(menu)}"
    return found[0]


def test_menu_lists_tunnels_and_the_app_entries(
    qtbot: QtBot, hub: TunnelHub, tk_home: AppPaths, jumphost: Jumphost, echo: TcpServer
) -> None:
    add(tk_home, jumphost, echo.port)
    hub.reload()
    tray = Tray(hub, Notifier(), available=lambda: False)
    assert texts(tray.menu) == [
        "db is stopped",  # the summary line: informational
        "db — stopped",
        "Add tunnel…",
        "Status window",
        "Open logs folder",
        "Start at login",
        "Keep tunnels running when logged out…",
        "Alerts…",
        "Metrics…",
        "Notifications",
        "About Tunnelkeeper",
        "Quit",
    ]
    sub = action(tray.menu, "db — stopped").menu()
    assert isinstance(sub, QMenu)
    assert texts(sub) == [
        "Stopped: not connected.",
        "Connect",
        "Disconnect",
        "Reconnect now",
        "Copy public key",
        "Test connection…",
        "Edit…",
        "Remove…",
    ]
    assert action(sub, "Connect").isEnabled() and not action(sub, "Disconnect").isEnabled()
    assert action(sub, "Edit…").isEnabled() and "kept by" not in action(sub, "Edit…").toolTip()
    assert action(tray.menu, "Start at login").isCheckable()
    opened: list[bool] = []
    tray.keep_running_requested.connect(lambda: opened.append(True))
    action(tray.menu, "Keep tunnels running when logged out…").trigger()
    assert opened == [True]
    assert tray.light is Light.GREY
    assert tray.icon.toolTip() == "Tunnelkeeper: db is stopped\ndb: stopped"
    assert not tray.menu.actions()[0].isEnabled()

    action(sub, "Connect").trigger()
    qtbot.waitUntil(lambda: tray.light is Light.GREEN, timeout=DEADLINE_MS)
    assert "db: connected, up" in tray.icon.toolTip()
    assert texts(tray.menu)[0] == "db is up"
    assert action(sub, "Disconnect").isEnabled() and not action(sub, "Connect").isEnabled()
    assert texts(sub)[0].startswith("Connected:")
    assert texts(sub)[1] == "Runs in this app"

    asked: list[str] = []
    tray.edit_requested.connect(asked.append)
    tray.test_requested.connect(asked.append)
    action(sub, "Edit…").trigger()
    action(sub, "Test connection…").trigger()
    assert asked == ["db", "db"]

    action(sub, "Disconnect").trigger()
    qtbot.waitUntil(lambda: tray.light is Light.GREY, timeout=DEADLINE_MS)


def test_an_error_turns_the_icon_red_and_notifies_once_a_minute(
    qtbot: QtBot, hub: TunnelHub, tk_home: AppPaths, jumphost: Jumphost, echo: TcpServer
) -> None:
    # not pinned: connecting fails with an error that needs the user
    ProfileStore(tk_home.profiles_file).add(jumphost.profile(echo.port, name="db"))
    hub.reload()
    tray = Tray(hub, Notifier(), available=lambda: False)
    notices: list[tuple[str, str]] = []
    tray.noticed.connect(lambda title, text: notices.append((title, text)))
    hub.connect_tunnel("db")
    assert tray.light is Light.RED
    assert notices and notices[0][0] == "Tunnel needs attention"
    # the remedy in the app's words, not the command line's
    assert "tunnelkeeper trust" not in notices[0][1]
    assert "open Tunnelkeeper and choose Trust the new key… for db" in notices[0][1]
    sub = action(tray.menu, "db — error").menu()
    assert isinstance(sub, QMenu) and "Trust the new key…" in texts(sub)
    asked: list[str] = []
    tray.trust_requested.connect(asked.append)  # the wizard's Host key page alone
    action(sub, "Trust the new key…").trigger()
    assert asked == ["db"]
    # flapping: more errors within the minute do not notify again, but the new one waits
    for _ in range(5):
        hub.tunnel_event.emit(TunnelEvent("db", State.RETRYING, "lost"))
        hub.tunnel_event.emit(TunnelEvent("db", State.ERROR, "host key changed"))
    assert len(notices) == 1
    assert tray.notice_timer.isActive()  # held back, not dropped


def test_notifications_can_be_turned_off(
    qtbot: QtBot, hub: TunnelHub, tk_home: AppPaths, jumphost: Jumphost, echo: TcpServer
) -> None:
    ProfileStore(tk_home.profiles_file).add(jumphost.profile(echo.port, name="db"))
    hub.reload()
    tray = Tray(hub, Notifier(), available=lambda: False)
    toggled: list[bool] = []
    tray.notifications_toggled.connect(toggled.append)
    notices: list[str] = []
    tray.noticed.connect(lambda title, _text: notices.append(title))
    action(tray.menu, "Notifications").trigger()
    assert toggled == [False] and not tray.notifier.enabled
    hub.connect_tunnel("db")
    assert tray.light is Light.RED
    assert notices == []


def test_show_reports_whether_a_tray_exists(qtbot: QtBot, hub: TunnelHub) -> None:
    hub.reload()
    present = [False]
    tray = Tray(hub, Notifier(), available=lambda: present[0])
    assert tray.show() is False and not tray.visible
    present[0] = True
    assert tray.show() is True


# --- at a glance, without an engine: a hub that only holds statuses ---------------------------


class StatusHub(QObject):
    """What the tray reads of a hub: rows of statuses and the signals that say they changed."""

    tunnel_event = Signal(object)
    remote_event = Signal(object)
    profiles_changed = Signal()
    foreign_changed = Signal()

    def __init__(self, *names: str) -> None:
        super().__init__()
        self.problem = None
        self.statuses = {n: TunnelStatus(n, State.STOPPED, "not connected.") for n in names}

    def rows(self) -> list[Row]:
        return [
            Row(_profile(name), status, status.state is not State.STOPPED, "app", 1, True)
            for name, status in self.statuses.items()
        ]

    def report(self, status: TunnelStatus) -> None:
        """The tunnel reported ``status`` (as the engine's event would carry it)."""
        self.statuses[status.tunnel] = status
        self.tunnel_event.emit(
            TunnelEvent(status.tunnel, status.state, status.detail, status=status)
        )


def _profile(name: str) -> Profile:
    return profile_from_dict(
        name,
        {
            "jumphost": "jump.example.com",
            "user": "vendor",
            "remote_port": 40001,
            "target_host": "127.0.0.1",
            "target_port": 5432,
            "key_path": f"/keys/{name}",
        },
    )


def _tray(hub: StatusHub, notifier: Notifier | None = None) -> Tray:
    return Tray(cast(TunnelHub, hub), notifier or Notifier(), available=lambda: False)


REFUSED = "target 127.0.0.1:5432 refused 3 connections in the last minute"


def test_the_summary_line_comes_first_and_follows_the_states(qtbot: QtBot) -> None:
    hub = StatusHub("warehouse", "db", "files")
    tray = _tray(hub)
    first = tray.menu.actions()[0]
    assert first is tray.summary_action and not first.isEnabled()
    assert first.text() == "No tunnel is running"
    now = time.time()
    for name in ("warehouse", "db", "files"):
        hub.report(TunnelStatus(name, State.CONNECTED, "listening", since=now - 60))
    assert texts(tray.menu)[0] == "All 3 tunnels up"
    assert tray.light is Light.GREEN
    hub.report(
        TunnelStatus("warehouse", State.RETRYING, "no reply; retrying in 4 s.", since=now - 240)
    )
    assert texts(tray.menu)[0] == "warehouse: jumphost unreachable for 4 min"
    assert tray.icon.toolTip().startswith("Tunnelkeeper: warehouse: jumphost unreachable for 4 min")
    assert tray.light is Light.AMBER
    assert texts(tray.menu)[1:4] == ["warehouse — retrying", "db — connected", "files — connected"]


def test_a_refusing_target_is_amber_and_says_why(qtbot: QtBot) -> None:
    hub = StatusHub("warehouse")
    tray = _tray(hub)
    up = TunnelStatus("warehouse", State.CONNECTED, "listening", since=time.time() - 7)
    hub.report(up)
    assert tray.light is Light.GREEN
    hub.report(
        replace(up, detail=f"{REFUSED} (connection refused); the tunnel stays up.", warning=REFUSED)
    )
    assert tray.light is Light.AMBER  # not green: the vendor's jobs fail
    assert texts(tray.menu)[0] == "warehouse: up, but the target refuses connections"
    tip = tray.icon.toolTip().splitlines()
    assert tip[1] == "warehouse: up, but the target refuses connections (connected for 7 s)"
    sub = action(tray.menu, "warehouse — connected, but the target refuses").menu()
    assert isinstance(sub, QMenu)
    status = sub.actions()[0]
    assert status.text().startswith("Up, but the target refuses: target 127.0.0.1:5432 refused")
    assert len(status.text()) <= STATUS_CHARS
    assert status.toolTip() == REFUSED  # the whole warning, where the entry is cut
    hub.report(replace(up, warning=None))
    assert tray.light is Light.GREEN and texts(tray.menu)[0] == "warehouse is up"


def test_uptime_counts_from_when_the_state_began(qtbot: QtBot) -> None:
    hub = StatusHub("db")
    tray = _tray(hub)
    began = time.time() - 3 * 3600 - 5
    hub.report(TunnelStatus("db", State.CONNECTED, "listening", since=began))
    assert "db: connected, up 3 h 0 min" in tray.icon.toolTip()
    # more events in the same state (figures, a warning that cleared) keep the start
    hub.report(
        TunnelStatus("db", State.CONNECTED, "1 connection", since=began, total_connections=1)
    )
    hub.report(
        TunnelStatus("db", State.CONNECTED, "2 connections", since=began, total_connections=2)
    )
    assert "db: connected, up 3 h 0 min" in tray.icon.toolTip()
    tray.refresh()  # the periodic refresh, later: still counted from the state's start
    assert "db: connected, up 3 h 0 min" in tray.icon.toolTip()
    hub.report(TunnelStatus("db", State.CONNECTED, "listening", since=None))
    assert tray.icon.toolTip().splitlines()[1] == "db: connected"  # no "up 0 s" made up


def test_a_short_outage_is_told_once_after_the_limit(qtbot: QtBot) -> None:
    hub = StatusHub("warehouse")
    tray = _tray(hub, Notifier(every=0.5))
    notices: list[tuple[str, str]] = []
    tray.noticed.connect(lambda title, text: notices.append((title, text)))
    now = time.time()
    hub.report(TunnelStatus("warehouse", State.CONNECTED, "listening", since=now))
    assert notices == [("Tunnel connected", "warehouse is connected.")]
    lost = "the connection to jump.example.com was lost (reset); retrying in 1 s."
    hub.report(TunnelStatus("warehouse", State.RETRYING, lost, since=now))
    hub.report(TunnelStatus("warehouse", State.CONNECTING, "connecting…", since=now))
    hub.report(TunnelStatus("warehouse", State.CONNECTED, "listening", since=now))
    assert len(notices) == 1 and tray.notice_timer.isActive()
    qtbot.waitUntil(lambda: len(notices) == 2, timeout=5_000)
    title, text = notices[1]
    assert title == "Tunnel connection lost and restored"
    assert text.startswith("warehouse lost its connection and is connected again (")
    assert not tray.notice_timer.isActive()


def test_a_held_notice_is_dropped_when_notifications_are_turned_off(qtbot: QtBot) -> None:
    hub = StatusHub("warehouse")
    tray = _tray(hub, Notifier(every=60))
    hub.report(TunnelStatus("warehouse", State.CONNECTED, "listening"))
    hub.report(TunnelStatus("warehouse", State.RETRYING, "lost; retrying in 1 s."))
    assert tray.notice_timer.isActive()
    action(tray.menu, "Notifications").trigger()
    assert not tray.notifier.enabled and not tray.notice_timer.isActive()


def test_clicking_a_notice_opens_the_status_window(qtbot: QtBot) -> None:
    tray = _tray(StatusHub("db"))
    opened: list[bool] = []
    tray.status_requested.connect(lambda: opened.append(True))
    tray.icon.messageClicked.emit()
    assert opened == [True]
