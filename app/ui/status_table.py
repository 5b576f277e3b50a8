"""The status window's table: a row per tunnel, coloured from the palette, with a context menu."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from PySide6.QtCore import QPoint, Qt, Signal
from PySide6.QtGui import QBrush
from PySide6.QtWidgets import QAbstractItemView, QHeaderView, QTableWidget, QTableWidgetItem

from app.core.events import State
from app.core.textsafe import DETAIL_LIMIT, safe_text
from app.core.units import byte_size, duration
from app.ui.palette import Tone, status_colour, tone_colour
from app.ui.rows import Row
from app.ui.summary import ACTIVE_ELSEWHERE

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
HEADER_TIPS = {
    "Tunnel": "The tunnel's name",
    "State": (
        "connected, connecting, retrying, error (needs you), stopped, or standby (another "
        "machine runs this tunnel too and holds the vendor's port; this one takes over)"
    ),
    "Runs in": "The process that keeps this tunnel: this app, `tunnelkeeper run` or the service",
    "Detail": "What happened last; a warning about the target shows here, in colour",
    "Since": "When the tunnel came up, or went down (the retries of one outage count as one)",
    "To target": "Bytes the vendor sent to your database since Connect (kept across reconnects)",
    "To vendor": "Bytes your database sent to the vendor since Connect (kept across reconnects)",
    "Connections": "Vendor connections open now / in total since Connect",
    "Vendor last connected": "When the vendor last opened a connection through the tunnel",
    "Reconnects": "How often the tunnel reconnected since Connect",
    "Next retry": "How long until the next try to reach the jumphost",
}
STATE, RUNS_IN, DETAIL, SINCE, LAST = (
    COLUMNS.index(c) for c in ("State", "Runs in", "Detail", "Since", "Vendor last connected")
)


def local_time(wall: float | None, empty: str = "—") -> str:
    """A wall-clock time in the local zone, to the second."""
    if not wall:
        return empty
    try:
        return datetime.fromtimestamp(int(wall)).strftime("%Y-%m-%d %H:%M:%S")
    except (OverflowError, OSError, ValueError):
        return empty


def short_time(wall: float | None, now: float, empty: str = "—") -> str:
    """``wall`` as the time of day when it is today, else with its date (local zone)."""
    if not wall:
        return empty
    try:
        stamp, today = datetime.fromtimestamp(int(wall)), datetime.fromtimestamp(int(now))
    except (OverflowError, OSError, ValueError):
        return empty
    return stamp.strftime("%H:%M:%S" if stamp.date() == today.date() else "%Y-%m-%d %H:%M")


def countdown(at: float | None, now: float) -> str:
    """``at`` as time left: "in 12 s", "in 4 min", "now"; "—" for none."""
    if not at:
        return "—"
    left = at - now
    return "now" if left < 1 else f"in {duration(left)}"


def since_text(wall: float | None, now: float) -> str:
    """When a phase began, with how long ago: "14:02:11 (4 min)" (with the date when it
    was not today)."""
    if not wall:
        return "—"
    return f"{short_time(wall, now)} ({duration(max(0.0, now - wall))})"


def cells(row: Row, now: float | None = None) -> list[str]:
    """The table's text for one tunnel, column by column (``now``: wall-clock seconds)."""
    s = row.snapshot
    at = now if now is not None else datetime.now().timestamp()
    return [
        row.profile.name,
        row.state.value,
        row.runs_in,
        safe_text(s.warning or s.detail or "", DETAIL_LIMIT),
        since_text(s.since, at),
        byte_size(s.bytes_to_target),
        byte_size(s.bytes_to_vendor),
        f"{s.active_connections} / {s.total_connections}",
        short_time(s.vendor_last_connected, at, "never"),
        str(s.reconnects),
        countdown(s.next_retry_at, at),
    ]


def status_view(row: Row) -> dict[str, Any]:
    """A row's status as `tunnelkeeper status --json` shows it: with where it runs, if it does."""
    where = {"host": row.host, "pid": row.pid} if row.host else {}
    return {**row.status, **where}


class TunnelTable(QTableWidget):
    """One row per tunnel; right-click asks for a menu, double-click for the main action."""

    menu_requested = Signal(str, QPoint)  # tunnel, global position
    activated = Signal(str)  # tunnel double-clicked (or Enter pressed on it)

    def __init__(self) -> None:
        super().__init__(0, len(COLUMNS))
        self.setHorizontalHeaderLabels(list(COLUMNS))
        for c, name in enumerate(COLUMNS):
            header_item = self.horizontalHeaderItem(c)
            if header_item is not None:
                header_item.setToolTip(HEADER_TIPS[name])
        self.setSelectionBehavior(QAbstractItemView.SelectionBehavior.SelectRows)
        self.setSelectionMode(QAbstractItemView.SelectionMode.SingleSelection)
        self.setEditTriggers(QAbstractItemView.EditTrigger.NoEditTriggers)
        self.verticalHeader().hide()
        self.setWordWrap(False)
        self.setTextElideMode(Qt.TextElideMode.ElideRight)
        self.setAccessibleName("Tunnels")
        header = self.horizontalHeader()
        header.setSectionResizeMode(QHeaderView.ResizeMode.ResizeToContents)
        header.setSectionResizeMode(DETAIL, QHeaderView.ResizeMode.Stretch)
        self.setContextMenuPolicy(Qt.ContextMenuPolicy.CustomContextMenu)
        self.customContextMenuRequested.connect(self._menu_at)
        self.cellDoubleClicked.connect(lambda r, _c: self._activate(r))
        self.setToolTip("Double-click a tunnel to edit it; right-click for every action")

    def fill(self, rows: list[Row], now: float) -> None:
        """Show ``rows``, changing only the cells whose text or colour changed."""
        palette = self.palette()
        self.setRowCount(len(rows))
        for r, row in enumerate(rows):
            colour = QBrush(status_colour(row.snapshot, palette))
            warned = bool(row.snapshot.warning)
            for c, text in enumerate(cells(row, now)):
                item = self.item(r, c)
                if item is None:
                    item = QTableWidgetItem()
                    self.setItem(r, c, item)
                if item.text() != text:
                    item.setText(text)
                    item.setToolTip(_tip(c, text, row))
                if c == STATE:
                    item.setForeground(colour)
                    item.setData(Qt.ItemDataRole.AccessibleTextRole, _spoken_state(row))
                elif c == DETAIL:
                    tone = Tone.REFUSING if warned else None
                    fg = tone_colour(tone, palette) if tone else palette.text().color()
                    item.setForeground(QBrush(fg))

    def name_at(self, r: int) -> str | None:
        item = self.item(r, 0)
        return item.text() if item is not None else None

    def keyPressEvent(self, event: Any) -> None:
        if event.key() in (Qt.Key.Key_Return, Qt.Key.Key_Enter) and self.currentRow() >= 0:
            self._activate(self.currentRow())
            return
        first = self.item(self.currentRow(), 0) if self.currentRow() >= 0 else None
        if event.key() == Qt.Key.Key_Menu and first is not None:
            self._menu_at(self.visualItemRect(first).center())
            return
        super().keyPressEvent(event)

    def _activate(self, r: int) -> None:
        name = self.name_at(r)
        if name is not None:
            self.activated.emit(name)

    def _menu_at(self, pos: QPoint) -> None:
        r = self.rowAt(pos.y())
        name = self.name_at(r) if r >= 0 else None
        if name is not None:
            self.selectRow(r)
            self.menu_requested.emit(name, self.viewport().mapToGlobal(pos))


def _tip(column: int, text: str, row: Row) -> str:
    """A cell's tooltip: the whole text where it may be cut short, full dates for times."""
    s = row.snapshot
    if column in (RUNS_IN, DETAIL):
        return text
    if column == SINCE and s.since:
        return local_time(s.since)
    if column == LAST and s.vendor_last_connected:
        return local_time(s.vendor_last_connected)
    return ""


def _spoken_state(row: Row) -> str:
    """The state as a screen reader says it (the colour alone says nothing to it)."""
    if row.snapshot.warning:
        return f"{row.state.value}, but the target refuses connections"
    if row.state is State.STANDBY:
        return f"{row.state.value}, {ACTIVE_ELSEWHERE}"
    return row.state.value
