"""A tunnel standing by (issue 19) is shown calmly: its own blue, its own words, never an
outage, in the summary, tooltip, tray light and badges, status table and detail pane."""

from __future__ import annotations

import time
from dataclasses import replace
from typing import cast

import pytest
from PySide6.QtCore import Qt
from PySide6.QtGui import QColor
from PySide6.QtWidgets import QMenu
from pytestqt.qtbot import QtBot

from app.core.events import State, TunnelStatus
from app.core.history import Kind
from app.core.profile import Profile
from app.services.api import Services
from app.storage.paths import AppPaths
from app.ui.detail_pane import DetailPane
from app.ui.history_pane import share_words
from app.ui.history_view import AvailabilityStrip, kind_colour
from app.ui.hub import TunnelHub
from app.ui.icons import icon_file
from app.ui.palette import MIN_CONTRAST, Tone, contrast, status_colour, tone_colour, tone_of
from app.ui.rows import Row
from app.ui.status_table import HEADER_TIPS, STATE, TunnelTable
from app.ui.summary import (
    Glance,
    Light,
    Notifier,
    TunnelLine,
    aggregate,
    glance_of,
    light_of,
    state_words,
    summary_line,
    tooltip,
)
from app.ui.tray import STATUS_CHARS, Tray, status_line
from tests.app.ui.conftest import no_keychain
from tests.app.ui.test_history_view import DAY, history
from tests.app.ui.test_palette import PALETTES
from tests.app.ui.test_tray import StatusHub, action, texts

NOW = 1_700_000_000.0
HELD = (
    "another machine holds port 40001 on the jumphost; standing by, asking again every few seconds."
)
FENCED = (
    "standing by: the target 127.0.0.1:5432 does not answer from this machine (connection "
    "refused); asking for port 40001 once it does."
)


def standby(name: str = "warehouse", since: float | None = NOW - 720) -> TunnelLine:
    return TunnelLine(name, State.STANDBY, since, detail=HELD)


def up(name: str) -> TunnelLine:
    return TunnelLine(name, State.CONNECTED, NOW - 100)


# --- words and colours (pure) -----------------------------------------------------------


def test_standing_by_is_its_own_glance_and_light() -> None:
    status = TunnelStatus("warehouse", State.STANDBY, HELD)
    assert glance_of(status) is Glance.STANDBY and Glance.STANDBY.value == "standing by"
    assert light_of(Glance.STANDBY) is Light.BLUE
    assert state_words(status) == "standby (another machine is active)"
    assert aggregate({"a": State.CONNECTED, "b": State.STANDBY}) is Light.GREEN
    assert aggregate({"a": State.STANDBY, "b": State.STOPPED}) is Light.BLUE
    assert aggregate({"a": State.STANDBY}) is Light.BLUE
    # trouble elsewhere still shows
    assert aggregate({"a": State.STANDBY, "b": State.RETRYING}) is Light.AMBER
    assert aggregate({"a": State.STANDBY, "b": State.ERROR}) is Light.RED


def test_summary_lines_with_tunnels_standing_by() -> None:
    stopped = TunnelLine("c", State.STOPPED, None)
    assert summary_line([standby()], NOW) == "warehouse is standing by (another machine is active)"
    assert summary_line([up("a"), standby()], NOW) == "1 tunnel up, 1 standing by"
    assert summary_line([up("a"), up("b"), standby()], NOW) == "2 tunnels up, 1 standing by"
    assert summary_line([standby("a"), standby("b")], NOW) == (
        "All 2 tunnels standing by (other machines are active)"
    )
    assert summary_line([up("a"), standby(), stopped], NOW) == (
        "1 of 3 tunnels up, 1 standing by, 1 stopped"
    )
    assert summary_line([standby(), stopped], NOW) == "1 of 2 tunnels standing by, 1 stopped"
    # a tunnel in trouble is still named first; standing by is not trouble
    down = TunnelLine("files", State.RETRYING, NOW - 240)
    assert summary_line([standby(), down], NOW) == "files: jumphost unreachable for 4 min"


def test_the_tooltip_says_why_it_stands_by_and_since_when() -> None:
    text = tooltip([up("db"), standby()], NOW).splitlines()
    assert text == [
        "Tunnelkeeper: 1 tunnel up, 1 standing by",
        "db: connected, up 1 min",
        "warehouse: standby for 12 min (another machine holds port 40001 on the jumphost)",
    ]
    fenced = TunnelLine("warehouse", State.STANDBY, None, detail=FENCED)
    assert tooltip([fenced], NOW).splitlines()[1] == (
        "warehouse: standby (the target 127.0.0.1:5432 does not answer from this machine "
        "(connection refused); asking for port 40001 once it does)"
    )


@pytest.mark.parametrize("name", list(PALETTES))
def test_the_standby_colour_is_calm_readable_and_apart(name: str) -> None:
    palette = PALETTES[name]
    assert tone_of(TunnelStatus("w", State.STANDBY, HELD)) is Tone.STANDBY
    colour = tone_colour(Tone.STANDBY, palette)
    assert contrast(colour, palette.color(palette.ColorRole.Base)) >= MIN_CONTRAST
    assert contrast(colour, palette.color(palette.ColorRole.Window)) >= MIN_CONTRAST
    if name == "mid grey":
        return  # (there every colour is pushed to black or white)
    others = {tone_colour(t, palette).name() for t in Tone if t is not Tone.STANDBY}
    assert colour.name() not in others
    assert 0.5 < colour.hueF() < 0.7 and colour.hsvSaturationF() > 0.2  # blue: not grey, amber


def test_every_light_has_its_icon_standby_too() -> None:
    for light in Light:
        with open(icon_file(f"tunnelkeeper-{light.value}"), encoding="utf-8") as svg:
            assert "<svg" in svg.read(), light


# --- the tray -----------------------------------------------------------------------------


def test_the_tray_stays_green_with_one_tunnel_connected_and_one_standing_by(qtbot: QtBot) -> None:
    hub = StatusHub("db", "warehouse")
    tray = Tray(cast(TunnelHub, hub), Notifier(enabled=False), available=lambda: False)
    now = time.time()
    hub.report(TunnelStatus("db", State.CONNECTED, "listening", since=now - 60))
    hub.report(TunnelStatus("warehouse", State.STANDBY, HELD, since=now - 30))
    assert tray.light is Light.GREEN
    assert texts(tray.menu)[:3] == [
        "1 tunnel up, 1 standing by",
        "db — connected",
        "warehouse — standby",
    ]
    tip = tray.icon.toolTip().splitlines()
    assert tip[0] == "Tunnelkeeper: 1 tunnel up, 1 standing by"
    assert tip[2].startswith("warehouse: standby for 30 s (another machine holds port 40001")
    sub = action(tray.menu, "warehouse — standby").menu()
    assert isinstance(sub, QMenu)
    status = sub.actions()[0]
    assert status.text() == "Standing by: another machine holds port 40001 on the jumphost."
    assert len(status.text()) <= STATUS_CHARS and status.toolTip() == HELD
    # it is running: Disconnect, not Connect
    assert action(sub, "Disconnect").isEnabled() and not action(sub, "Connect").isEnabled()
    hub.report(TunnelStatus("db", State.STOPPED, "disconnected.", since=now))
    assert tray.light is Light.BLUE
    assert texts(tray.menu)[0] == "1 of 2 tunnels standing by, 1 stopped"


def test_the_tray_tells_a_change_of_role_calmly(qtbot: QtBot) -> None:
    hub = StatusHub("warehouse")
    clock = [0.0]
    tray = Tray(cast(TunnelHub, hub), Notifier(), available=lambda: False, clock=lambda: clock[0])
    told: list[tuple[str, str]] = []
    tray.noticed.connect(lambda title, text: told.append((title, text)))
    hub.report(TunnelStatus("warehouse", State.CONNECTED, "listening", since=time.time()))
    clock[0] = 100.0
    hub.report(TunnelStatus("warehouse", State.STANDBY, HELD, since=time.time()))
    clock[0] = 200.0
    hub.report(TunnelStatus("warehouse", State.CONNECTED, "took over: listening"))
    assert told == [
        ("Tunnel connected", "warehouse is connected."),
        (
            "Tunnel standing by",
            "warehouse stands by: another machine holds port 40001 on the jumphost.",
        ),
        (
            "Tunnel active on this machine",
            "warehouse: this machine took over; the vendor's connections come here now.",
        ),
    ]


def test_a_standby_row_reads_calmly_in_the_tray_menu() -> None:
    hub = StatusHub("warehouse")
    hub.statuses["warehouse"] = TunnelStatus("warehouse", State.STANDBY, FENCED)
    (row,) = hub.rows()
    line = status_line(row)
    assert line.startswith("Standing by: the target 127.0.0.1:5432 does not answer")
    assert line.endswith("…") and len(line) <= STATUS_CHARS


# --- the status window's table and detail pane ------------------------------------------

DB = Profile("warehouse", "vendor.example", "tunnel", 40001, "127.0.0.1", 5432, "/k/w")


def test_the_table_colours_and_speaks_standby(qtbot: QtBot) -> None:
    table = TunnelTable()
    qtbot.addWidget(table)
    shown = Row(DB, TunnelStatus("warehouse", State.STANDBY, HELD, since=NOW), True)
    table.fill([shown], NOW + 5)
    item = table.item(0, STATE)
    assert item is not None and item.text() == "standby"
    assert item.foreground().color() == tone_colour(Tone.STANDBY, table.palette())
    spoken = item.data(Qt.ItemDataRole.AccessibleTextRole)
    assert spoken == "standby, another machine is active"
    assert "standby" in HEADER_TIPS["State"] and "takes over" in HEADER_TIPS["State"]


def test_the_detail_pane_badge_and_role_row(qtbot: QtBot, tk_home: AppPaths) -> None:
    pane = DetailPane(Services(tk_home, no_keychain))
    qtbot.addWidget(pane)
    pane.show()
    redundant = replace(DB, role="redundant", fence_after=45)
    status = TunnelStatus("warehouse", State.STANDBY, HELD, since=NOW)
    pane.show_row(Row(redundant, status, True))
    assert pane.badge.text() == "● standby (another machine is active)"
    assert pane.badge.accessibleName() == "State: standby (another machine is active)"
    badge_colour = status_colour(status, pane.palette()).name()
    assert badge_colour in pane.badge.styleSheet()
    assert QColor(badge_colour) == tone_colour(Tone.STANDBY, pane.palette())
    role = pane.fields["Role"]
    assert role.isVisible() and pane.labels["Role"].isVisible()
    assert role.text() == (
        "redundant: another machine runs this tunnel too; one holds the port, one stands by"
    )
    assert "has not answered for 45 s" in role.toolTip()
    # a tunnel of this machine alone has no Role row
    single = Row(DB, TunnelStatus("warehouse", State.CONNECTED, "listening"), True)
    pane.show_row(single)
    assert not role.isVisible() and not pane.labels["Role"].isVisible()
    assert pane.badge.text() == "● connected"


# --- history ------------------------------------------------------------------------------


def test_time_standing_by_is_drawn_calm_and_counted_as_ready(qtbot: QtBot) -> None:
    strip = AvailabilityStrip()
    qtbot.addWidget(strip)
    strip.resize(400, 20)
    strip.show()
    data = history(("up", 0, DAY / 2), ("standby", DAY / 2, DAY))
    data["windows"]["24h"]["availability"] = 100.0  # as the service counts it: ready
    strip.set_history(data)
    shot = strip.grab().toImage()
    palette = strip.palette()
    assert kind_colour(Kind.STANDBY, palette) == tone_colour(Tone.STANDBY, palette)
    for x in (202, 300, 398):
        assert shot.pixelColor(x, 10).rgb() == kind_colour(Kind.STANDBY, palette).rgb(), x
    assert strip.accessibleDescription() == (
        "Up or standing by 100.0 % of the time it ran in the last 24 hours; 0 outages."
    )
    assert strip.tooltip_at(300).startswith("standing by (another machine held the port): from")
    assert share_words(data, "24h") == "100.0 % up or standing by"
    assert share_words(history(("up", 0, DAY)), "24h") == "100.0 % up"


def test_a_fenced_standby_is_amber_and_says_its_target_does_not_answer() -> None:
    """Standing by because this machine's target does not answer is trouble here (the
    other machine carries the vendor, but this one could not take over)."""
    status = TunnelStatus("warehouse", State.STANDBY, FENCED, since=NOW - 60, standby="fenced")
    assert glance_of(status) is Glance.FENCED
    assert light_of(Glance.FENCED) is Light.AMBER
    assert state_words(status) == "standby (its target does not answer here)"
    assert tone_of(status) is Tone.REFUSING
    fenced = TunnelLine("warehouse", State.STANDBY, NOW - 60, detail=FENCED, standby="fenced")
    line = summary_line([fenced, standby("db")], NOW)
    assert line == "warehouse: standing by, the target does not answer here"
    assert aggregate({"warehouse": fenced.glance, "db": standby("db").glance}) is Light.AMBER
    held = TunnelStatus("db", State.STANDBY, HELD, since=NOW - 60, standby="held")
    assert glance_of(held) is Glance.STANDBY and tone_of(held) is Tone.STANDBY
