"""The selected tunnel's history: availability for 24 h and 7 days, outages, last hour's traffic."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from PySide6.QtCore import QTimer
from PySide6.QtWidgets import QGridLayout, QLabel, QVBoxLayout, QWidget

from app.core.history import rate_text
from app.core.textsafe import safe_text
from app.services.api import Services
from app.services.history import find_history
from app.ui import jobs
from app.ui.history_view import AvailabilityStrip, OutageList, Sparkline
from app.ui.rows import Row

REFRESH_MS = 30_000  # the history changes slowly; the strip's cells are half an hour wide


def share_words(data: dict[str, Any] | None, window: str) -> str:
    """ "99.2 % up" for one window of ``data`` ("up or standing by" when it stood by while
    another machine held the port: that counts as ready); "did not run" when it did not."""
    found = (data or {}).get("windows", {}).get(window) or {}
    share = found.get("availability")
    if share is None:
        return "did not run"
    stood_by = any(part.get("kind") == "standby" for part in found.get("segments") or [])
    up = f"{share:.1f} % up{' or standing by' if stood_by else ''}"
    outages = len(found.get("outages") or [])
    plural = "outage" if outages == 1 else "outages"
    return f"{up}, {outages} {plural}" if outages else up


def traffic_words(data: dict[str, Any] | None) -> str:
    """The sparkline's legend: "solid: to your database, peak 2.0 KiB/s · dashed: …"."""
    rates = (data or {}).get("throughput") or []
    if not rates:
        return "no traffic recorded"
    to_target = max(float(r.get("to_target_bps") or 0) for r in rates)
    to_vendor = max(float(r.get("to_vendor_bps") or 0) for r in rates)
    return (
        f"solid: to your database, peak {rate_text(to_target)}\n"
        f"dashed: to the vendor, peak {rate_text(to_vendor)}"
    )


def local_text(stamp: object) -> str:
    """An ISO UTC time ("2026-11-27T10:00:00Z") in the local zone, to the minute."""
    if not isinstance(stamp, str):
        return "—"
    try:
        return datetime.fromisoformat(stamp).astimezone().strftime("%Y-%m-%d %H:%M")
    except ValueError:
        return safe_text(stamp, 40)


class HistoryPane(QWidget):
    """Reads the history on a worker when a tunnel is selected, and every 30 s while shown."""

    def __init__(self, services: Services, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self._services = services
        self._row: Row | None = None
        self._generation = 0
        self.data: dict[str, Any] | None = None
        self.day = AvailabilityStrip(window="24h")
        self.week = AvailabilityStrip(window="7d")
        self.traffic = Sparkline()
        self.outages = OutageList(window="7d")
        self.day_words, self.week_words, self.note = QLabel(), QLabel(), QLabel()
        self.traffic_words = QLabel()
        self.note.setWordWrap(True)
        grid = QGridLayout()
        grid.addWidget(QLabel("Last 24 hours:"), 0, 0)
        grid.addWidget(self.day, 0, 1)
        grid.addWidget(self.day_words, 0, 2)
        grid.addWidget(QLabel("Last 7 days:"), 1, 0)
        grid.addWidget(self.week, 1, 1)
        grid.addWidget(self.week_words, 1, 2)
        grid.addWidget(QLabel("Traffic, last hour:"), 2, 0)
        grid.addWidget(self.traffic, 2, 1)
        grid.addWidget(self.traffic_words, 2, 2)
        grid.setColumnStretch(1, 1)
        layout = QVBoxLayout(self)
        layout.addLayout(grid)
        layout.addWidget(QLabel("Outages in the last 7 days:"))
        layout.addWidget(self.outages, 1)
        layout.addWidget(self.note)
        self._timer = QTimer(self)
        self._timer.timeout.connect(self.reload)
        self._timer.start(REFRESH_MS)

    def show_row(self, row: Row | None) -> None:
        """Show ``row``'s history (read again only when another tunnel is selected)."""
        before, self._row = self._row, row
        if row is None:
            self._show(None, "")
        elif before is None or before.profile.name != row.profile.name:
            self._show(None, "Reading the history…")
            self.reload()

    def reload(self) -> None:
        row = self._row
        if row is None or (not self.isVisible() and self.data is not None):
            return
        self._generation += 1
        generation = self._generation
        history, name = self._services.history, row.profile.name
        in_service = row.host == "service" or bool(row.keeper)
        jobs.start(
            f"history-{name}",
            lambda _: find_history(history, name, in_service),
            on_done=lambda found: self._read(generation, found),
            on_failed=lambda exc: self._failed(generation, exc),
        )

    def _read(self, generation: int, found: tuple[dict[str, Any], str]) -> None:
        if generation != self._generation:
            return
        data, whose = found
        if not data.get("recorded"):
            note = "No history yet: it is kept from the first time the tunnel runs."
        else:
            since = local_text(data.get("kept_since"))
            note = f"Kept for 7 days (since {since})" + (f", by {whose}." if whose else ".")
        self._show(data, note)

    def _failed(self, generation: int, exc: Exception) -> None:
        if generation == self._generation:
            self._show(None, f"The history could not be read: {safe_text(str(exc), 300)}")

    def _show(self, data: dict[str, Any] | None, note: str) -> None:
        self.data = data
        for widget in (self.day, self.week, self.traffic, self.outages):
            widget.set_history(data)
        self.day_words.setText(share_words(data, "24h") if data else "")
        self.week_words.setText(share_words(data, "7d") if data else "")
        self.traffic_words.setText(traffic_words(data))
        self.note.setText(note)
