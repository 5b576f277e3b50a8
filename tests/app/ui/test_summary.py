"""Tray colour, tooltip and notification rules."""

from __future__ import annotations

from app.core.events import State, TunnelEvent
from app.ui.summary import Light, Notice, Notifier, TunnelLine, aggregate, tooltip


def test_aggregate_colours() -> None:
    assert aggregate({}) is Light.GREY
    assert aggregate({"a": State.STOPPED}) is Light.GREY
    assert aggregate({"a": State.CONNECTED, "b": State.STOPPED}) is Light.GREEN
    assert aggregate({"a": State.CONNECTED, "b": State.RETRYING}) is Light.AMBER
    assert aggregate({"a": State.CONNECTING}) is Light.AMBER
    assert aggregate({"a": State.RETRYING, "b": State.ERROR}) is Light.RED


def test_tooltip_lines() -> None:
    text = tooltip(
        [
            TunnelLine("db", State.CONNECTED, since=1000.0),
            TunnelLine("files", State.RETRYING, since=0.0, next_retry_at=1000.0 + 12 * 3600 + 12),
        ],
        now=1000.0 + 3 * 3600 + 120,
    )
    assert text.splitlines() == [
        "Tunnelkeeper",
        "db: connected, up 3 h 2 min",
        "files: retrying, next try in 8 h 58 min",
    ]
    assert tooltip([], now=0) == "Tunnelkeeper: no tunnels yet"


def ev(state: State, name: str = "db", detail: str = "d") -> TunnelEvent:
    return TunnelEvent(name, state, detail)


def test_notices_connected_lost_restored_and_errors() -> None:
    notifier = Notifier()
    assert notifier.consider(ev(State.CONNECTING), now=0) is None
    assert notifier.consider(ev(State.CONNECTED), now=1) == (Notice.CONNECTED, "db is connected.")
    assert notifier.consider(ev(State.CONNECTED, detail="warning"), now=2) is None
    lost = notifier.consider(ev(State.RETRYING, detail="no reply"), now=100)
    assert lost is not None and lost[0] is Notice.LOST and "no reply" in lost[1]
    assert notifier.consider(ev(State.CONNECTING), now=101) is None
    restored = notifier.consider(ev(State.CONNECTED), now=200)
    assert restored == (Notice.RESTORED, "db is connected again.")
    needs = notifier.consider(ev(State.ERROR, detail="the jumphost rejected key"), now=300)
    assert needs is not None and needs[0] is Notice.NEEDS_YOU


def test_flapping_gives_at_most_one_notice_per_minute() -> None:
    notifier = Notifier()
    notices = []
    for second in range(0, 120, 2):  # connected / lost every 2 s for two minutes
        state = State.CONNECTED if second % 4 == 0 else State.RETRYING
        notice = notifier.consider(ev(state), now=float(second))
        if notice:
            notices.append(second)
    assert notices == [0, 60]  # one per minute at most
    other = notifier.consider(ev(State.CONNECTED, name="files"), now=61.0)
    assert other is not None  # limits are per tunnel


def test_notifications_can_be_turned_off() -> None:
    notifier = Notifier(enabled=False)
    assert notifier.consider(ev(State.CONNECTED), now=0) is None
    assert notifier.consider(ev(State.ERROR), now=100) is None
