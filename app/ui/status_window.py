"""The status window: a live table of tunnels, their actions, a log pane and diagnostics."""

from __future__ import annotations

import platform
import sys
from collections import deque
from collections.abc import Callable
from datetime import datetime
from typing import Any

import PySide6
from PySide6.QtCore import Qt, QTimer, Signal
from PySide6.QtGui import QBrush, QCloseEvent, QColor, QGuiApplication, QShowEvent
from PySide6.QtWidgets import (
    QAbstractItemView,
    QHBoxLayout,
    QHeaderView,
    QLabel,
    QLineEdit,
    QPlainTextEdit,
    QPushButton,
    QSplitter,
    QTableWidget,
    QTableWidgetItem,
    QVBoxLayout,
    QWidget,
)

from app import __version__
from app.core.events import State
from app.core.textsafe import DETAIL_LIMIT, safe_text
from app.core.units import byte_size
from app.errors import Action
from app.ssh.about import library_version
from app.ui import diagnostics
from app.ui.foreign import why_off
from app.ui.hub import TunnelHub
from app.ui.icons import app_icon
from app.ui.rows import Row

LOG_LINES = 1000
REFRESH_MS = 1000
COLUMNS = (
    "Tunnel",
    "State",
    "Runs in",
    "Detail",
    "Since",
    "To target",
    "To vendor",
    "Connections",
    "Vendor last connected",
    "Reconnects",
    "Next retry",
)
STATE, RUNS_IN, DETAIL = (COLUMNS.index(c) for c in ("State", "Runs in", "Detail"))
# The buttons that act on a tunnel's settings or key: off for one the user has no profile of.
OWN_ONLY = {"Test…": "test", "Edit…": "edit", "Remove…": "remove"}
_COLOURS = {
    State.CONNECTED: "#1e8e3e",
    State.CONNECTING: "#b06000",
    State.RETRYING: "#b06000",
    State.ERROR: "#c5221f",
    State.STOPPED: "#5f6368",
}


def local_time(wall: float | None, empty: str = "—") -> str:
    """A wall-clock time in the local zone, to the second."""
    if not wall:
        return empty
    try:
        return datetime.fromtimestamp(int(wall)).strftime("%Y-%m-%d %H:%M:%S")
    except (OverflowError, OSError, ValueError):
        return empty


def cells(row: Row) -> list[str]:
    """The table's text for one tunnel, column by column."""
    s = row.snapshot
    return [
        row.profile.name,
        row.state.value,
        row.runs_in,
        safe_text(s.warning or s.detail or "", DETAIL_LIMIT),
        local_time(s.since),
        byte_size(s.bytes_to_target),
        byte_size(s.bytes_to_vendor),
        f"{s.active_connections} / {s.total_connections}",
        local_time(s.vendor_last_connected, "never"),
        str(s.reconnects),
        local_time(s.next_retry_at),
    ]


def status_view(row: Row) -> dict[str, Any]:
    """A row's status as `tunnelkeeper status --json` shows it: with where it runs, if it does."""
    where = {"host": row.host, "pid": row.pid} if row.host else {}
    return {**row.status, **where}


def versions() -> dict[str, str]:
    library, _, version = library_version().partition(" ")  # "paramiko 3.4.0"
    return {
        "tunnelkeeper": __version__,
        "python": sys.version.split()[0],
        library: version,
        "qt": PySide6.__version__,
        "os": platform.platform(),
    }


class StatusWindow(QWidget):
    """Closing it only hides it: the app lives on in the tray."""

    add_requested = Signal()
    edit_requested = Signal(str)
    test_requested = Signal(str)
    remove_requested = Signal(str)

    def __init__(self, hub: TunnelHub, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.hub = hub
        self.setWindowTitle("Tunnelkeeper — status")
        self.setWindowIcon(app_icon())
        self.resize(1240, 560)  # wide enough for "Runs in" and a retry time without a scroll
        self._lines: deque[str] = deque(maxlen=LOG_LINES)
        self.buttons: dict[str, QPushButton] = {}
        self._actions: dict[str, str | None] = {}  # tunnel -> the remedy its state offers
        self._running: dict[str, bool] = {}  # tunnel -> it runs, here or elsewhere
        self._foreign: dict[str, Row] = {}  # tunnels whose settings another host keeps
        self.banner = QLabel()
        self.banner.setWordWrap(True)
        self.banner.setTextFormat(Qt.TextFormat.PlainText)  # it quotes files and errors
        self.banner.setStyleSheet(
            "QLabel { background: #fef7e0; color: #3c4043; padding: 6px; border-radius: 4px; }"
        )
        self.banner.hide()
        self.table = self._make_table()
        self.filter = QLineEdit()
        self.log = QPlainTextEdit()
        splitter = QSplitter(Qt.Orientation.Vertical)
        splitter.addWidget(self.table)
        splitter.addWidget(self._make_log_pane())
        splitter.setSizes([220, 300])
        layout = QVBoxLayout(self)
        layout.addWidget(self.banner)
        layout.addLayout(self._make_actions())
        layout.addWidget(splitter, 1)

        hub.tunnel_event.connect(lambda _event: self._refresh_if_shown())
        hub.profiles_changed.connect(self.refresh)
        hub.foreign_changed.connect(self.refresh)  # the service's tunnels came or went
        hub.remote_event.connect(lambda _event: self._refresh_if_shown())
        self._timer = QTimer(self)
        self._timer.timeout.connect(self._refresh_if_shown)
        self._timer.start(REFRESH_MS)
        self.refresh()

    def _make_table(self) -> QTableWidget:
        table = QTableWidget(0, len(COLUMNS))
        table.setHorizontalHeaderLabels(list(COLUMNS))
        table.setSelectionBehavior(QAbstractItemView.SelectionBehavior.SelectRows)
        table.setSelectionMode(QAbstractItemView.SelectionMode.SingleSelection)
        table.setEditTriggers(QAbstractItemView.EditTrigger.NoEditTriggers)
        table.verticalHeader().hide()
        table.setWordWrap(False)
        table.setTextElideMode(Qt.TextElideMode.ElideRight)
        header = table.horizontalHeader()
        header.setSectionResizeMode(QHeaderView.ResizeMode.ResizeToContents)
        header.setSectionResizeMode(DETAIL, QHeaderView.ResizeMode.Stretch)
        table.itemSelectionChanged.connect(self._update_buttons)
        return table

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
        self.trust.clicked.connect(self._on_selected(self.edit_requested.emit))
        self.trust.hide()
        actions.addWidget(self.trust)
        actions.addStretch(1)
        add = QPushButton("&Add tunnel…")
        add.clicked.connect(self.add_requested)
        actions.addWidget(add)
        return actions

    def _make_log_pane(self) -> QWidget:
        self.filter.setPlaceholderText("Filter the log…")
        self.filter.setClearButtonEnabled(True)
        self.filter.textChanged.connect(self._render_log)
        self.log.setReadOnly(True)
        self.log.setMaximumBlockCount(LOG_LINES)
        self.log.setLineWrapMode(QPlainTextEdit.LineWrapMode.NoWrap)
        copy = QPushButton("Copy &diagnostics")
        copy.setToolTip("Profiles (without secrets), recent events and versions, for support")
        copy.clicked.connect(self.copy_diagnostics)
        log_bar = QHBoxLayout()
        log_bar.addWidget(self.filter, 1)
        log_bar.addWidget(copy)

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
        self._actions = {row.profile.name: row.snapshot.action for row in rows}
        self._running = {row.profile.name: row.running for row in rows}
        self._foreign = {row.profile.name: row for row in rows if not row.own_profile}
        self.table.setRowCount(len(rows))
        for r, row in enumerate(rows):
            for c, text in enumerate(cells(row)):
                item = self.table.item(r, c)
                if item is None:
                    item = QTableWidgetItem()
                    self.table.setItem(r, c, item)
                if item.text() != text:
                    item.setText(text)
                    item.setToolTip(text if c in (RUNS_IN, DETAIL) else "")
                if c == STATE:
                    item.setForeground(QBrush(QColor(_COLOURS[row.state])))
            if row.profile.name == selected:
                self.table.selectRow(r)
        if selected is None and rows:
            self.table.selectRow(0)
        self._update_buttons()

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
        first = self.table.item(items[0].row(), 0)
        return first.text() if first is not None else None

    def select(self, name: str) -> None:
        for r in range(self.table.rowCount()):
            item = self.table.item(r, 0)
            if item is not None and item.text() == name:
                self.table.selectRow(r)

    def _on_selected(self, slot: Callable[[str], object]) -> Callable[[], None]:
        def run() -> None:
            name = self.selected()
            if name is not None:
                slot(name)
                self.refresh()  # "disconnecting…" at once, not at the next tick

        return run

    def _update_buttons(self) -> None:
        name = self.selected()
        running = name is not None and self._running.get(name, False)
        foreign = self._foreign.get(name) if name is not None else None
        for label, button in self.buttons.items():
            off = OWN_ONLY.get(label) if foreign is not None else None
            if name is None:
                button.setEnabled(False)
            elif label == "Connect":
                button.setEnabled(not running)
            elif label == "Disconnect":
                button.setEnabled(running)
            else:
                button.setEnabled(off is None)
            button.setToolTip(why_off(foreign, off) if foreign is not None and off else "")
        offers_trust = foreign is None and self._actions.get(name or "") == Action.TRUST
        self.trust.setVisible(offers_trust)

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

    def bring_forward(self) -> None:
        self.show()
        self.setWindowState(self.windowState() & ~Qt.WindowState.WindowMinimized)
        self.raise_()
        self.activateWindow()

    def closeEvent(self, event: QCloseEvent) -> None:
        event.ignore()
        self.hide()
