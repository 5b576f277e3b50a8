"""Notices: rate-limited per tunnel, held back and merged, never dropped (issue 16, item 2)."""

from __future__ import annotations

import itertools

from hypothesis import given, settings
from hypothesis import strategies as st

from app.core.events import State, TunnelEvent
from app.core.notices import (
    NOTICE_LIMIT,
    Message,
    Notice,
    Notifier,
    gui_words,
    without_countdown,
)
from app.core.units import duration
from app.errors import HostKeyChanged, HostKeyUnknown

C, R, G, E, S = State.CONNECTED, State.RETRYING, State.CONNECTING, State.ERROR, State.STOPPED
B = State.STANDBY  # another machine holds the port (issue 19): up, but not active here
UP = (C, B)
LOSS = "the connection to jump.example.com was lost (the connection was reset); retrying in 1 s."
CHANGED = str(HostKeyChanged("warehouse", "jump.example.com", "SHA256:old", "SHA256:new")) + ""


def ev(state: State, detail: str = "d", name: str = "warehouse") -> TunnelEvent:
    return TunnelEvent(name, state, detail)


def feed(notifier: Notifier, steps: list[tuple[float, State, str]]) -> list[tuple[float, Message]]:
    """Events at their times, with the tray's timer firing whenever a notice falls due."""
    return [(t, m) for t, _, m in feed_in_order(notifier, steps)]


def feed_in_order(
    notifier: Notifier, steps: list[tuple[float, State, str]]
) -> list[tuple[float, float, Message]]:
    """As ``feed``, each notice with its place among the events: i for one shown as event i
    came, i - 0.5 for one the timer showed before it."""
    shown: list[tuple[float, float, Message]] = []

    def flush(until: float, place: float) -> None:
        due = notifier.next_due()
        while due is not None and due <= until:
            shown.extend((due, place, m) for m in notifier.due(due))
            due = notifier.next_due()

    for index, (now, state, detail) in enumerate(steps):
        flush(now, index - 0.5)
        message = notifier.consider(ev(state, detail), now)
        if message is not None:
            shown.append((now, index, message))
    flush(float("inf"), len(steps))
    return shown


def test_the_first_connection_is_told_at_once() -> None:
    notifier = Notifier()
    assert notifier.consider(ev(G), 0) is None
    message = notifier.consider(ev(C), 1)
    assert message == Message(Notice.CONNECTED, "warehouse is connected.", "warehouse")
    assert message.title == "Tunnel connected" and not message.warning
    assert notifier.next_due() is None


def test_an_outage_shorter_than_the_limit_is_one_lost_and_restored_notice() -> None:
    notifier = Notifier()
    assert notifier.consider(ev(C), 0) is not None
    assert notifier.consider(ev(R, LOSS), 10) is None  # held back: told at 0
    assert notifier.next_due() == 60
    assert notifier.consider(ev(G), 11) is None
    assert notifier.consider(ev(C), 48) is None
    assert notifier.due(59.9) == []
    (message,) = notifier.due(60)
    assert message.kind is Notice.LOST_AND_RESTORED
    assert message.text == "warehouse lost its connection and is connected again (38 s down)."
    assert message.title == "Tunnel connection lost and restored"
    assert notifier.next_due() is None


def test_an_outage_that_begins_within_the_limit_is_told_late_not_dropped() -> None:
    # the report: an 80 s outage beginning within a minute of "connected" gave only "restored"
    shown = feed(Notifier(), [(0, G, ""), (1, C, ""), (20, R, LOSS), (21, G, ""), (100, C, "")])
    assert [(t, m.kind) for t, m in shown] == [
        (1, Notice.CONNECTED),
        (61, Notice.LOST),
        (121, Notice.RESTORED),
    ]
    lost, restored = shown[1][1], shown[2][1]
    assert lost.text == (
        "warehouse lost its connection: the connection to jump.example.com was lost "
        "(the connection was reset). Tunnelkeeper keeps trying."
    )
    assert lost.warning
    assert restored.text == "warehouse is connected again (1 min down)."


def test_no_notice_shows_a_stale_retry_countdown() -> None:
    notifier = Notifier()
    notifier.consider(ev(C), 0)
    message = notifier.consider(ev(R, "no reply for 30 s; retrying in 1 s."), 100)
    assert message is not None and "retrying in" not in message.text
    assert (
        message.text
        == "warehouse lost its connection: no reply for 30 s. Tunnelkeeper keeps trying."
    )
    needs = notifier.consider(ev(E, "the jumphost rejected key K? Trying again in 300 s."), 200)
    assert needs is not None and "Trying again" not in needs.text
    assert needs.text == "warehouse needs your attention: the jumphost rejected key K?"


def test_a_changed_host_key_is_never_swallowed_and_speaks_gui() -> None:
    notifier = Notifier()
    notifier.consider(ev(C), 0)
    assert notifier.consider(ev(R, LOSS), 5) is None
    assert notifier.consider(ev(G), 6) is None
    assert notifier.consider(ev(E, CHANGED), 7) is None  # within the limit: held, merged
    (message,) = notifier.due(60)
    assert message.kind is Notice.NEEDS_YOU and message.warning
    assert "has CHANGED: trusted SHA256:old, presented SHA256:new" in message.text
    assert "tunnelkeeper trust" not in message.text and "`" not in message.text
    assert message.text.endswith(
        "ask the vendor whether they changed it, and only then open Tunnelkeeper and choose "
        "Trust the new key… for warehouse."
    )


def test_a_need_repeated_while_waiting_is_told_once_a_new_one_again() -> None:
    notifier = Notifier()
    assert notifier.consider(ev(E, "host key changed"), 0) is not None
    for second in range(100, 1000, 100):  # the engine retries and meets the same need
        assert notifier.consider(ev(R, "lost"), second) is None
        assert notifier.consider(ev(E, "host key changed"), second + 1) is None
    assert notifier.next_due() is None
    other = notifier.consider(ev(E, "the key file is unreadable"), 2000)
    assert other is not None and other.kind is Notice.NEEDS_YOU
    assert notifier.consider(ev(C), 2100) is not None  # connected: the same need is news again
    assert notifier.consider(ev(E, "host key changed"), 2200) is not None


def test_a_need_that_came_and_went_is_said_in_passing() -> None:
    notifier = Notifier()
    notifier.consider(ev(C), 0)
    notifier.consider(ev(R, LOSS), 10)
    notifier.consider(ev(E, CHANGED), 12)
    notifier.consider(ev(C), 50)  # the user trusted the new key at once
    (message,) = notifier.due(60)
    assert message.kind is Notice.LOST_AND_RESTORED
    assert message.text.startswith(
        "warehouse lost its connection and is connected again (40 s down). In between it "
        "needed your attention: the host key of the jumphost jump.example.com has CHANGED"
    )
    assert "Trust the new key" not in message.text  # done already: no remedy offered


def test_needs_that_came_and_went_are_each_named() -> None:
    steps = [(0.0, C, ""), (1, E, "first need"), (2, C, ""), (3, E, "second need"), (4, C, "")]
    steps += [(5, E, "third need"), (6, C, "")]
    (_, message) = feed(Notifier(), steps)[-1]
    assert message.text == (
        "warehouse is connected again after 3 outages (3 s down in all). In between it "
        "needed your attention: first need. second need. (and 1 more)"
    )
    shown = feed(Notifier(), [(0.0, C, ""), (1, E, "first need"), (2, C, ""), (3, E, "now")])
    assert shown[-1][1].text == (
        "warehouse needs your attention: now. Before that it needed your attention: first need."
    )


def test_many_outages_in_one_window_are_counted() -> None:
    steps = [(0.0, C, "")]
    for start in (5, 20, 35):
        steps += [(start, R, LOSS), (start + 1, G, ""), (start + 5, C, "")]
    shown = feed(Notifier(), steps)
    assert [m.text for _, m in shown] == [
        "warehouse is connected.",
        "warehouse is connected again after 3 outages (15 s down in all).",
    ]
    assert shown[1][1].kind is Notice.LOST_AND_RESTORED


def test_losing_it_again_after_a_brief_return_says_so() -> None:
    shown = feed(Notifier(), [(0, C, ""), (70, R, LOSS), (80, C, ""), (90, R, "no reply")])
    assert [m.text for _, m in shown][1:] == [
        "warehouse lost its connection: the connection to jump.example.com was lost "
        "(the connection was reset). Tunnelkeeper keeps trying.",
        "warehouse was connected again briefly, then lost its connection again: no reply. "
        "Tunnelkeeper keeps trying.",
    ]
    shown = feed(
        Notifier(), [(0, C, ""), (70, R, "a"), (75, C, ""), (80, R, "b"), (85, C, ""), (90, R, "c")]
    )
    assert shown[-1][1].text == (
        "warehouse was connected again 2 times, but lost its connection each time; the last "
        "time: c. Tunnelkeeper keeps trying."
    )


def test_a_reconnect_the_user_asked_for_is_no_news() -> None:
    notifier = Notifier()
    notifier.consider(ev(C), 0)
    assert notifier.consider(ev(G, "reconnecting now, as asked."), 100) is None
    assert notifier.consider(ev(C), 101) is None
    assert notifier.next_due() is None


def test_a_stopped_tunnel_needs_no_more_news() -> None:
    notifier = Notifier()
    notifier.consider(ev(C), 0)
    notifier.consider(ev(R, LOSS), 10)
    notifier.consider(ev(S, "disconnected."), 20)
    assert notifier.next_due() is None and notifier.due(100) == []
    assert notifier.consider(ev(G), 200) is None
    assert notifier.consider(ev(C), 201) is None  # connected before: not "connected" again


def test_limits_are_per_tunnel() -> None:
    notifier = Notifier()
    assert notifier.consider(ev(C, name="a"), 0) is not None
    assert notifier.consider(ev(C, name="b"), 1) is not None
    notifier.consider(ev(R, "x", name="a"), 2)
    notifier.consider(ev(R, "y", name="b"), 30)
    assert notifier.next_due() == 60
    assert [m.tunnel for m in notifier.due(60)] == ["a"]
    assert notifier.next_due() == 61
    assert [m.tunnel for m in notifier.due(61)] == ["b"]


def test_flapping_gives_at_most_one_notice_per_minute() -> None:
    notifier = Notifier()
    times = []
    for second in range(0, 120, 2):  # connected / lost every 2 s for two minutes
        state = C if second % 4 == 0 else R
        if notifier.consider(ev(state), float(second)):
            times.append(second)
    assert times == [0, 60]
    (last,) = notifier.due(120)
    assert last.kind is Notice.LOST  # it ended down: the last notice says so
    assert "was connected again 14 times" in last.text


def test_turned_off_nothing_is_told_or_held() -> None:
    notifier = Notifier(enabled=False)
    assert notifier.consider(ev(C), 0) is None
    assert notifier.consider(ev(E), 100) is None
    assert notifier.next_due() is None
    notifier.enabled = True
    notifier.consider(ev(C), 200)
    notifier.consider(ev(R, "x"), 201)
    assert notifier.next_due() == 260
    notifier.enabled = False
    assert notifier.next_due() is None and notifier.due(300) == []
    notifier.enabled = True
    assert notifier.due(300) == []  # what was held while off is gone


def test_hostile_details_are_cut() -> None:
    notifier = Notifier()
    notifier.consider(ev(C), 0)
    message = notifier.consider(ev(E, "\x1b[31m" + "A" * 5000), 100)
    assert message is not None and len(message.text) <= NOTICE_LIMIT
    assert "\x1b" not in message.text


def test_words() -> None:
    assert duration(38.9) == "38 s" and duration(-1) == "0 s"
    assert duration(240) == "4 min" and duration(3 * 3600 + 120) == "3 h 2 min"
    assert duration(5 * 86400) == "5 days"
    assert without_countdown("x; retrying in 12 s.") == "x."
    assert without_countdown("x? Trying again in 300 s.") == "x?"
    assert (
        without_countdown(
            "the jumphost still holds port 5 from the previous connection; trying again in 2 s "
            "until it lets go."
        )
        == "the jumphost still holds port 5 from the previous connection."
    )
    assert without_countdown("nothing to cut") == "nothing to cut."
    first = str(HostKeyUnknown("db", "h", "SHA256:x"))
    fact, remedy = gui_words(first, "db")
    assert fact == "the jumphost h presented a host key (SHA256:x) that is not trusted."
    assert (
        remedy.startswith("once its fingerprint matches") and "Trust the new key… for db" in remedy
    )
    assert gui_words("plain trouble.", "db") == ("plain trouble.", "")


# --- many sequences -------------------------------------------------------------------------

NEEDS = ("need one", "need two")
HELD = "another machine holds port 58115 on the jumphost; standing by, asking again every 5 s."
step = st.tuples(
    st.floats(min_value=0.0, max_value=90.0, allow_nan=False),
    st.sampled_from([C, R, G, E, B]),
    st.sampled_from(NEEDS),
)


def _timeline(draws: list[tuple[float, State, str]]) -> list[tuple[float, State, str]]:
    now, out = 0.0, []
    for gap, state, detail in draws:
        now += gap
        out.append((now, state, detail if state is E else HELD if state is B else "lost it"))
    return out


def _conditions(steps: list[tuple[float, State, str]]) -> list[tuple[int, str, bool]]:
    """(event index, what it means, up before) for each event that is news, read plainly:
    "down" for the first trouble after having been up (connected or standing by), "need"
    for an error, "up" for the first time up or up after trouble (not a reconnect the user
    asked for), "role" for up in the other role than last time (standing by, taking over)."""
    out, previous, ever, troubled, role = [], None, False, False, None
    for index, (_, state, _) in enumerate(steps):
        if state is not previous or state is E:
            if state in UP:
                if troubled or not ever:
                    out.append((index, "up", ever))
                elif role is not state:
                    out.append((index, "role", ever))
                ever, troubled, role = True, False, state
            else:
                if state in (R, E) and ever and not troubled:
                    out.append((index, "down", ever))  # the first trouble since it was up
                    troubled = True
                if state is E:
                    out.append((index, "need", ever))
                    troubled = True
        previous = state
    return out


@settings(max_examples=300, deadline=None)
@given(st.lists(step, min_size=1, max_size=40))
def test_any_sequence_is_told_in_full_and_within_the_limit(
    draws: list[tuple[float, State, str]],
) -> None:
    steps = _timeline(draws)
    notifier = Notifier()
    shown = feed_in_order(notifier, steps)
    assert notifier.next_due() is None  # nothing left waiting
    times = [t for t, _, _ in shown]
    assert all(b - a >= notifier.every - 1e-6 for a, b in itertools.pairwise(times))
    assert all(len(m.text) <= NOTICE_LIMIT and m.tunnel == "warehouse" for _, _, m in shown)

    conditions = _conditions(steps)
    if not conditions:
        assert shown == []
        return
    # the last notice says how things stand now
    at, last, _ = conditions[-1]
    assert shown, "news was dropped"
    final, text = shown[-1][2].kind, shown[-1][2].text
    if last in ("up", "role") and steps[at][1] is B:
        assert final in (Notice.STANDBY, Notice.RESTORED, Notice.LOST_AND_RESTORED)
        assert "stands by: another machine holds port 58115 on the jumphost." in text
    elif last in ("up", "role"):
        assert final in (
            Notice.CONNECTED,
            Notice.RESTORED,
            Notice.LOST_AND_RESTORED,
            Notice.TOOK_OVER,
        )
        assert "stands by" not in text
    elif last == "need":
        assert final is Notice.NEEDS_YOU
    else:
        assert final in (Notice.LOST, Notice.NEEDS_YOU)
    for index, what, ever in conditions:
        later = [m for _, place, m in shown if place >= index]
        if what == "need" and index and _same_need(steps, index):
            continue  # the same need again, told already
        assert later, f"nothing told after {what} (event {index})"
        if what == "down":
            # a loss is never hidden: the next notice is not a plain "connected (again)",
            # nor a calm change of role
            calm = (Notice.CONNECTED, Notice.RESTORED, Notice.STANDBY, Notice.TOOK_OVER)
            assert later[0].kind not in calm
        if what in ("up", "role") and ever:
            assert later[0].kind is not Notice.CONNECTED


def _same_need(steps: list[tuple[float, State, str]], index: int) -> bool:
    """Event ``index`` (an error) repeats the need told since the last connection."""
    for _, state, detail in reversed(steps[:index]):
        if state in UP:
            return False
        if state is E:
            return detail == steps[index][2]
    return False


@settings(max_examples=200, deadline=None)
@given(st.lists(step, min_size=1, max_size=40))
def test_every_need_is_told(draws: list[tuple[float, State, str]]) -> None:
    steps = _timeline(draws)
    shown = feed(Notifier(), steps)
    # the newest need before each connection (and at the end) reaches the user
    need: tuple[float, str] | None = None
    for now, state, detail in [*steps, (float("inf"), C, "")]:
        if state is E and (need is None or need[1] != detail):
            need = (now, detail)  # (a need repeated is the same need, told when it began)
        elif state in UP and need is not None:
            at, words = need
            assert any(words in m.text for t, m in shown if t >= at), f"{words!r} at {at}"
            need = None


@settings(max_examples=100, deadline=None)
@given(st.lists(st.tuples(st.sampled_from(["a", "b", "c"]), step), min_size=1, max_size=60))
def test_tunnels_are_limited_apart(draws: list[tuple[str, tuple[float, State, str]]]) -> None:
    notifier = Notifier()
    shown: list[tuple[float, Message]] = []
    now = 0.0
    for name, (gap, state, detail) in draws:
        now += gap / 3
        due = notifier.next_due()
        while due is not None and due <= now:
            shown.extend((due, m) for m in notifier.due(due))
            due = notifier.next_due()
        message = notifier.consider(ev(state, detail, name), now)
        if message is not None:
            shown.append((now, message))
    for name in "abc":
        times = [t for t, m in shown if m.tunnel == name]
        assert all(b - a >= notifier.every - 1e-6 for a, b in itertools.pairwise(times))
