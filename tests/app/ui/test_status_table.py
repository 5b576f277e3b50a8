"""The status table's text, colours, header tips, context menu and double-click."""

from __future__ import annotations

from PySide6.QtCore import QPoint, QSize, Qt
from PySide6.QtGui import QColor
from pytestqt.qtbot import QtBot

from app.core.events import State, TunnelStatus
from app.core.profile import Profile
from app.ui.palette import Tone, contrast, tone_colour
from app.ui.rows import Row
from app.ui.status_table import (
    COLUMNS,
    DETAIL,
    HEADER_TIPS,
    STATE,
    TunnelTable,
    cells,
    countdown,
    short_time,
    since_text,
)
from app.ui.status_window import first_size

DB = Profile("db", "vendor.example", "tunnel", 58115, "127.0.0.1", 3306, "/k/db", 2222)
NOW = 1_800_000_000.0


def row(state: State, **status: object) -> Row:
    return Row(DB, TunnelStatus("db", state, "the detail", **status), state is not State.STOPPED)  # type: ignore[arg-type]


def column(name: str, shown: Row, now: float = NOW) -> str:
    return cells(shown, now)[COLUMNS.index(name)]


def test_next_retry_is_a_countdown_and_since_says_how_long() -> None:
    assert column("Next retry", row(State.RETRYING, next_retry_at=NOW + 12.4)) == "in 12 s"
    assert column("Next retry", row(State.RETRYING, next_retry_at=NOW + 300)) == "in 5 min"
    assert column("Next retry", row(State.RETRYING, next_retry_at=NOW - 1)) == "now"
    assert column("Next retry", row(State.CONNECTED)) == "—"
    assert countdown(None, NOW) == "—"
    assert since_text(NOW - 250, NOW).endswith("(4 min)")
    assert since_text(None, NOW) == "—"


def test_every_column_header_explains_itself(qtbot: QtBot) -> None:
    table = TunnelTable()
    qtbot.addWidget(table)
    for c, name in enumerate(COLUMNS):
        item = table.horizontalHeaderItem(c)
        assert item is not None and item.toolTip() == HEADER_TIPS[name] != ""
    assert "open now / in total" in HEADER_TIPS["Connections"]


def test_a_target_that_refuses_is_coloured_and_said_so(qtbot: QtBot) -> None:
    table = TunnelTable()
    qtbot.addWidget(table)
    warned = row(State.CONNECTED, warning="target 127.0.0.1:3306 refused 3 connections")
    table.fill([warned], NOW)
    palette = table.palette()
    state = table.item(0, STATE)
    detail = table.item(0, DETAIL)
    assert state is not None and detail is not None
    amber = tone_colour(Tone.REFUSING, palette)
    assert state.foreground().color() == amber != tone_colour(Tone.UP, palette)
    assert detail.foreground().color() == amber
    assert detail.text().startswith("target 127.0.0.1:3306 refused")
    spoken = state.data(Qt.ItemDataRole.AccessibleTextRole)
    assert spoken == "connected, but the target refuses connections"
    base = palette.base().color()
    assert contrast(QColor(state.foreground().color()), base) >= 4.5

    table.fill([row(State.CONNECTED)], NOW)  # the warning is gone: plain text again
    assert detail.foreground().color() == palette.text().color()
    assert state.foreground().color() == tone_colour(Tone.UP, palette)


def test_right_click_asks_for_the_rows_menu_and_double_click_activates(qtbot: QtBot) -> None:
    table = TunnelTable()
    qtbot.addWidget(table)
    table.resize(900, 200)
    table.show()
    table.fill([row(State.CONNECTED)], NOW)
    rect = table.visualItemRect(table.item(0, 0))
    with qtbot.waitSignal(table.menu_requested, timeout=2000) as asked:
        table.customContextMenuRequested.emit(rect.center())
    assert asked.args[0] == "db" and isinstance(asked.args[1], QPoint)
    with qtbot.waitSignal(table.activated, timeout=2000) as activated:
        table.cellDoubleClicked.emit(0, 3)
    assert activated.args == ["db"]
    table.setCurrentCell(0, 0)
    with qtbot.waitSignal(table.activated, timeout=2000):
        qtbot.keyClick(table, Qt.Key.Key_Return)


def test_the_window_fits_a_1280_by_800_screen() -> None:
    assert first_size(QSize(1280, 800 - 40)).width() <= 1280
    assert first_size(QSize(1280, 800 - 40)).height() <= 760
    assert first_size(QSize(3840, 2160)) == QSize(1180, 640)


def test_times_of_today_are_short_and_older_ones_carry_their_date() -> None:
    from datetime import datetime

    noon = datetime(2026, 11, 27, 12, 0, 0).timestamp()
    assert short_time(noon - 3600, noon) == "11:00:00"
    assert short_time(noon - 86_400, noon) == "2026-11-26 12:00"
    assert short_time(None, noon, "never") == "never"
