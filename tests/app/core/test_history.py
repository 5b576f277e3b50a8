"""Availability strip, outages and throughput from recorded transitions and counters."""

from __future__ import annotations

import math
from itertools import pairwise

from hypothesis import given
from hypothesis import strategies as st

from app.core.events import State
from app.core.history import (
    GRACE,
    Kind,
    Sample,
    Segment,
    Transition,
    availability,
    cells,
    duration_text,
    kind_of,
    outages,
    rate_text,
    segments,
    throughput,
)

T0 = 1_700_000_000.0


def step(at: float, state: State, detail: str = "", warning: bool = False) -> Transition:
    return Transition(T0 + at, state, warning, detail)


def test_kinds_of_time() -> None:
    assert kind_of(State.CONNECTED, False) is Kind.UP
    assert kind_of(State.CONNECTED, True) is Kind.TARGET_REFUSING
    assert kind_of(State.CONNECTING, False) is Kind.RETRYING
    assert kind_of(State.RETRYING, True) is Kind.RETRYING  # a warning means nothing when down
    assert kind_of(State.ERROR, False) is Kind.DOWN
    assert kind_of(State.STOPPED, False) is Kind.STOPPED


def test_a_day_with_an_outage_and_a_refusing_target() -> None:
    history = [
        step(100, State.CONNECTING, "connecting to jump:22 as t."),
        step(101, State.CONNECTED, "listening"),
        step(1000, State.RETRYING, "connection lost: no reply to keepalive"),
        step(1001, State.CONNECTING, "connecting to jump:22 as t."),
        step(1002, State.RETRYING, "the jumphost is unreachable"),
        step(1080, State.CONNECTED, "listening"),
        step(2000, State.CONNECTED, "target refused 3 connections", warning=True),
        step(2500, State.CONNECTED, "listening"),
        step(3000, State.STOPPED, "the tunnel is stopped."),
    ]
    parts = segments(history, T0, T0 + 4000)
    shape = [(p.kind, p.start - T0, p.end - T0) for p in parts]
    assert shape == [
        (Kind.STOPPED, 0, 101),  # the first try of a start is not an outage
        (Kind.UP, 101, 1000),
        (Kind.RETRYING, 1000, 1080),  # the retries of one outage are one segment
        (Kind.UP, 1080, 2000),
        (Kind.TARGET_REFUSING, 2000, 2500),
        (Kind.UP, 2500, 3000),
        (Kind.STOPPED, 3000, 4000),
    ]
    found = outages(parts)
    assert [(o.start - T0, o.seconds, o.cause) for o in found] == [
        (1000, 80, "connection lost: no reply to keepalive"),  # not "connecting to …"
        (2000, 500, "target refused 3 connections"),
    ]
    up = (1000 - 101) + (2000 - 1080) + (3000 - 2500)
    assert availability(parts) == 100 * up / 2899


def test_link_trouble_and_target_trouble_are_separate_outages() -> None:
    history = [
        step(0, State.CONNECTED, "up", warning=True),
        step(50, State.RETRYING, "lost"),
        step(60, State.ERROR, "host key changed"),
    ]
    found = outages(segments(history, T0, T0 + 100))
    assert [(o.seconds, o.cause, o.ongoing) for o in found] == [
        (50, "up", False),
        (50, "lost", True),  # retrying, then down: one outage, still going at the end
    ]


def test_a_state_nobody_vouches_for_ends_after_the_grace() -> None:
    """A host that crashed while connected: "up" ends a little after its last word."""
    crashed = Transition(T0, State.CONNECTED, until=T0 + 600)
    parts = segments([crashed, step(7200, State.CONNECTING, "again")], T0, T0 + 7300)
    assert [(p.kind, p.end - T0) for p in parts] == [
        (Kind.UP, 600 + GRACE),
        (Kind.STOPPED, 7300),  # started again at 7200: its first try is not an outage
    ]


def test_a_start_that_fails_begins_the_outage_at_the_failure() -> None:
    history = [
        step(0, State.CONNECTING, "connecting to jump:22 as t."),
        step(5, State.RETRYING, "the jumphost is unreachable"),
        step(30, State.CONNECTING, "connecting to jump:22 as t."),
        step(31, State.CONNECTED, "listening"),
        step(90, State.CONNECTING, "reconnecting now, as asked."),
        step(91, State.CONNECTED, "listening"),
    ]
    parts = segments(history, T0, T0 + 100)
    assert [(p.kind, p.start - T0, p.end - T0) for p in parts] == [
        (Kind.STOPPED, 0, 5),
        (Kind.RETRYING, 5, 31),
        (Kind.UP, 31, 90),
        (Kind.RETRYING, 90, 91),  # a reconnect drops the vendor's connections: counted
        (Kind.UP, 91, 100),
    ]
    assert [o.cause for o in outages(parts)] == [
        "the jumphost is unreachable",
        "reconnecting now, as asked.",
    ]


def test_nothing_recorded_is_stopped_and_has_no_availability() -> None:
    parts = segments([], T0, T0 + 10)
    assert parts == [Segment(Kind.STOPPED, T0, T0 + 10)]
    assert availability(parts) is None
    assert outages(parts) == []
    assert segments([], T0, T0) == []


def test_cells_show_short_trouble_but_ignore_a_blip() -> None:
    parts = [
        Segment(Kind.UP, 0, 1800 - 120),
        Segment(Kind.RETRYING, 1800 - 120, 1800),  # two minutes lost in the first cell
        Segment(Kind.UP, 1800, 3600 - 1),
        Segment(Kind.RETRYING, 3600 - 1, 3600),  # one second: a reconnect
        Segment(Kind.STOPPED, 3600, 5400),
    ]
    assert cells(parts, 0, 5400, 3) == [Kind.RETRYING, Kind.UP, Kind.STOPPED]


def test_throughput_with_a_counter_reset() -> None:
    samples = [
        Sample(T0 + 0, 0, 0),
        Sample(T0 + 10, 6000, 600),
        Sample(T0 + 20, 12000, 1200),
        Sample(T0 + 30, 3000, 300),  # restarted: 3000 bytes since
        Sample(T0 + 100, 9000, 900),  # 70 s later: the tunnel was down, not joined
    ]
    rates = throughput(samples, T0, T0 + 120, bucket=30)
    assert [(r.at - T0, r.to_target_bps, r.to_vendor_bps) for r in rates] == [
        (0, 500.0, 50.0),  # 6000 + 6000 + 3000 bytes in 30 s
        (30, 0.0, 0.0),
        (60, 0.0, 0.0),
        (90, 0.0, 0.0),
    ]


def test_words_for_lengths_and_rates() -> None:
    assert duration_text(38.9) == "38 s"
    assert duration_text(250) == "4 min 10 s"
    assert duration_text(7500) == "2 h 5 min"
    assert duration_text(3 * 86400 + 7200) == "3 d 2 h"
    assert rate_text(-5) == "0 B/s"
    assert rate_text(12.3 * 1024) == "12.3 KiB/s"


STATES = st.sampled_from(list(State))
TRANSITIONS = st.lists(
    st.builds(
        Transition,
        at=st.floats(T0 - 1e5, T0 + 1e5, allow_nan=False),
        state=STATES,
        warning=st.booleans(),
        detail=st.text(max_size=5),
        until=st.none() | st.floats(T0 - 1e5, T0 + 2e5, allow_nan=False),
    ),
    max_size=30,
)


@given(TRANSITIONS, st.floats(T0 - 5e4, T0 + 5e4), st.floats(1e-3, 2e5))
def test_segments_cover_the_window_exactly(
    history: list[Transition], start: float, length: float
) -> None:
    end = start + length
    parts = segments(history, start, end)
    assert parts[0].start == start and parts[-1].end == end
    for a, b in pairwise(parts):
        assert a.end == b.start  # no gap, no overlap
        assert a.kind is not b.kind  # neighbours merged
    assert all(p.end > p.start for p in parts)
    assert math.isclose(sum(p.seconds for p in parts), length, rel_tol=1e-9, abs_tol=1e-6)
    share = availability(parts)
    assert share is None or 0 <= share <= 100
    for outage in outages(parts):
        assert outage.seconds > 0 and start <= outage.start < end
    assert len(cells(parts, start, end, 48)) == 48


SAMPLES = st.lists(
    st.builds(
        Sample,
        at=st.floats(T0, T0 + 4000, allow_nan=False),
        to_target=st.integers(-10, 10**12),
        to_vendor=st.integers(-10, 10**12),
    ),
    max_size=60,
)


@given(SAMPLES, st.floats(1, 600))
def test_rates_are_never_negative(samples: list[Sample], bucket: float) -> None:
    rates = throughput(samples, T0 + 300, T0 + 3900, bucket)
    assert rates[0].at == T0 + 300 and rates[-1].at < T0 + 3900 <= rates[-1].at + bucket + 1e-6
    assert all(r.to_target_bps >= 0 and r.to_vendor_bps >= 0 for r in rates)
