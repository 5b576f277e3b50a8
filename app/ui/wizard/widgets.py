"""Small widgets the wizard pages share: notes under fields, a key box, status icons."""

from __future__ import annotations

import html
from collections.abc import Callable
from enum import StrEnum

from PySide6.QtCore import QPointF, QRectF, Qt, QTimer
from PySide6.QtGui import (
    QColor,
    QFont,
    QFontDatabase,
    QGuiApplication,
    QPainter,
    QPaintEvent,
    QPalette,
    QPen,
)
from PySide6.QtWidgets import (
    QFileDialog,
    QHBoxLayout,
    QLabel,
    QPlainTextEdit,
    QPushButton,
    QVBoxLayout,
    QWidget,
)

from app.engine.checks import CheckResult, Outcome
from app.errors import InvalidField, TunnelkeeperError
from app.ui.palette import readable

RED = "#c62828"
AMBER = "#875b00"  # each at least 4.5:1 on a light window (#efefef); see Note.set_colour
GREEN = "#286d2c"
GREY = "#666666"


def sentence(text: str) -> str:
    """Our messages start in lower case (they follow "tunnelkeeper: "); a label starts a line."""
    text = text.strip()
    return text[:1].upper() + text[1:] if text else ""


def message_of(exc: Exception) -> str:
    """What to show for an exception: its sentence, never a traceback."""
    if isinstance(exc, InvalidField):
        return sentence(exc.message)
    if isinstance(exc, TunnelkeeperError):
        return sentence(str(exc))
    return sentence(f"unexpected {type(exc).__name__}: {exc}")


class Note(QLabel):
    """A sentence under a field or a section; hidden (taking no room) while empty."""

    def __init__(self, colour: str = RED, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setWordWrap(True)
        self.setTextFormat(Qt.TextFormat.PlainText)
        self.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
        self.set_colour(colour)
        font = QFont(self.font())
        font.setPointSizeF(max(7.0, font.pointSizeF() * 0.92))
        self.setFont(font)
        self.hide()

    def set_colour(self, colour: str) -> None:
        """Text in ``colour`` (one of the hues above), darkened or lightened as the
        palette in use needs for 4.5:1 contrast; "" for the palette's own text colour."""
        if not colour:
            self.setStyleSheet("")
            return
        background = self.palette().color(QPalette.ColorRole.Window)
        self.setStyleSheet(f"color: {readable(QColor(colour), background).name()};")

    def say(self, text: str, colour: str | None = None) -> None:
        if colour is not None:
            self.set_colour(colour)
        self.setText(sentence(text))
        self.setVisible(bool(text))


def keep_room(note: Note) -> Note:
    """Keep ``note``'s line while it is hidden, so that its coming and going (as a person
    types) never moves what is below it."""
    policy = note.sizePolicy()
    policy.setRetainSizeWhenHidden(True)
    note.setSizePolicy(policy)
    return note


def with_note(field: QWidget, note: Note) -> QWidget:
    """``field`` with its note right beneath it (one cell of a form); the note's line is
    kept while it is empty (``keep_room``)."""
    keep_room(note)
    box = QWidget()
    layout = QVBoxLayout(box)
    layout.setContentsMargins(0, 0, 0, 0)
    layout.setSpacing(2)
    layout.addWidget(field)
    layout.addWidget(note)
    # A form label's mnemonic focuses its buddy (this box) only if the box takes focus;
    # the proxy hands that focus to the field, and Tab skips proxied widgets.
    box.setFocusPolicy(field.focusPolicy())
    box.setFocusProxy(field)
    return box


def choose_file(
    parent: QWidget, title: str, start: str, on_chosen: Callable[[str], None]
) -> QFileDialog:
    """Open a file chooser without a nested event loop (no exec(): the app runs qasync);
    ``on_chosen`` gets the path the person picked."""
    dialog = QFileDialog(parent, title, start)
    dialog.setFileMode(QFileDialog.FileMode.ExistingFile)
    dialog.setAttribute(Qt.WidgetAttribute.WA_DeleteOnClose)
    dialog.fileSelected.connect(on_chosen)
    dialog.open()
    return dialog


def monospace() -> QFont:
    return QFontDatabase.systemFont(QFontDatabase.SystemFont.FixedFont)


def intro(text: str) -> QLabel:
    label = QLabel(text)
    label.setWordWrap(True)
    label.setTextFormat(Qt.TextFormat.RichText)
    return label


class KeyBox(QWidget):
    """A read-only monospace box for a public key line, with a Copy button beside it."""

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.text = QPlainTextEdit()
        self.text.setReadOnly(True)
        self.text.setFont(monospace())
        self.text.setLineWrapMode(QPlainTextEdit.LineWrapMode.WidgetWidth)
        self.text.setWordWrapMode(self.text.wordWrapMode().WrapAnywhere)
        self.text.setTabChangesFocus(True)
        self.text.setFixedHeight(self.text.fontMetrics().lineSpacing() * 3 + 14)
        self.text.setAccessibleName("Public key")
        self.copy = QPushButton("&Copy")
        self.copy.setEnabled(False)
        self.copy.clicked.connect(self._copy)
        layout = QHBoxLayout(self)
        layout.setContentsMargins(0, 0, 0, 0)
        layout.addWidget(self.text, 1)
        layout.addWidget(self.copy, 0, Qt.AlignmentFlag.AlignTop)

    def set_line(self, line: str) -> None:
        self.text.setPlainText(line)
        self.copy.setEnabled(bool(line))

    def line(self) -> str:
        return self.text.toPlainText()

    def _copy(self) -> None:
        QGuiApplication.clipboard().setText(self.line())
        self.copy.setText("Copied")
        QTimer.singleShot(1500, self._copied_done)

    def _copied_done(self) -> None:
        self.copy.setText("&Copy")


class Mark(StrEnum):
    PENDING = "pending"
    RUNNING = "running"
    PASS = "pass"  # noqa: S105 - a check outcome, not a password
    FAIL = "fail"
    SKIPPED = "skipped"


_OUTCOME_MARK = {Outcome.PASS: Mark.PASS, Outcome.FAIL: Mark.FAIL, Outcome.SKIPPED: Mark.SKIPPED}
_MARK_COLOUR = {Mark.PASS: GREEN, Mark.FAIL: RED, Mark.SKIPPED: "#9e9e9e"}


class StatusIcon(QWidget):
    """Painted (no font glyphs needed): ring, spinner, green tick, red cross, grey dash."""

    SIZE = 18

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setFixedSize(self.SIZE, self.SIZE)
        self.mark = Mark.PENDING
        self._angle = 0
        self._timer = QTimer(self)
        self._timer.setInterval(80)
        self._timer.timeout.connect(self._turn)

    def set_mark(self, mark: Mark) -> None:
        self.mark = mark
        if mark is Mark.RUNNING:
            self._timer.start()
        else:
            self._timer.stop()
        self.setAccessibleName(mark.value)
        self.update()

    def _turn(self) -> None:
        self._angle = (self._angle + 30) % 360
        self.update()

    def paintEvent(self, event: QPaintEvent) -> None:
        painter = QPainter(self)
        painter.setRenderHint(QPainter.RenderHint.Antialiasing)
        box = QRectF(2, 2, self.SIZE - 4, self.SIZE - 4)
        if self.mark in (Mark.PENDING, Mark.RUNNING):
            painter.setPen(QPen(QColor("#bdbdbd"), 2))
            painter.drawEllipse(box)
            if self.mark is Mark.RUNNING:
                painter.setPen(QPen(QColor("#1e88e5"), 2.5))
                painter.drawArc(box, -self._angle * 16, 100 * 16)
            return
        painter.setPen(Qt.PenStyle.NoPen)
        painter.setBrush(QColor(_MARK_COLOUR[self.mark]))
        painter.drawEllipse(box)
        pen = QPen(QColor("white"), 2.2)
        pen.setCapStyle(Qt.PenCapStyle.RoundCap)
        painter.setPen(pen)
        s = self.SIZE
        if self.mark is Mark.PASS:
            painter.drawPolyline([*_points((0.30, 0.52), (0.45, 0.66), (0.71, 0.36), size=s)])
        elif self.mark is Mark.FAIL:
            painter.drawLine(*_points((0.35, 0.35), (0.65, 0.65), size=s))
            painter.drawLine(*_points((0.65, 0.35), (0.35, 0.65), size=s))
        else:
            painter.drawLine(*_points((0.32, 0.5), (0.68, 0.5), size=s))


def _points(*fractions: tuple[float, float], size: int) -> list[QPointF]:
    return [QPointF(x * size, y * size) for x, y in fractions]


class CheckRow(QWidget):
    """One check of the connection test: its light, name and result, and a remedy line."""

    def __init__(self, number: int, name: str, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.title = f"{number}. {sentence(name)}"
        self.icon = StatusIcon()
        self.text = QLabel()
        self.text.setWordWrap(True)
        self.text.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
        # level with the light whatever the row's height
        self.text.setAlignment(Qt.AlignmentFlag.AlignLeft | Qt.AlignmentFlag.AlignTop)
        self.remedy = Note(RED)
        column = QVBoxLayout()
        column.setSpacing(1)
        column.addWidget(self.text)
        column.addWidget(self.remedy)
        layout = QHBoxLayout(self)
        layout.setContentsMargins(0, 1, 0, 1)
        layout.addWidget(self.icon, 0, Qt.AlignmentFlag.AlignTop)
        layout.addLayout(column, 1)
        self.show_state(Mark.PENDING)

    @property
    def mark(self) -> Mark:
        return self.icon.mark

    def show_state(self, mark: Mark, detail: str = "", remedy: str = "") -> None:
        """``detail`` is plain text; ``remedy`` is shown under a failure only."""
        words = {Mark.PENDING: "", Mark.RUNNING: "checking…"}.get(mark, detail)
        text = f"<b>{html.escape(self.title)}</b>"
        if words:
            text += f" — {html.escape(sentence(words))}"
        self.text.setText(text)
        self.icon.set_mark(mark)
        self.remedy.say(f"→ {sentence(remedy)}" if mark is Mark.FAIL and remedy else "")


def show_result(rows: dict[int, CheckRow], result: CheckResult) -> None:
    """Mark one finished check on its row and the next row as running (the connection test
    runs its checks in order)."""
    rows[result.number].show_state(_OUTCOME_MARK[result.status], result.detail, result.remedy)
    following = rows.get(result.number + 1)
    if following is not None:
        following.show_state(Mark.RUNNING)
