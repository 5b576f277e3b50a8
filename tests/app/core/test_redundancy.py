"""Active / standby decisions: when to probe, ask, give the port up; with a clock of our own."""

from __future__ import annotations

import random

from hypothesis import given, settings
from hypothesis import strategies as st

from app.core.redundancy import FENCE_PROBES, JITTER, STANDBY_EVERY, Redundancy, Role, Step


def plan(fence_after: float = 30.0) -> Redundancy:
    return Redundancy(fence_after, random.Random(1))


def test_first_the_target_is_probed_then_the_port_asked_for() -> None:
    p = plan()
    assert p.step(0.0) is Step.PROBE
    assert p.probed(0.0, True) is False
    assert p.role is Role.HELD and p.step(0.0) is Step.ASK
    p.asked(0.1, True)
    assert p.role is Role.ACTIVE and not p.probe_after_grant  # the probe was fresh
    assert p.step(0.2) is Step.WAIT


def test_a_refused_ask_stands_by_and_asks_again_after_a_jittered_pause() -> None:
    p = plan()
    p.probed(0.0, True)
    p.asked(0.0, False)
    assert p.role is Role.HELD
    low, high = STANDBY_EVERY * (1 - JITTER), STANDBY_EVERY * (1 + JITTER)
    assert low <= p.due <= high
    assert p.step(p.due - 0.01) is Step.WAIT and p.step(p.due) is Step.ASK


def test_a_standby_does_not_probe_while_another_machine_serves() -> None:
    p = plan()
    p.probed(0.0, True)
    now = 0.0
    for _ in range(500):  # 1,000 s standing by
        p.asked(now, False)
        now = p.due
        assert p.step(now) is Step.ASK


def test_a_grant_after_standing_by_is_kept_only_if_the_target_answers() -> None:
    p = plan()
    p.probed(0.0, True)
    p.asked(0.0, False)
    p.asked(100.0, True)
    assert p.role is Role.ACTIVE and p.step(100.0) is Step.PROBE
    assert p.probed(100.5, False) is True  # give it back at once
    assert p.role is Role.FENCED


def test_an_unreachable_target_at_start_never_asks() -> None:
    p = plan(fence_after=3)
    now = 0.0
    for _ in range(100):
        assert p.step(now) is Step.PROBE
        assert p.probed(now, False) is False
        assert p.role is Role.FENCED
        now = p.due
    assert p.probed(now, True) is False and p.step(now) is Step.ASK


def test_an_active_machine_fences_after_three_failed_probes_in_a_row() -> None:
    p = plan(fence_after=30)
    p.probed(0.0, True)
    p.asked(0.0, True)
    now = p.due
    assert now == 10.0 and p.step(now) is Step.PROBE
    assert p.probed(now, False) is False
    assert p.probed(now + 10, True) is False  # an answer in between starts again
    results = [p.probed(now + 10 * i, False) for i in range(2, 2 + FENCE_PROBES)]
    assert results == [False] * (FENCE_PROBES - 1) + [True]
    assert p.role is Role.FENCED


def test_traffic_that_reached_the_target_stands_in_for_probes() -> None:
    p = plan(fence_after=30)
    p.probed(0.0, True)
    p.asked(0.0, True)
    assert p.step(10.0, target_reached_at=9.0) is Step.WAIT
    assert p.due == 19.0
    assert p.step(19.0, target_reached_at=9.0) is Step.PROBE


@settings(max_examples=200, deadline=None)
@given(st.lists(st.tuples(st.booleans(), st.booleans()), max_size=60), st.integers(3, 120))
def test_an_active_machine_never_keeps_a_port_its_target_failed_on_n_times(
    outcomes: list[tuple[bool, bool]], fence_after: int
) -> None:
    """Whatever the jumphost and the target answer: a machine is ACTIVE only after the
    jumphost granted it, and never after FENCE_PROBES failed probes in a row (or one right
    after a grant that followed standing by)."""
    p = plan(fence_after)
    now, granted_ever, misses = 0.0, False, 0
    for answered, grant in outcomes:
        step = p.step(now)
        if step is Step.PROBE:
            fresh = p.probe_after_grant
            release = p.probed(now, answered)
            misses = 0 if answered else misses + 1
            if release:
                assert not answered and (fresh or misses >= FENCE_PROBES)
        elif step is Step.ASK:
            p.asked(now, grant)
            granted_ever |= grant
            misses = 0 if grant else misses
        if p.role is Role.ACTIVE:
            assert granted_ever and misses < FENCE_PROBES
        now = max(now + 0.5, p.due)
