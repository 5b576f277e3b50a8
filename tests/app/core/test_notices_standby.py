"""Notices of active / standby (issue 19): a calm change of role, never an outage."""

from __future__ import annotations

import itertools

from hypothesis import given, settings
from hypothesis import strategies as st

from app.core.events import State
from app.core.notices import Message, Notice, Notifier, standby_fact
from tests.app.core.test_notices import LOSS, ev, feed

C, R, G, B, S = State.CONNECTED, State.RETRYING, State.CONNECTING, State.STANDBY, State.STOPPED
E = State.ERROR
HELD = "another machine holds port 58115 on the jumphost; standing by, asking again every 5 s."
FENCED = (
    "standing by: the target db:5432 does not answer from this machine (3 probes in 30 s); "
    "the port was released so another machine can take over."
)
STANDS_BY = "warehouse stands by: another machine holds port 58115 on the jumphost."
TOOK_OVER = "warehouse: this machine took over; the vendor's connections come here now."


def test_another_machine_taking_over_is_told_calmly() -> None:
    notifier = Notifier()
    assert notifier.consider(ev(C, "listening on port 58115"), 0) is not None
    message = notifier.consider(ev(B, HELD), 100)
    assert message == Message(Notice.STANDBY, STANDS_BY, "warehouse")
    assert message.title == "Tunnel standing by" and not message.warning
    assert "lost" not in message.text and "attention" not in message.text


def test_taking_over_is_told_calmly() -> None:
    notifier = Notifier()
    notifier.consider(ev(B, HELD), 0)
    message = notifier.consider(ev(C, "took over port 58115 on the jumphost"), 100)
    assert message == Message(Notice.TOOK_OVER, TOOK_OVER, "warehouse")
    assert message.title == "Tunnel active on this machine" and not message.warning


def test_standing_by_from_the_start_is_told_at_once() -> None:
    notifier = Notifier()
    assert notifier.consider(ev(G, "connecting…"), 0) is None
    message = notifier.consider(ev(B, HELD), 1)
    assert message is not None and message.kind is Notice.STANDBY
    assert message.text == STANDS_BY
    assert notifier.consider(ev(B, HELD), 2) is None  # the same state again: no news


def test_a_machine_that_lets_go_says_why() -> None:
    notifier = Notifier()
    notifier.consider(ev(C), 0)
    message = notifier.consider(ev(B, FENCED), 100)
    assert message is not None and message.kind is Notice.STANDBY and not message.warning
    assert message.text == (
        "warehouse stands by: the target db:5432 does not answer from this machine "
        "(3 probes in 30 s); the port was released so another machine can take over."
    )


def test_changes_of_role_are_rate_limited_and_the_newest_is_told() -> None:
    shown = feed(Notifier(), [(0, C, ""), (10, B, HELD), (20, C, ""), (30, B, HELD)])
    assert [(t, m.kind, m.text) for t, m in shown] == [
        (0, Notice.CONNECTED, "warehouse is connected."),
        (60, Notice.STANDBY, STANDS_BY),
    ]
    shown = feed(Notifier(), [(0, B, HELD), (10, C, ""), (20, B, HELD), (30, C, "")])
    assert [(t, m.kind) for t, m in shown] == [(0, Notice.STANDBY), (60, Notice.TOOK_OVER)]


def test_roles_flapping_give_at_most_one_notice_per_minute() -> None:
    steps = [(float(second), C if second % 4 else B, HELD) for second in range(0, 300, 2)]
    shown = feed(Notifier(), steps)
    times = [t for t, _ in shown]
    assert all(b - a >= 60 for a, b in itertools.pairwise(times))
    assert not any(m.warning for _, m in shown)
    assert shown[-1][1].kind is Notice.TOOK_OVER  # it ended active here: the last says so


def test_losing_the_jumphost_while_standing_by_is_a_loss_and_coming_back_stands_by() -> None:
    shown = feed(Notifier(), [(0, B, HELD), (100, R, LOSS), (130, G, ""), (140, B, HELD)])
    lost, back = shown[1][1], shown[2][1]
    assert lost.kind is Notice.LOST and lost.warning
    assert lost.text.startswith("warehouse lost its connection: the connection to jump.")
    assert back.kind is Notice.RESTORED and not back.warning
    assert back.text == (
        "warehouse is connected again (40 s down). It stands by: another machine holds "
        "port 58115 on the jumphost."
    )
    # within one minute: one notice with the outage and the role it came back in
    (_, merged) = feed(Notifier(), [(0, C, ""), (10, R, LOSS), (20, B, HELD)])[1]
    assert merged.kind is Notice.LOST_AND_RESTORED and not merged.warning
    assert merged.text == (
        "warehouse lost its connection and is connected again (10 s down). It stands by: "
        "another machine holds port 58115 on the jumphost."
    )
    steps = [(0, B, HELD), (10, R, LOSS), (25, G, ""), (30, C, "")]
    (_, last) = feed(Notifier(), steps)[-1]
    assert last.kind is Notice.LOST_AND_RESTORED
    assert last.text == (
        "warehouse lost its connection and is connected again (20 s down). This machine "
        "took over; the vendor's connections come here now."
    )


def test_a_reconnect_the_user_asked_for_is_news_only_in_another_role() -> None:
    notifier = Notifier()
    notifier.consider(ev(B, HELD), 0)
    assert notifier.consider(ev(G, "reconnecting now, as asked."), 100) is None
    assert notifier.consider(ev(B, HELD), 101) is None
    assert notifier.consider(ev(G, "reconnecting now, as asked."), 200) is None
    message = notifier.consider(ev(C), 201)
    assert message is not None and message.kind is Notice.TOOK_OVER
    notifier.consider(ev(S, "disconnected."), 300)
    assert notifier.consider(ev(G), 400) is None
    message = notifier.consider(ev(B, HELD), 401)  # started again: the other machine has it
    assert message is not None and message.text == STANDS_BY


def test_a_role_held_back_when_stopped_is_told_at_the_next_start() -> None:
    notifier = Notifier()
    assert notifier.consider(ev(C), 0) is not None
    assert notifier.consider(ev(B, HELD), 10) is None  # held back
    assert notifier.consider(ev(S, "disconnected."), 20) is None
    assert notifier.next_due() is None  # stopped: what was held is dropped
    assert notifier.consider(ev(B, HELD), 100) == Message(Notice.STANDBY, STANDS_BY, "warehouse")
    assert notifier.consider(ev(S, "disconnected."), 200) is None
    assert notifier.consider(ev(B, HELD), 300) is None  # told already: no news


def test_a_need_met_while_standing_by_is_said_in_passing() -> None:
    steps = [(0, B, HELD), (100, C, ""), (110, E, "the key was refused"), (120, B, HELD)]
    (_, last) = feed(Notifier(), steps)[-1]
    assert last.kind is Notice.LOST_AND_RESTORED and not last.warning
    assert last.text == (
        "warehouse lost its connection and is connected again (10 s down). It stands by: "
        "another machine holds port 58115 on the jumphost. In between it needed your "
        "attention: the key was refused."
    )


def test_standby_facts() -> None:
    assert standby_fact(HELD) == "another machine holds port 58115 on the jumphost."
    assert standby_fact(FENCED).startswith("the target db:5432 does not answer")
    assert standby_fact("standing by.") == "another machine is active."
    assert standby_fact("") == "another machine is active."
    assert standby_fact("Standing by; the port is held") == "the port is held."
    assert standby_fact("held elsewhere; retrying in 3 s.") == "held elsewhere."
    # the engine's words when an active machine lets go (app/engine/standby.py)
    released = (
        "released port 58115: the target db:5432 did not answer 3 probes in 30 s (connection "
        "refused); a machine that reaches it can take over. Standing by until it answers."
    )
    assert standby_fact(released) == (
        "released port 58115: the target db:5432 did not answer 3 probes in 30 s (connection "
        "refused); a machine that reaches it can take over."
    )


calm = st.lists(
    st.tuples(
        st.floats(min_value=0.0, max_value=90.0, allow_nan=False),
        st.sampled_from([C, B, G, S]),
        st.sampled_from([HELD, FENCED, "took over port 58115", ""]),
    ),
    min_size=1,
    max_size=40,
)


@settings(max_examples=200, deadline=None)
@given(calm)
def test_standing_by_is_never_an_outage(draws: list[tuple[float, State, str]]) -> None:
    now, steps = 0.0, []
    for gap, state, detail in draws:
        now += gap
        steps.append((now, state, detail))
    shown = feed(Notifier(), steps)
    calm_kinds = {Notice.CONNECTED, Notice.STANDBY, Notice.TOOK_OVER}
    assert all(m.kind in calm_kinds and not m.warning for _, m in shown)
    assert not any("lost" in m.text or "attention" in m.text for _, m in shown)
    times = [t for t, _ in shown]
    assert all(b - a >= 60 - 1e-6 for a, b in itertools.pairwise(times))
    # the last notice names the role the tunnel was last up in (unless it was stopped
    # since: the news held back then is dropped, and the status window shows it off)
    ups = [state for _, state, _ in steps if state in (C, B, S)]
    if not [state for state in ups if state is not S]:
        assert shown == []
    elif ups[-1] is B:
        assert shown[-1][1].kind is Notice.STANDBY
    elif ups[-1] is C:
        assert shown[-1][1].kind in (Notice.CONNECTED, Notice.TOOK_OVER)
