"""A tunnel's history drawn: availability strip, throughput sparkline and outage list."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from PySide6.QtCore import QEvent, QPointF, QRectF, QSize, Qt
from PySide6.QtGui import QBrush, QColor, QHelpEvent, QPainter, QPaintEvent, QPalette, QPen
from PySide6.QtWidgets import QSizePolicy, QToolTip, QTreeWidget, QTreeWidgetItem, QWidget

from app.core.history import TROUBLE, Kind, Segment, duration_text, rate_text
from app.ui.palette import Tone, tone_colour

WINDOW_WORDS = {"24h": "the last 24 hours", "7d": "the last 7 days"}
KIND_WORDS = {
    Kind.UP: "up",
    Kind.TARGET_REFUSING: "up, but the target refused connections",
    Kind.RETRYING: "connecting or retrying",
    Kind.DOWN: "down, waiting for you",
    Kind.STOPPED: "not running",
    Kind.STANDBY: "standing by (another machine held the port)",
}
_TONES = {
    Kind.UP: Tone.UP,
    Kind.TARGET_REFUSING: Tone.REFUSING,
    Kind.RETRYING: Tone.TRYING,
    Kind.DOWN: Tone.NEEDS_YOU,
    Kind.STOPPED: Tone.OFF,
    Kind.STANDBY: Tone.STANDBY,  # ready, not down: calm
}
STOPPED_LINE = 2  # px: not running is a thin line across the middle, not a block


def kind_colour(kind: Kind, palette: QPalette) -> QColor:
    """The colour a kind of time is painted in, from ``palette`` (light or dark)."""
    return tone_colour(_TONES[kind], palette)


def _epoch(stamp: str | None) -> float:
    return datetime.fromisoformat(stamp).timestamp() if stamp else 0.0


def _local(wall: float) -> str:
    return datetime.fromtimestamp(wall).astimezone().strftime("%Y-%m-%d %H:%M")


def _window(data: dict[str, Any] | None, window: str) -> dict[str, Any] | None:
    if not data:
        return None
    found = data.get("windows", {}).get(window)
    return found if isinstance(found, dict) else None


class AvailabilityStrip(QWidget):
    """One window of a tunnel's history ("24h" or "7d") as a horizontal bar, oldest at the
    left: up, standing by, target refusing, retrying (striped), down; not running as a thin
    line. The tooltip names the segment under the pointer."""

    def __init__(self, parent: QWidget | None = None, window: str = "24h") -> None:
        super().__init__(parent)
        self.window_key = window
        self._parts: list[Segment] = []
        self._start = 0.0
        self._end = 0.0
        self.setMouseTracking(True)
        self.setMinimumSize(120, 14)
        self.setSizePolicy(QSizePolicy.Policy.Expanding, QSizePolicy.Policy.Fixed)
        self.setAccessibleName(f"Availability over {WINDOW_WORDS.get(window, window)}")
        self.set_history(None)

    def sizeHint(self) -> QSize:
        return QSize(480, 20)

    def segments(self) -> list[Segment]:
        return list(self._parts)

    def set_history(self, data: dict[str, Any] | None) -> None:
        """Show ``data`` (``HistoryService.history``'s plain data; None: nothing yet)."""
        found = _window(data, self.window_key)
        self._parts = []
        if found is not None:
            self._start, self._end = _epoch(found.get("start")), _epoch(found.get("end"))
            for part in found.get("segments", []):
                kind = Kind(part["kind"])
                start, end = _epoch(part["start"]), _epoch(part["end"])
                self._parts.append(Segment(kind, start, end, str(part.get("cause", ""))))
        words = WINDOW_WORDS.get(self.window_key, self.window_key)
        if found is None:
            summary = f"No history for {words}."
        elif found.get("availability") is None:
            summary = f"Not running at any time in {words}."
        else:
            count = len(found.get("outages", []))
            plural = "outage" if count == 1 else "outages"
            up = "Up or standing by" if any(p.kind is Kind.STANDBY for p in self._parts) else "Up"
            summary = (
                f"{up} {found['availability']:.1f} % of the time it ran in {words}; "
                f"{count} {plural}."
            )
        self.setAccessibleDescription(summary)
        self.setToolTip("" if self._parts else summary)
        self.update()

    def segment_at(self, x: float) -> Segment | None:
        """The segment drawn at ``x`` (widget pixels), or None."""
        span = self._end - self._start
        if not self._parts or span <= 0 or self.width() <= 0:
            return None
        wall = self._start + span * min(max(x, 0.0), self.width() - 1e-9) / self.width()
        return next((p for p in self._parts if p.start <= wall < p.end), self._parts[-1])

    def tooltip_at(self, x: float) -> str:
        part = self.segment_at(x)
        if part is None:
            return self.accessibleDescription()
        length = duration_text(part.seconds)
        text = f"{KIND_WORDS[part.kind]}: from {_local(part.start)} for {length}"
        return f"{text}\n{part.cause}" if part.cause and part.kind is not Kind.STOPPED else text

    def event(self, event: QEvent) -> bool:
        if event.type() == QEvent.Type.ToolTip and isinstance(event, QHelpEvent):
            QToolTip.showText(event.globalPos(), self.tooltip_at(event.pos().x()), self)
            return True
        return super().event(event)

    def paintEvent(self, event: QPaintEvent) -> None:
        painter = QPainter(self)
        try:
            self._paint(painter)
        finally:
            painter.end()

    def _paint(self, painter: QPainter) -> None:
        palette = self.palette()
        width, height = float(self.width()), float(self.height())
        painter.fillRect(self.rect(), palette.color(QPalette.ColorRole.Base))
        span = self._end - self._start
        if span <= 0:
            return
        trouble_last = sorted(self._parts, key=lambda p: p.kind in TROUBLE)  # drawn on top
        for part in trouble_last:
            left = (part.start - self._start) / span * width
            right = (part.end - self._start) / span * width
            if part.kind is not Kind.STOPPED and right - left < 1:
                right = left + 1  # a short outage stays visible
            colour = kind_colour(part.kind, palette)
            if part.kind is Kind.STOPPED:
                middle = (height - STOPPED_LINE) / 2
                painter.fillRect(QRectF(left, middle, right - left, STOPPED_LINE), colour)
                continue
            painter.fillRect(QRectF(left, 0, right - left, height), colour)
            if part.kind is Kind.RETRYING:  # same hue as refusing: striped to tell apart
                stripes = QBrush(palette.color(QPalette.ColorRole.Base), Qt.BrushStyle.BDiagPattern)
                painter.fillRect(QRectF(left, 0, right - left, height), stripes)


class Sparkline(QWidget):
    """Bytes per second each way over the last hour: to the target a solid line, to the
    vendor a dashed one, both on one scale (the higher peak at the top)."""

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self._to_target: list[float] = []
        self._to_vendor: list[float] = []
        self.setMinimumSize(60, 24)
        self.setSizePolicy(QSizePolicy.Policy.Expanding, QSizePolicy.Policy.Fixed)
        self.setAccessibleName("Throughput over the last hour")
        self.set_history(None)

    def sizeHint(self) -> QSize:
        return QSize(240, 36)

    def set_history(self, data: dict[str, Any] | None) -> None:
        rates = (data or {}).get("throughput", [])
        self._to_target = [max(0.0, float(r["to_target_bps"])) for r in rates]
        self._to_vendor = [max(0.0, float(r["to_vendor_bps"])) for r in rates]
        if not rates:
            summary = "No throughput recorded in the last hour."
        else:
            summary = (
                f"Last hour: to the target peak {rate_text(max(self._to_target))}, "
                f"to the vendor peak {rate_text(max(self._to_vendor))}."
            )
        self.setAccessibleDescription(summary)
        self.setToolTip(summary)
        self.update()

    def points(self, values: list[float]) -> list[QPointF]:
        """Where each value is drawn: left to right, 0 at the bottom, the peak at the top."""
        if not values:
            return []
        peak = max(1.0, *self._to_target, *self._to_vendor)
        width, height = float(self.width() - 1), float(self.height() - 1)
        step = width / max(1, len(values) - 1)
        return [QPointF(i * step, height - v / peak * height) for i, v in enumerate(values)]

    def paintEvent(self, event: QPaintEvent) -> None:
        painter = QPainter(self)
        try:
            palette = self.palette()
            painter.fillRect(self.rect(), palette.color(QPalette.ColorRole.Base))
            painter.setRenderHint(QPainter.RenderHint.Antialiasing, False)
            lines = (
                (self._to_target, palette.color(QPalette.ColorRole.Link), Qt.PenStyle.SolidLine),
                (self._to_vendor, palette.color(QPalette.ColorRole.Text), Qt.PenStyle.DashLine),
            )
            for values, colour, style in lines:
                pen = QPen(colour, 1.5, style)
                painter.setPen(pen)
                points = self.points(values)
                if len(points) > 1:
                    painter.drawPolyline(points)
        finally:
            painter.end()


class OutageList(QTreeWidget):
    """Outages of one window, newest first: start (local time), length, cause."""

    def __init__(self, parent: QWidget | None = None, window: str = "7d") -> None:
        super().__init__(parent)
        self.window_key = window
        self.setColumnCount(3)
        self.setHeaderLabels(["Began", "Lasted", "Cause"])
        self.setRootIsDecorated(False)
        self.setUniformRowHeights(True)
        self.setAccessibleName(f"Outages in {WINDOW_WORDS.get(window, window)}")
        self.set_history(None)

    def set_history(self, data: dict[str, Any] | None) -> None:
        self.clear()
        found = _window(data, self.window_key)
        rows = list(reversed(found.get("outages", []))) if found else []
        for outage in rows:
            length = duration_text(float(outage["seconds"]))
            if outage.get("ongoing"):
                length += " (ongoing)"
            cause = str(outage.get("cause") or "no reason recorded")
            item = QTreeWidgetItem([_local(_epoch(outage["start"])), length, cause])
            item.setToolTip(2, cause)
            self.addTopLevelItem(item)
        words = WINDOW_WORDS.get(self.window_key, self.window_key)
        if not rows:
            empty = QTreeWidgetItem(["", "", f"No outages in {words}."])
            empty.setFlags(Qt.ItemFlag.NoItemFlags)
            self.addTopLevelItem(empty)
        count = len(rows)
        self.setAccessibleDescription(
            f"{count} outage{'s' if count != 1 else ''} in {words}." if rows else "No outages."
        )
        for column in (0, 1):
            self.resizeColumnToContents(column)
