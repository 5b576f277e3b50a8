"""The history widgets: drawn where the data says, in the palette's colours, described aloud."""

from __future__ import annotations

import time
from pathlib import Path
from typing import Any

import pytest
from PySide6.QtGui import QColor, QImage, QPalette
from PySide6.QtWidgets import QWidget
from pytestqt.qtbot import QtBot

from app.core.events import State, iso_time
from app.core.history import Kind, Sample, Transition
from app.services.history import HistoryService
from app.storage.history import Batch, write_now
from app.storage.paths import AppPaths
from app.ui.history_view import AvailabilityStrip, OutageList, Sparkline, kind_colour
from app.ui.hub import TunnelHub
from tests.app.ui.conftest import DEADLINE_MS, add
from tests.conftest import Jumphost
from tests.support.net import TcpServer

T = 1_700_000_000.0
DAY = 86_400.0
SIZES = [(120, 14), (480, 20), (1600, 40), (333, 17)]


def window(*parts: tuple[str, float, float], cause: str = "") -> dict[str, Any]:
    """One 24-hour window starting at T, made of (kind, start, end) offsets in seconds."""
    up = sum(b - a for k, a, b in parts if k == "up")
    hosted = sum(b - a for k, a, b in parts if k != "stopped")
    return {
        "start": iso_time(T),
        "end": iso_time(T + DAY),
        "availability": 100 * up / hosted if hosted else None,
        "segments": [
            {"kind": k, "start": iso_time(T + a), "end": iso_time(T + b), "cause": cause}
            for k, a, b in parts
        ],
        "outages": [
            {"start": iso_time(T + a), "seconds": b - a, "cause": cause, "ongoing": b == DAY}
            for k, a, b in parts
            if k in ("retrying", "down", "target_refusing")
        ],
    }


def history(*parts: tuple[str, float, float], rates: list[float] | None = None) -> dict[str, Any]:
    day = window(*parts, cause="the jumphost is unreachable")
    values = rates if rates is not None else [0.0] * 60
    return {
        "tunnel": "db",
        "windows": {"24h": day, "7d": day},
        "throughput": [
            {"at": iso_time(T + 60 * i), "to_target_bps": v, "to_vendor_bps": v / 2}
            for i, v in enumerate(values)
        ],
    }


def image(widget: QWidget) -> QImage:
    return widget.grab().toImage()


def same(a: QColor, b: QColor) -> bool:
    return a.rgb() == b.rgb()


@pytest.fixture
def strip(qtbot: QtBot) -> AvailabilityStrip:
    made = AvailabilityStrip()
    qtbot.addWidget(made)
    made.resize(400, 20)
    made.show()
    return made


def test_half_up_half_down_paints_the_left_half_up_and_the_right_half_down(
    strip: AvailabilityStrip,
) -> None:
    strip.set_history(history(("up", 0, DAY / 2), ("down", DAY / 2, DAY)))
    shot = image(strip)
    palette = strip.palette()
    up, down = kind_colour(Kind.UP, palette), kind_colour(Kind.DOWN, palette)
    assert not same(up, down)
    for x in (1, 100, 198):
        assert same(shot.pixelColor(x, 10), up), x
    for x in (202, 300, 398):
        assert same(shot.pixelColor(x, 10), down), x
    said = strip.accessibleDescription()
    assert said == "Up 50.0 % of the time it ran in the last 24 hours; 1 outage."
    assert strip.accessibleName() == "Availability over the last 24 hours"


def test_not_running_is_a_thin_line_and_retrying_is_striped(strip: AvailabilityStrip) -> None:
    strip.set_history(history(("stopped", 0, DAY / 2), ("retrying", DAY / 2, DAY)))
    shot = image(strip)
    palette = strip.palette()
    base = palette.color(QPalette.ColorRole.Base)
    assert same(shot.pixelColor(100, 1), base)  # nothing above the line
    assert same(shot.pixelColor(100, 9), kind_colour(Kind.STOPPED, palette))
    right = {shot.pixelColor(x, y).rgb() for x in range(210, 260) for y in range(20)}
    assert kind_colour(Kind.RETRYING, palette).rgb() in right and base.rgb() in right


def test_a_one_second_outage_in_a_day_is_still_visible(strip: AvailabilityStrip) -> None:
    strip.set_history(
        history(("up", 0, DAY / 2), ("down", DAY / 2, DAY / 2 + 1), ("up", DAY / 2 + 1, DAY))
    )
    shot = image(strip)
    down = kind_colour(Kind.DOWN, strip.palette())
    assert any(same(shot.pixelColor(x, 10), down) for x in range(195, 206))


def test_the_tooltip_names_the_segment_under_the_pointer(strip: AvailabilityStrip) -> None:
    strip.set_history(history(("up", 0, DAY * 3 / 4), ("retrying", DAY * 3 / 4, DAY)))
    assert strip.tooltip_at(10).startswith("up: from ")
    assert "for 18 h" in strip.tooltip_at(10)
    said = strip.tooltip_at(390)
    assert said.startswith("connecting or retrying: from ") and "for 6 h" in said
    assert said.endswith("\nthe jumphost is unreachable")
    assert strip.segment_at(-50) is not None and strip.segment_at(5000) is not None


@pytest.mark.parametrize("size", SIZES)
def test_every_widget_draws_at_any_size_with_or_without_data(
    qtbot: QtBot, size: tuple[int, int]
) -> None:
    data = history(("up", 0, DAY / 3), ("target_refusing", DAY / 3, DAY), rates=[5.0] * 60)
    for widget in (AvailabilityStrip(), Sparkline(), OutageList()):
        qtbot.addWidget(widget)
        widget.resize(*size)
        widget.show()
        for shown in (None, data, {"windows": {}, "throughput": []}):
            widget.set_history(shown)  # type: ignore[attr-defined]
            assert not image(widget).isNull()
            assert widget.accessibleName() and widget.accessibleDescription()


def test_nothing_to_show_is_said(qtbot: QtBot) -> None:
    strip, spark, outages = AvailabilityStrip(), Sparkline(), OutageList()
    for widget in (strip, spark, outages):
        qtbot.addWidget(widget)
    assert strip.accessibleDescription() == "No history for the last 24 hours."
    assert spark.accessibleDescription() == "No throughput recorded in the last hour."
    assert outages.topLevelItem(0).text(2) == "No outages in the last 7 days."
    strip.set_history(history(("stopped", 0, DAY)))
    assert strip.accessibleDescription() == "Not running at any time in the last 24 hours."


def test_the_sparkline_puts_the_peak_at_the_top_right(qtbot: QtBot) -> None:
    spark = Sparkline()
    qtbot.addWidget(spark)
    spark.resize(241, 37)
    spark.set_history(history(("up", 0, DAY), rates=[0.0] * 59 + [3 * 1024.0]))
    points = spark.points([0.0] * 59 + [3 * 1024.0])
    assert (points[0].x(), points[0].y()) == (0.0, 36.0)  # nothing: the bottom left
    assert (points[-1].x(), points[-1].y()) == (240.0, 0.0)  # the peak: the top right
    halves = spark.points([0.0] * 59 + [1.5 * 1024])  # the vendor line on the same scale
    assert halves[-1].y() == pytest.approx(18.0)
    assert spark.accessibleDescription() == (
        "Last hour: to the target peak 3.0 KiB/s, to the vendor peak 1.5 KiB/s."
    )
    spark.show()
    shot = image(spark)
    line = spark.palette().color(QPalette.ColorRole.Link)
    assert any(same(shot.pixelColor(x, y), line) for x in range(230, 241) for y in range(37))


def test_outages_newest_first_with_their_cause(qtbot: QtBot) -> None:
    outages = OutageList()
    qtbot.addWidget(outages)
    outages.set_history(history(("retrying", 0, 90), ("up", 90, DAY - 60), ("down", DAY - 60, DAY)))
    assert outages.topLevelItemCount() == 2
    newest, oldest = outages.topLevelItem(0), outages.topLevelItem(1)
    assert newest.text(1) == "1 min (ongoing)" and oldest.text(1) == "1 min 30 s"
    assert newest.text(2) == "the jumphost is unreachable"
    assert oldest.text(0) == time.strftime("%Y-%m-%d %H:%M", time.localtime(T))
    assert outages.accessibleDescription() == "2 outages in the last 7 days."


def test_the_widgets_take_what_the_history_service_gives(qtbot: QtBot, tk_home: AppPaths) -> None:
    now = time.time()
    batch = Batch()
    batch.transitions.append(("db", Transition(now - 7200, State.CONNECTED, False, "up"), False))
    batch.transitions.append(("db", Transition(now - 3600, State.RETRYING, False, "lost"), True))
    batch.transitions.append(("db", Transition(now - 1800, State.CONNECTED, True, "refused"), True))
    batch.vouch.append(("db", now))
    batch.samples += [("db", Sample(now - 300 + 10 * i, 1000 * i, 10 * i)) for i in range(30)]
    write_now(Path(tk_home.history_file), [batch], now)
    data = HistoryService(tk_home).history("db", now=now)
    strip, spark, outages = AvailabilityStrip(), Sparkline(), OutageList(window="24h")
    for widget in (strip, spark, outages):
        qtbot.addWidget(widget)
        widget.set_history(data)  # type: ignore[attr-defined]
    assert [p.kind for p in strip.segments()] == [
        Kind.STOPPED,
        Kind.UP,
        Kind.RETRYING,
        Kind.TARGET_REFUSING,
    ]
    assert "Up 50.0 %" in strip.accessibleDescription()
    assert "peak 100 B/s" in spark.accessibleDescription()
    assert [outages.topLevelItem(i).text(2) for i in range(2)] == ["refused", "lost"]


@pytest.mark.integration
def test_the_app_records_its_tunnels_history(
    qtbot: QtBot, hub: TunnelHub, tk_home: AppPaths, jumphost: Jumphost, echo: TcpServer
) -> None:
    add(tk_home, jumphost, echo.port)
    hub.reload()
    hub.connect_tunnel("db")
    qtbot.waitUntil(lambda: hub.states()["db"] is State.CONNECTED, timeout=DEADLINE_MS)
    assert hub.history.flush()
    data = hub.services.history.history("db")
    assert [s["kind"] for s in data["windows"]["24h"]["segments"]][-1] == "up"
    hub.disconnect_tunnel("db")
    qtbot.waitUntil(lambda: not hub.is_running("db"), timeout=DEADLINE_MS)
    assert hub.history.flush()
    strip = AvailabilityStrip()
    qtbot.addWidget(strip)
    strip.set_history(hub.services.history.history("db"))
    assert [p.kind for p in strip.segments()][-2:] == [Kind.UP, Kind.STOPPED]
