"""Tray colour, tooltip, summary line and the at-a-glance state (issue 16, items 4 and 12)."""

from __future__ import annotations

from hypothesis import given
from hypothesis import strategies as st

from app.core.events import State, TunnelEvent, TunnelStatus
from app.ui.summary import (
    NOTIFY_EVERY,
    Glance,
    Light,
    Notice,
    Notifier,
    TunnelLine,
    aggregate,
    glance,
    glance_of,
    summary_line,
    tooltip,
)

NOW = 1_700_000_000.0
REFUSED = "target 127.0.0.1:5432 refused 3 connections in the last minute"
HELD = (
    "another machine holds port 58115 on the jumphost; standing by, asking again every few seconds."
)


def test_aggregate_colours() -> None:
    assert aggregate({}) is Light.GREY
    assert aggregate({"a": State.STOPPED}) is Light.GREY
    assert aggregate({"a": State.CONNECTED, "b": State.STOPPED}) is Light.GREEN
    assert aggregate({"a": State.CONNECTED, "b": State.RETRYING}) is Light.AMBER
    assert aggregate({"a": State.CONNECTING}) is Light.AMBER
    assert aggregate({"a": State.RETRYING, "b": State.ERROR}) is Light.RED
    # a target that refuses is not healthy: amber, not green
    assert aggregate({"a": Glance.TARGET_REFUSES, "b": Glance.UP}) is Light.AMBER
    assert aggregate({"a": Glance.TARGET_REFUSES, "b": Glance.NEEDS_YOU}) is Light.RED


def test_glance_tells_a_refusing_target_from_an_unreachable_jumphost() -> None:
    up = TunnelStatus("w", State.CONNECTED, "listening")
    assert glance_of(up) is Glance.UP
    refusing = TunnelStatus("w", State.CONNECTED, "listening", warning=REFUSED)
    assert glance_of(refusing) is Glance.TARGET_REFUSES
    assert glance_of(TunnelStatus("w", State.RETRYING, "x")) is Glance.UNREACHABLE
    assert glance_of(TunnelStatus("w", State.ERROR, "x")) is Glance.NEEDS_YOU
    assert glance_of(TunnelStatus("w", State.CONNECTING, "x")) is Glance.CONNECTING
    assert glance_of(TunnelStatus("w", State.STOPPED, "x")) is Glance.STOPPED
    # a warning left over from before the link went down says nothing about it now
    assert glance(State.RETRYING, REFUSED) is Glance.UNREACHABLE
    assert Glance.TARGET_REFUSES.value == "up, but the target refuses connections"
    assert {g.value for g in Glance}.isdisjoint({"connected", "retrying", "error"})


def test_tooltip_lines() -> None:
    text = tooltip(
        [
            TunnelLine("db", State.CONNECTED, since=1000.0),
            TunnelLine("files", State.RETRYING, since=0.0, next_retry_at=1000.0 + 12 * 3600 + 12),
        ],
        now=1000.0 + 3 * 3600 + 120,
    )
    assert text.splitlines() == [
        "Tunnelkeeper: files: jumphost unreachable for 3 h 18 min",
        "db: connected, up 3 h 2 min",
        "files: retrying, down for 3 h 18 min, next try in 8 h 58 min",
    ]
    assert tooltip([], now=0) == "Tunnelkeeper: no tunnels yet"


def test_tooltip_says_why_a_connected_tunnel_is_not_well() -> None:
    lines = [
        TunnelLine("warehouse", State.CONNECTED, NOW - 7, warning=REFUSED),
        TunnelLine("db", State.CONNECTED, NOW - 7200),
    ]
    assert tooltip(lines, NOW).splitlines() == [
        "Tunnelkeeper: warehouse: up, but the target refuses connections",
        "warehouse: up, but the target refuses connections (connected for 7 s)",
        "db: connected, up 2 h 0 min",
    ]


def test_uptime_counts_from_the_status_since_not_from_now() -> None:
    # the same state reported again (a warning, new figures) keeps its start: the engine's
    # ``since``; a status that has none claims no uptime instead of "up 0 s"
    line = TunnelLine("db", State.CONNECTED, NOW - 3 * 3600)
    assert tooltip([line], NOW).splitlines()[1] == "db: connected, up 3 h 0 min"
    assert tooltip([line], NOW + 60).splitlines()[1] == "db: connected, up 3 h 1 min"
    unknown = TunnelLine("db", State.CONNECTED, None)
    assert tooltip([unknown], NOW).splitlines()[1] == "db: connected"


def test_summary_lines() -> None:
    def up(name: str) -> TunnelLine:
        return TunnelLine(name, State.CONNECTED, NOW - 100)

    assert summary_line([], NOW) == "No tunnels yet"
    assert summary_line([up("a"), up("b"), up("c")], NOW) == "All 3 tunnels up"
    assert summary_line([up("db")], NOW) == "db is up"
    stopped = TunnelLine("c", State.STOPPED, None)
    assert summary_line([up("a"), stopped], NOW) == "1 of 2 tunnels up, 1 stopped"
    assert summary_line([stopped], NOW) == "c is stopped"
    assert summary_line([stopped, stopped], NOW) == "No tunnel is running"
    down = TunnelLine("warehouse", State.RETRYING, NOW - 240)
    assert summary_line([up("a"), down], NOW) == "warehouse: jumphost unreachable for 4 min"
    refusing = TunnelLine("warehouse", State.CONNECTED, NOW - 5, warning=REFUSED)
    assert summary_line([up("a"), refusing], NOW) == (
        "warehouse: up, but the target refuses connections"
    )
    needs = TunnelLine("billing", State.ERROR, NOW - 5)
    assert summary_line([refusing, down, needs], NOW) == (
        "billing needs your attention (and 2 more)"
    )
    assert summary_line([TunnelLine("n", State.CONNECTING, NOW - 5)], NOW) == "n: connecting"
    slow = TunnelLine("n", State.CONNECTING, NOW - 300)
    assert summary_line([slow], NOW) == "n: connecting for 5 min"
    assert summary_line([TunnelLine("w", State.RETRYING, None)], NOW) == ("w: jumphost unreachable")


_WORST = [Glance.NEEDS_YOU, Glance.UNREACHABLE, Glance.TARGET_REFUSES, Glance.CONNECTING]
tunnel = st.builds(
    TunnelLine,
    name=st.sampled_from(["a", "b", "c", "d", "warehouse"]),
    state=st.sampled_from(list(State)),
    since=st.one_of(st.none(), st.floats(min_value=NOW - 30 * 86400, max_value=NOW)),
    next_retry_at=st.one_of(st.none(), st.floats(min_value=NOW - 5, max_value=NOW + 3600)),
    warning=st.one_of(st.none(), st.just(REFUSED)),
    detail=st.sampled_from(["", "listening", HELD]),
)


@given(st.lists(tunnel, max_size=6, unique_by=lambda line: line.name))
def test_the_summary_names_the_worst_tunnel(lines: list[TunnelLine]) -> None:
    text = summary_line(lines, NOW)
    assert text and "\n" not in text and len(text) < 120
    troubled = [line for line in lines if line.glance in _WORST]
    if troubled:
        worst = min(troubled, key=lambda line: _WORST.index(line.glance))
        assert text.startswith(worst.name)
        more = len(troubled) - 1
        assert text.endswith(f"(and {more} more)") == (more > 0)
        assert (worst.glance is Glance.TARGET_REFUSES) == ("target refuses" in text)
    elif lines and all(line.glance is Glance.UP for line in lines):
        assert text == ("All" if len(lines) > 1 else lines[0].name) + (
            f" {len(lines)} tunnels up" if len(lines) > 1 else " is up"
        )
    elif lines and any(line.glance is Glance.STANDBY for line in lines):
        # standing by is well: said calmly, counted apart from up
        assert "standing by" in text and "attention" not in text and "unreachable" not in text
    elif lines:
        assert "stopped" in text or text == "No tunnel is running"
    light = aggregate({line.name: line.glance for line in lines})
    well = (Glance.UP, Glance.STANDBY, Glance.STOPPED)
    assert (light is Light.GREEN) == (
        any(line.glance is Glance.UP for line in lines)
        and all(line.glance in well for line in lines)
    )
    assert (light is Light.BLUE) == (
        any(line.glance is Glance.STANDBY for line in lines)
        and all(line.glance in (Glance.STANDBY, Glance.STOPPED) for line in lines)
    )
    tip = tooltip(lines, NOW).splitlines()
    assert len(tip) == max(1, len(lines) + 1)
    assert tip[0] == f"Tunnelkeeper: {text}" or not lines


def ev(state: State, name: str = "db", detail: str = "d") -> TunnelEvent:
    return TunnelEvent(name, state, detail)


def test_the_notifier_is_still_here() -> None:
    # the tray and the shell build it from this module
    notifier = Notifier()
    assert notifier.every == NOTIFY_EVERY
    assert notifier.consider(ev(State.CONNECTED), now=1) == (
        Notice.CONNECTED,
        "db is connected.",
        "db",
    )
    lost = notifier.consider(ev(State.RETRYING, detail="no reply"), now=100)
    assert lost is not None and lost.kind is Notice.LOST and "no reply" in lost.text
    assert Notifier(enabled=False).consider(ev(State.ERROR), now=0) is None
