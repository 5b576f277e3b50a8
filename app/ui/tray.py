"""The system-tray icon: colour per aggregate state, tooltip, the menu and notifications."""

from __future__ import annotations

import math
import time
from collections.abc import Callable
from dataclasses import dataclass

from PySide6.QtCore import QObject, QTimer, Signal
from PySide6.QtGui import QAction
from PySide6.QtWidgets import QMenu, QSystemTrayIcon

from app.core.control import HostKind
from app.core.events import State, TunnelEvent
from app.core.notices import Message, standby_fact
from app.core.textsafe import DETAIL_LIMIT, safe_text
from app.errors import Action
from app.ui.foreign import why_off
from app.ui.hub import TunnelHub
from app.ui.icons import tray_icon
from app.ui.rows import Row
from app.ui.summary import (
    Glance,
    Light,
    Notifier,
    TunnelLine,
    aggregate,
    glance_of,
    light_of,
    summary_line,
    tooltip,
)

TOOLTIP_REFRESH_MS = 15_000
NOTICE_MS = 8_000


def tunnel_line(row: Row) -> TunnelLine:
    """The row as the tooltip and summary read it: times are the status's (when its state
    began), never when the tray heard of it; an unknown start shows no uptime."""
    status = row.snapshot
    return TunnelLine(
        row.profile.name,
        row.state,
        status.since,
        status.next_retry_at,
        status.warning,
        status.detail,
        status.standby,
    )


STATUS_CHARS = 64  # a menu entry, not a paragraph: the status window has the whole text


def status_line(row: Row) -> str:
    """The first, disabled entry of a tunnel's submenu (long details cut with an ellipsis);
    a target that refuses is said first, not left in the cut-off detail; a tunnel standing
    by says why, without the engine's "asking again" tail."""
    seen = glance_of(row.snapshot)
    if seen is Glance.TARGET_REFUSES:
        text = f"Up, but the target refuses: {safe_text(row.snapshot.warning or '')}"
    elif seen in (Glance.STANDBY, Glance.FENCED):
        text = f"Standing by: {safe_text(standby_fact(row.snapshot.detail), DETAIL_LIMIT)}"
    else:
        detail = safe_text(row.snapshot.detail, DETAIL_LIMIT)
        text = f"{row.state.value.capitalize()}: {detail}".strip()
    return text if len(text) <= STATUS_CHARS else text[: STATUS_CHARS - 1].rstrip() + "…"


def menu_title(row: Row) -> str:
    """A tunnel's submenu title: its name and state ("db — connected")."""
    if glance_of(row.snapshot) is Glance.TARGET_REFUSES:
        return f"{row.profile.name} — connected, but the target refuses"
    return f"{row.profile.name} — {row.state.value}"


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
    trust: QAction  # shown while the tunnel waits for the user to trust a host key
    own_only: dict[str, QAction]  # why_off's action -> the entry on the settings or key


class Tray(QObject):
    """Owns the QSystemTrayIcon; asks the app (through signals) for anything with a window."""

    add_requested = Signal()
    edit_requested = Signal(str)
    trust_requested = Signal(str)  # the wizard's Host key page alone
    test_requested = Signal(str)
    remove_requested = Signal(str)
    copy_key_requested = Signal(str)
    status_requested = Signal()
    logs_requested = Signal()
    about_requested = Signal()
    quit_requested = Signal()
    keep_running_requested = Signal()
    alerts_requested = Signal()
    metrics_requested = Signal()
    autostart_toggled = Signal(bool)
    notifications_toggled = Signal(bool)
    noticed = Signal(str, str)  # title, text: every notice, shown or not

    def __init__(
        self,
        hub: TunnelHub,
        notifier: Notifier,
        available: Callable[[], bool] = QSystemTrayIcon.isSystemTrayAvailable,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        super().__init__()
        self.hub = hub
        self.notifier = notifier
        self._available = available
        self._clock = clock  # the notifier's steady clock (its rate limit and delays)
        self.icon = QSystemTrayIcon()
        self.menu = QMenu()
        self.menu.setAccessibleName("Tunnelkeeper")
        self.menu.setToolTipsVisible(True)
        self.icon.setContextMenu(self.menu)
        self.icon.activated.connect(self._activated)
        self.icon.messageClicked.connect(self.status_requested)
        self.light = Light.GREY
        self._tunnels: dict[str, _TunnelMenu] = {}
        # the first entry: every tunnel at a glance (informational, so disabled)
        self.summary_action = QAction("")
        self.summary_action.setEnabled(False)
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
        # held-back notices: one single-shot timer, armed for the earliest one due
        self.notice_timer = QTimer(self)
        self.notice_timer.setSingleShot(True)
        self.notice_timer.timeout.connect(self._notices_due)
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
        if rows:
            self.menu.addAction(self.summary_action)
            self.menu.addSeparator()
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
        self.menu.addAction("Alerts…").triggered.connect(self.alerts_requested)
        self.menu.addAction("Metrics…").triggered.connect(self.metrics_requested)
        self.menu.addAction(self.notify_action)
        self.menu.addAction("About Tunnelkeeper").triggered.connect(self.about_requested)
        self.menu.addSeparator()
        self.menu.addAction("Quit").triggered.connect(self.quit_requested)
        self.refresh()

    def _tunnel_menu(self, name: str) -> _TunnelMenu:
        sub = self.menu.addMenu(name)
        sub.setToolTipsVisible(True)  # why an entry is off; the whole status line
        status = sub.addAction("")
        status.setEnabled(False)
        where = sub.addAction("")
        where.setEnabled(False)
        sub.addSeparator()
        trust = sub.addAction("Trust the new key…")
        trust.setToolTip("Check the jumphost's key with the vendor, then trust it")
        trust.triggered.connect(lambda: self.trust_requested.emit(name))
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
        return _TunnelMenu(sub, status, where, connect, disconnect, reconnect, trust, own_only)

    def refresh(self) -> None:
        """Icon, tooltip, summary and each submenu's status line from the statuses the hub
        keeps (the last each tunnel reported: nothing here asks an engine)."""
        rows = self.hub.rows()
        now = time.time()
        for row in rows:
            entry = self._tunnels.get(row.profile.name)
            if entry is None:
                continue
            running = row.running
            seen = glance_of(row.snapshot)
            entry.status.setText(status_line(row))
            entry.status.setToolTip(safe_text(row.snapshot.warning or row.snapshot.detail))
            entry.where.setText(where_line(row))
            entry.where.setVisible(bool(row.host or row.keeper))
            entry.trust.setVisible(row.own_profile and row.snapshot.action == Action.TRUST)
            entry.connect.setEnabled(not running)
            entry.disconnect.setEnabled(running)
            entry.reconnect.setEnabled(row.state is not State.CONNECTING or running)
            for key, own_only in entry.own_only.items():
                own_only.setEnabled(row.own_profile)
                own_only.setToolTip("" if row.own_profile else why_off(row, key))
            entry.menu.setTitle(menu_title(row))
            entry.menu.setIcon(tray_icon(light_of(seen)))  # a coloured badge per tunnel
        lines = [tunnel_line(r) for r in rows]
        self.summary_action.setText(summary_line(lines, now))
        self.light = aggregate({row.profile.name: glance_of(row.snapshot) for row in rows})
        self.icon.setIcon(tray_icon(self.light))
        self.icon.setToolTip(tooltip(lines, now))  # also the icon's accessible text

    # --- events and notifications ---------------------------------------------------------

    def _on_event(self, event: TunnelEvent) -> None:
        self.refresh()
        message = self.notifier.consider(event, self._clock())
        if message is not None:
            self._tell([message])
        self._arm()

    def _notices_due(self) -> None:
        self._tell(self.notifier.due(self._clock()))
        self._arm()

    def _arm(self) -> None:
        """Wake when the earliest held-back notice may be shown."""
        due = self.notifier.next_due()
        if due is None:
            self.notice_timer.stop()
            return
        self.notice_timer.start(max(0, math.ceil((due - self._clock()) * 1000)))

    def _tell(self, messages: list[Message]) -> None:
        """Show notices: several at once go into one balloon (a second would hide the first)."""
        if not messages:
            return
        for message in messages:
            self.noticed.emit(message.title, message.text)
        if not (self.icon.isVisible() and QSystemTrayIcon.supportsMessages()):
            return
        if len(messages) == 1:
            title, text = messages[0].title, messages[0].text
        else:
            title, text = "Tunnels changed", "\n".join(m.text for m in messages)
        level = (
            QSystemTrayIcon.MessageIcon.Warning
            if any(m.warning for m in messages)
            else QSystemTrayIcon.MessageIcon.Information
        )
        self.icon.showMessage(title, text, level, NOTICE_MS)

    def _notifications(self, on: bool) -> None:
        self.notifier.enabled = on
        self._notices_due()  # turned off: what was held back is dropped, and the timer stops
        self.notifications_toggled.emit(on)

    def _activated(self, reason: QSystemTrayIcon.ActivationReason) -> None:
        if reason in (
            QSystemTrayIcon.ActivationReason.Trigger,
            QSystemTrayIcon.ActivationReason.DoubleClick,
        ):
            self.status_requested.emit()
