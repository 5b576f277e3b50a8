"""The status window: the tunnels' table, their actions, details, history, log, diagnostics."""

from __future__ import annotations

import platform
import sys
import time
from collections import deque
from collections.abc import Callable

import PySide6
from PySide6.QtCore import QPoint, QSize, Qt, QTimer, Signal
from PySide6.QtGui import (
    QCloseEvent,
    QGuiApplication,
    QKeyEvent,
    QKeySequence,
    QPalette,
    QShowEvent,
)
from PySide6.QtWidgets import (
    QHBoxLayout,
    QLabel,
    QLineEdit,
    QMenu,
    QPlainTextEdit,
    QPushButton,
    QSplitter,
    QStackedWidget,
    QTabWidget,
    QVBoxLayout,
    QWidget,
)

from app import __version__
from app.errors import Action
from app.ssh.about import library_version
from app.ui import diagnostics
from app.ui.detail_pane import DetailPane
from app.ui.foreign import why_off
from app.ui.history_pane import HistoryPane
from app.ui.hub import TunnelHub
from app.ui.icons import app_icon
from app.ui.rows import Row
from app.ui.status_table import COLUMNS, DETAIL, TunnelTable, cells, status_view

__all__ = ["COLUMNS", "DETAIL", "LOG_LINES", "StatusWindow", "cells", "versions"]

LOG_LINES = 1000
REFRESH_MS = 1000
# The buttons that act on a tunnel's settings or key: off for one the user has no profile of.
OWN_ONLY = {"Test…": "test", "Edit…": "edit", "Remove…": "remove"}
WANTED = QSize(1180, 640)  # the first size, where the screen has room for it
HOST_KEY_PART = "hostkey"  # wizard.route.Part.HOST_KEY: the page where a key is trusted
FIT = 0.9  # at most this share of the screen's free area, so it never runs off


def versions() -> dict[str, str]:
    library, _, version = library_version().partition(" ")  # "paramiko 3.4.0"
    return {
        "tunnelkeeper": __version__,
        "python": sys.version.split()[0],
        library: version,
        "qt": PySide6.__version__,
        "os": platform.platform(),
    }


def _banner() -> QLabel:
    """A message across the window's top, in the palette's tooltip colours."""
    banner = QLabel()
    banner.setWordWrap(True)
    banner.setTextFormat(Qt.TextFormat.PlainText)  # it quotes files and errors
    banner.setForegroundRole(QPalette.ColorRole.ToolTipText)
    banner.setBackgroundRole(QPalette.ColorRole.ToolTipBase)
    banner.setAutoFillBackground(True)
    banner.setMargin(6)
    banner.hide()
    return banner


def first_size(available: QSize) -> QSize:
    """``WANTED``, shrunk to fit ``FIT`` of the screen's free area."""
    return QSize(
        min(WANTED.width(), int(available.width() * FIT)),
        min(WANTED.height(), int(available.height() * FIT)),
    )


class StatusWindow(QWidget):
    """Closing it (or Esc, Ctrl+W) only hides it: the app lives on in the tray."""

    add_requested = Signal()
    edit_requested = Signal(str)
    edit_part_requested = Signal(str, str)  # tunnel, the part to change (route.Part)
    test_requested = Signal(str)
    remove_requested = Signal(str)

    def __init__(self, hub: TunnelHub, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.hub = hub
        self.setWindowTitle("Tunnelkeeper — status")
        self.setWindowIcon(app_icon())
        self._lines: deque[str] = deque(maxlen=LOG_LINES)
        self.buttons: dict[str, QPushButton] = {}
        self._rows: dict[str, Row] = {}
        self.banner = _banner()
        self.table = TunnelTable()
        self.table.itemSelectionChanged.connect(self._selection_changed)
        self.table.menu_requested.connect(self._row_menu)
        self.table.activated.connect(self._activated)
        self.filter = QLineEdit()
        self.log = QPlainTextEdit()
        self.saver = diagnostics.DiagnosticsSaver(
            self,
            hub.services,
            self.show_banner,
            lambda busy: self.save_diagnostics_button.setEnabled(not busy),
        )
        self.detail = DetailPane(hub.services)
        self.detail.edit_requested.connect(self.edit_requested)
        self.detail.edit_part.connect(self.edit_part_requested)
        self.detail.trust_requested.connect(self._trust)
        self.tabs = QTabWidget()
        self.history = HistoryPane(hub.services)
        self.tabs.addTab(self.detail, "&Details")
        self.tabs.addTab(self.history, "&History")
        self.tabs.addTab(self._make_log_pane(), "&Log")
        self.top = QStackedWidget()
        self.top.addWidget(self.table)
        self.top.addWidget(self._make_empty())
        splitter = QSplitter(Qt.Orientation.Vertical)
        splitter.addWidget(self.top)
        splitter.addWidget(self.tabs)
        splitter.setSizes([240, 320])
        splitter.setChildrenCollapsible(False)
        layout = QVBoxLayout(self)
        layout.addWidget(self.banner)
        layout.addLayout(self._make_actions())
        layout.addWidget(splitter, 1)
        screen = self.screen() or QGuiApplication.primaryScreen()
        self.resize(first_size(screen.availableSize()) if screen is not None else WANTED)

        hub.tunnel_event.connect(lambda _event: self._refresh_if_shown())
        hub.profiles_changed.connect(self.refresh)
        hub.foreign_changed.connect(self.refresh)  # the service's tunnels came or went
        hub.remote_event.connect(lambda _event: self._refresh_if_shown())
        self._timer = QTimer(self)
        self._timer.timeout.connect(self._refresh_if_shown)
        self._timer.start(REFRESH_MS)
        self.refresh()

    def _make_actions(self) -> QHBoxLayout:
        hub = self.hub
        actions = QHBoxLayout()
        for label, slot in (
            ("&Connect", hub.connect_tunnel),
            ("&Disconnect", hub.disconnect_tunnel),
            ("&Reconnect now", hub.reconnect_now),
            ("&Test…", self.test_requested.emit),
            ("&Edit…", self.edit_requested.emit),
            ("Re&move…", self.remove_requested.emit),
        ):
            button = QPushButton(label)
            button.clicked.connect(self._on_selected(slot))
            actions.addWidget(button)
            self.buttons[label.replace("&", "")] = button
        # Shown while the selected tunnel waits for its jumphost's key to be trusted: the
        # wizard's Host key page is where a key is checked and trusted.
        self.trust = QPushButton("Trust the ne&w key…")
        self.trust.setToolTip("Check the jumphost's key with the vendor, then trust it")
        self.trust.clicked.connect(self._on_selected(self._trust))
        self.trust.hide()
        actions.addWidget(self.trust)
        actions.addStretch(1)
        add = QPushButton("&Add tunnel…")
        add.clicked.connect(self.add_requested)
        actions.addWidget(add)
        return actions

    def _make_empty(self) -> QWidget:
        """What the window shows before the first tunnel: one way forward."""
        self.first = QPushButton("Add your &first tunnel…")
        self.first.clicked.connect(self.add_requested)
        words = QLabel(
            "No tunnels yet. Paste the vendor's SSH instructions and Tunnelkeeper sets up "
            "the key, the jumphost and the port for you."
        )
        words.setWordWrap(True)
        words.setAlignment(Qt.AlignmentFlag.AlignCenter)
        empty = QWidget()
        layout = QVBoxLayout(empty)
        layout.addStretch(1)
        layout.addWidget(words)
        layout.addWidget(self.first, 0, Qt.AlignmentFlag.AlignHCenter)
        layout.addStretch(1)
        return empty

    def _make_log_pane(self) -> QWidget:
        self.filter.setPlaceholderText("Filter the log…")
        self.filter.setClearButtonEnabled(True)
        self.filter.textChanged.connect(self._render_log)
        self.log.setReadOnly(True)
        self.log.setMaximumBlockCount(LOG_LINES)
        # Wrapped: a horizontal scroll bar would cover the newest line.
        self.log.setLineWrapMode(QPlainTextEdit.LineWrapMode.WidgetWidth)
        self.log.setAccessibleName("Log")
        copy = QPushButton("Copy &diagnostics")
        copy.setToolTip("Profiles (without secrets), recent events and versions, for support")
        copy.clicked.connect(self.copy_diagnostics)
        self.save_diagnostics_button = QPushButton("&Save diagnostics…")
        self.save_diagnostics_button.setToolTip(
            "A zip file for support: the connection test, route, history, log and versions "
            "of the selected tunnel (of every tunnel when none is), secrets taken out"
        )
        self.save_diagnostics_button.clicked.connect(self.save_diagnostics)
        log_bar = QHBoxLayout()
        log_bar.addWidget(self.filter, 1)
        log_bar.addWidget(copy)
        log_bar.addWidget(self.save_diagnostics_button)

        lower = QWidget()
        lower_layout = QVBoxLayout(lower)
        lower_layout.setContentsMargins(0, 0, 0, 0)
        lower_layout.addLayout(log_bar)
        lower_layout.addWidget(self.log)
        return lower

    # --- table ----------------------------------------------------------------------------

    def refresh(self) -> None:
        rows = self.hub.rows()
        selected = self.selected()
        self._rows = {row.profile.name: row for row in rows}
        self.top.setCurrentIndex(0 if rows else 1)
        self.table.fill(rows, time.time())
        for r, row in enumerate(rows):
            if row.profile.name == selected:
                self.table.selectRow(r)
        if (selected is None or selected not in self._rows) and rows:
            self.table.selectRow(0)
        self._selection_changed()

    def _refresh_if_shown(self) -> None:
        """Live figures cost CPU every second; a hidden window catches up when shown."""
        if self.isVisible():
            self.refresh()

    def showEvent(self, event: QShowEvent) -> None:
        self.refresh()
        super().showEvent(event)

    def selected(self) -> str | None:
        items = self.table.selectedItems()
        if not items:
            return None
        return self.table.name_at(items[0].row())

    def select(self, name: str) -> None:
        for r in range(self.table.rowCount()):
            if self.table.name_at(r) == name:
                self.table.selectRow(r)

    def _on_selected(self, slot: Callable[[str], object]) -> Callable[[], None]:
        def run() -> None:
            name = self.selected()
            if name is not None:
                slot(name)
                self.refresh()  # "disconnecting…" at once, not at the next tick

        return run

    def _selection_changed(self) -> None:
        name = self.selected()
        self._update_buttons()
        row = self._rows.get(name) if name is not None else None
        self.detail.show_row(row)
        self.history.show_row(row)

    def _update_buttons(self) -> None:
        name = self.selected()
        row = self._rows.get(name) if name is not None else None
        running = row is not None and row.running
        foreign = row if row is not None and not row.own_profile else None
        for label, button in self.buttons.items():
            off = OWN_ONLY.get(label) if foreign is not None else None
            if row is None:
                button.setEnabled(False)
            elif label == "Connect":
                button.setEnabled(not running)
            elif label in ("Disconnect", "Reconnect now"):
                button.setEnabled(running)
            else:
                button.setEnabled(off is None)
            button.setToolTip(why_off(foreign, off) if foreign is not None and off else "")
        offers_trust = row is not None and foreign is None and row.snapshot.action == Action.TRUST
        self.trust.setVisible(offers_trust)

    def _trust(self, name: str) -> None:
        """Trust the new key: the wizard's Host key page alone (then the test and Finish)."""
        self.edit_part_requested.emit(name, HOST_KEY_PART)

    def _row_menu(self, name: str, at: QPoint) -> None:
        """Right-click: the window's actions for that tunnel, enabled as its buttons are."""
        self.select(name)
        menu = QMenu(self)
        for label, button in self.buttons.items():
            action = menu.addAction(label)
            action.setEnabled(button.isEnabled())
            action.setToolTip(button.toolTip())
            action.triggered.connect(button.click)
            if label == "Reconnect now":
                menu.addSeparator()
        if self.trust.isVisible():
            menu.addAction(self.trust.text().replace("&", "")).triggered.connect(self.trust.click)
        menu.addSeparator()
        menu.addAction("Copy public key").triggered.connect(self.detail.copy_key.click)
        self.menu = menu  # kept for tests and so that it is not collected while shown
        menu.popup(at)

    def _activated(self, name: str) -> None:
        """Double-click or Enter: edit a tunnel of the user's; connect one kept elsewhere."""
        self.select(name)
        if self.buttons["Edit…"].isEnabled():
            self.buttons["Edit…"].click()
        elif self.buttons["Connect"].isEnabled():
            self.buttons["Connect"].click()

    # --- banner, log, diagnostics ---------------------------------------------------------

    def show_banner(self, text: str) -> None:
        self.banner.setText(text)
        self.banner.setVisible(bool(text))

    def add_log_line(self, line: str) -> None:
        self._lines.append(line)
        wanted = self.filter.text().strip().lower()
        if not wanted or wanted in line.lower():
            self.log.appendPlainText(line)

    def _render_log(self) -> None:
        wanted = self.filter.text().strip().lower()
        shown = [line for line in self._lines if not wanted or wanted in line.lower()]
        self.log.setPlainText("\n".join(shown))
        self.log.verticalScrollBar().setValue(self.log.verticalScrollBar().maximum())

    def diagnostics_text(self) -> str:
        rows = [(row.profile, status_view(row)) for row in self.hub.rows()]
        return diagnostics.build(rows, self.hub.recent, versions())

    def copy_diagnostics(self) -> None:
        QGuiApplication.clipboard().setText(self.diagnostics_text())
        self.show_banner("Diagnostics copied: paste them into your message to the vendor.")

    def save_diagnostics(self) -> None:
        """Ask where, then save the selected tunnel's diagnostics zip (every tunnel's when
        none of the user's own is selected) off the GUI thread."""
        name = self.selected()
        row = self._rows.get(name) if name is not None else None
        live = {r.profile.name: status_view(r) for r in self.hub.rows()}
        own = name if row is not None and row.own_profile else None
        self.saver.start(own, live, list(self.hub.recent))

    def bring_forward(self) -> None:
        self.show()
        self.setWindowState(self.windowState() & ~Qt.WindowState.WindowMinimized)
        self.raise_()
        self.activateWindow()

    def keyPressEvent(self, event: QKeyEvent) -> None:
        """Esc and Ctrl+W (the platform's Close) hide the window, as closing it does."""
        if event.key() == Qt.Key.Key_Escape or event.matches(QKeySequence.StandardKey.Close):
            self.hide()
            return
        super().keyPressEvent(event)

    def closeEvent(self, event: QCloseEvent) -> None:
        event.ignore()
        self.hide()
