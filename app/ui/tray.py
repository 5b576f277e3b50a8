"""The system-tray icon: colour per aggregate state, tooltip, the menu and notifications."""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass

from PySide6.QtCore import QObject, QTimer, Signal
from PySide6.QtGui import QAction
from PySide6.QtWidgets import QMenu, QSystemTrayIcon

from app.core.control import HostKind
from app.core.events import State, TunnelEvent
from app.core.textsafe import DETAIL_LIMIT, safe_text
from app.ui.foreign import why_off
from app.ui.hub import TunnelHub
from app.ui.icons import tray_icon
from app.ui.rows import Row
from app.ui.summary import Light, Notice, Notifier, TunnelLine, aggregate, tooltip

TOOLTIP_REFRESH_MS = 15_000
NOTICE_MS = 8_000


def tunnel_line(row: Row) -> TunnelLine:
    status = row.snapshot
    since = status.since or time.time()
    return TunnelLine(row.profile.name, row.state, since, status.next_retry_at)


STATUS_CHARS = 64  # a menu entry, not a paragraph: the status window has the whole text


def status_line(row: Row) -> str:
    """The first, disabled entry of a tunnel's submenu (long details cut with an ellipsis)."""
    detail = safe_text(row.snapshot.detail, DETAIL_LIMIT)
    text = f"{row.state.value.capitalize()}: {detail}".strip()
    return text if len(text) <= STATUS_CHARS else text[: STATUS_CHARS - 1].rstrip() + "…"


def where_line(row: Row) -> str:
    """The second, disabled entry of a running tunnel's submenu: where it runs, in the
    status window's words ("Runs in this app", "Runs as a service: keeps running…"); for
    a stopped tunnel whose settings another host keeps, who keeps them."""
    if not row.host and row.keeper:
        return f"Kept by {row.keeper}: Connect starts it there"
    if row.elsewhere and row.host == HostKind.SERVICE:
        return f"Runs as a {row.runs_in}"
    return f"Runs in {row.runs_in}"


@dataclass
class _TunnelMenu:
    menu: QMenu
    status: QAction
    where: QAction
    connect: QAction
    disconnect: QAction
    reconnect: QAction
    own_only: dict[str, QAction]  # why_off's action -> the entry on the settings or key


class Tray(QObject):
    """Owns the QSystemTrayIcon; asks the app (through signals) for anything with a window."""

    add_requested = Signal()
    edit_requested = Signal(str)
    test_requested = Signal(str)
    remove_requested = Signal(str)
    copy_key_requested = Signal(str)
    status_requested = Signal()
    logs_requested = Signal()
    about_requested = Signal()
    quit_requested = Signal()
    keep_running_requested = Signal()
    autostart_toggled = Signal(bool)
    notifications_toggled = Signal(bool)
    noticed = Signal(str, str)  # title, text: every notice, shown or not

    def __init__(
        self,
        hub: TunnelHub,
        notifier: Notifier,
        available: Callable[[], bool] = QSystemTrayIcon.isSystemTrayAvailable,
    ) -> None:
        super().__init__()
        self.hub = hub
        self.notifier = notifier
        self._available = available
        self.icon = QSystemTrayIcon()
        self.menu = QMenu()
        self.icon.setContextMenu(self.menu)
        self.icon.activated.connect(self._activated)
        self.light = Light.GREY
        self._tunnels: dict[str, _TunnelMenu] = {}
        self.autostart_action = QAction("Start at login")
        self.autostart_action.setCheckable(True)
        self.autostart_action.toggled.connect(self.autostart_toggled)
        self.keep_running_action = QAction("Keep tunnels running when logged out…")
        self.keep_running_action.triggered.connect(self.keep_running_requested)
        self.notify_action = QAction("Notifications")
        self.notify_action.setCheckable(True)
        self.notify_action.setChecked(notifier.enabled)
        self.notify_action.toggled.connect(self._notifications)
        self._timer = QTimer(self)
        self._timer.timeout.connect(self.refresh)
        self._timer.start(TOOLTIP_REFRESH_MS)
        hub.tunnel_event.connect(self._on_event)
        hub.profiles_changed.connect(self.rebuild)
        hub.foreign_changed.connect(self.rebuild)  # one submenu per tunnel shown
        hub.remote_event.connect(self._on_event)  # another process's tunnel, shown as ours
        self.rebuild()

    # --- visibility -----------------------------------------------------------------------

    def available(self) -> bool:
        return bool(self._available())

    def show(self) -> bool:
        """Show the icon if a tray exists now; False means the caller needs a window."""
        if not self.available():
            return False
        self.icon.show()
        return True

    @property
    def visible(self) -> bool:
        return self.icon.isVisible()

    # --- menu -----------------------------------------------------------------------------

    def rebuild(self) -> None:
        self.menu.clear()
        self._tunnels.clear()
        rows = self.hub.rows()
        if self.hub.problem is not None:
            problem = self.menu.addAction("Profiles file needs repair (see Status window)")
            problem.setEnabled(False)
        for row in rows:
            self._tunnels[row.profile.name] = self._tunnel_menu(row.profile.name)
        if rows:
            self.menu.addSeparator()
        self.menu.addAction("Add tunnel…").triggered.connect(self.add_requested)
        self.menu.addAction("Status window").triggered.connect(self.status_requested)
        self.menu.addAction("Open logs folder").triggered.connect(self.logs_requested)
        self.menu.addSeparator()
        self.menu.addAction(self.autostart_action)
        self.menu.addAction(self.keep_running_action)
        self.menu.addAction(self.notify_action)
        self.menu.addAction("About Tunnelkeeper").triggered.connect(self.about_requested)
        self.menu.addSeparator()
        self.menu.addAction("Quit").triggered.connect(self.quit_requested)
        self.refresh()

    def _tunnel_menu(self, name: str) -> _TunnelMenu:
        sub = self.menu.addMenu(name)
        sub.setToolTipsVisible(True)  # why an entry is off
        status = sub.addAction("")
        status.setEnabled(False)
        where = sub.addAction("")
        where.setEnabled(False)
        sub.addSeparator()
        connect = sub.addAction("Connect")
        connect.triggered.connect(lambda: self.hub.connect_tunnel(name))
        disconnect = sub.addAction("Disconnect")
        disconnect.triggered.connect(lambda: self.hub.disconnect_tunnel(name))
        reconnect = sub.addAction("Reconnect now")
        reconnect.triggered.connect(lambda: self.hub.reconnect_now(name))
        sub.addSeparator()
        own_only = {}
        for key, text, signal in (
            ("copy key", "Copy public key", self.copy_key_requested),
            ("test", "Test connection…", self.test_requested),
            ("edit", "Edit…", self.edit_requested),
            ("remove", "Remove…", self.remove_requested),
        ):
            entry = sub.addAction(text)
            entry.triggered.connect(lambda _=False, s=signal: s.emit(name))
            own_only[key] = entry
        return _TunnelMenu(sub, status, where, connect, disconnect, reconnect, own_only)

    def refresh(self) -> None:
        """Icon, tooltip and each submenu's status line from the statuses the hub keeps
        (the last each tunnel reported: nothing here asks an engine)."""
        rows = self.hub.rows()
        for row in rows:
            entry = self._tunnels.get(row.profile.name)
            if entry is None:
                continue
            running = row.running
            entry.status.setText(status_line(row))
            entry.where.setText(where_line(row))
            entry.where.setVisible(bool(row.host or row.keeper))
            entry.connect.setEnabled(not running)
            entry.disconnect.setEnabled(running)
            entry.reconnect.setEnabled(row.state is not State.CONNECTING or running)
            for key, own_only in entry.own_only.items():
                own_only.setEnabled(row.own_profile)
                own_only.setToolTip("" if row.own_profile else why_off(row, key))
            entry.menu.setTitle(f"{row.profile.name} — {row.state.value}")
        self.light = aggregate({row.profile.name: row.state for row in rows})
        self.icon.setIcon(tray_icon(self.light))
        self.icon.setToolTip(tooltip([tunnel_line(r) for r in rows], time.time()))

    # --- events and notifications ---------------------------------------------------------

    def _on_event(self, event: TunnelEvent) -> None:
        self.refresh()
        notice = self.notifier.consider(event, time.time())
        if notice is None:
            return
        kind, text = notice
        title = {
            Notice.CONNECTED: "Tunnel connected",
            Notice.LOST: "Tunnel connection lost",
            Notice.RESTORED: "Tunnel restored",
            Notice.NEEDS_YOU: "Tunnel needs attention",
        }[kind]
        self.noticed.emit(title, text)
        if self.icon.isVisible() and QSystemTrayIcon.supportsMessages():
            level = (
                QSystemTrayIcon.MessageIcon.Warning
                if kind in (Notice.LOST, Notice.NEEDS_YOU)
                else QSystemTrayIcon.MessageIcon.Information
            )
            self.icon.showMessage(title, text, level, NOTICE_MS)

    def _notifications(self, on: bool) -> None:
        self.notifier.enabled = on
        self.notifications_toggled.emit(on)

    def _activated(self, reason: QSystemTrayIcon.ActivationReason) -> None:
        if reason in (
            QSystemTrayIcon.ActivationReason.Trigger,
            QSystemTrayIcon.ActivationReason.DoubleClick,
        ):
            self.status_requested.emit()
