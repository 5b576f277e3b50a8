"""The tray follows the tunnels: icon colour, tooltip, menu entries, rate-limited notices."""

from __future__ import annotations

from PySide6.QtGui import QAction
from PySide6.QtWidgets import QMenu
from pytestqt.qtbot import QtBot

from app.core.events import State, TunnelEvent
from app.storage.paths import AppPaths
from app.storage.store import ProfileStore
from app.ui.hub import TunnelHub
from app.ui.summary import Light, Notifier
from app.ui.tray import Tray
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
        "db — stopped",
        "Add tunnel…",
        "Status window",
        "Open logs folder",
        "Start at login",
        "Keep tunnels running when logged out…",
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
    assert tray.icon.toolTip() == "Tunnelkeeper\ndb: stopped"

    action(sub, "Connect").trigger()
    qtbot.waitUntil(lambda: tray.light is Light.GREEN, timeout=DEADLINE_MS)
    assert "db: connected, up" in tray.icon.toolTip()
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
    # flapping: more errors within the minute do not notify again
    for _ in range(5):
        hub.tunnel_event.emit(TunnelEvent("db", State.RETRYING, "lost"))
        hub.tunnel_event.emit(TunnelEvent("db", State.ERROR, "host key changed"))
    assert len(notices) == 1


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
