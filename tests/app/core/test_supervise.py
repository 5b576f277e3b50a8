"""The supervision rules, without any network."""

from __future__ import annotations

import random

import pytest
from hypothesis import given
from hypothesis import strategies as st

from app.core.backoff import Backoff
from app.core.events import State
from app.core.supervise import (
    Failure,
    Liveness,
    Policy,
    Probe,
    RecentCount,
    clock_jumped,
    was_frozen,
)


def policy() -> Policy:
    return Policy(Backoff(rng=random.Random(7)))


class TestLiveness:
    def test_quiet_link_waits_until_the_interval(self) -> None:
        live = Liveness(interval=10, count_max=1)
        assert live.check(now=103, last_rx=100, probing=False) == (Probe.WAIT, 7)

    def test_probe_after_interval_of_silence(self) -> None:
        live = Liveness(interval=10, count_max=1)
        assert live.check(now=110, last_rx=100, probing=False)[0] is Probe.SEND

    def test_outstanding_probe_waits_for_the_loss_deadline(self) -> None:
        live = Liveness(interval=10, count_max=1)
        assert live.check(now=112, last_rx=100, probing=True) == (Probe.WAIT, 8)

    def test_lost_after_count_max_plus_one_intervals(self) -> None:
        live = Liveness(interval=10, count_max=3)
        assert live.lost_after == 40
        assert live.check(now=139.9, last_rx=100, probing=True)[0] is Probe.WAIT
        assert live.check(now=140, last_rx=100, probing=True)[0] is Probe.LOST

    @given(
        interval=st.integers(1, 600),
        count_max=st.integers(1, 10),
        silence=st.floats(0, 10_000, allow_nan=False),
        probing=st.booleans(),
    )
    def test_never_lost_before_the_bound_and_always_after(
        self, interval: int, count_max: int, silence: float, probing: bool
    ) -> None:
        live = Liveness(interval, count_max)
        action, wait = live.check(now=silence, last_rx=0.0, probing=probing)
        bound = (count_max + 1) * interval
        assert (action is Probe.LOST) == (silence >= bound)
        assert wait >= 0
        if action is Probe.WAIT:
            # the next check is due no later than the bound: detection is never late
            assert silence + wait <= bound


class TestPolicy:
    def test_network_trouble_retries_with_growing_backoff(self) -> None:
        p = policy()
        delays = [p.failed(Failure.NETWORK, "unreachable", now=0).delay for _ in range(8)]
        assert all(d is not None for d in delays)
        ceilings = [1, 2, 4, 8, 16, 32, 60, 60]
        for delay, ceiling in zip(delays, ceilings, strict=True):
            assert delay is not None and 1 <= delay <= ceiling

    def test_network_trouble_is_retrying_with_the_reason(self) -> None:
        decision = policy().failed(Failure.NETWORK, "cannot reach the jumphost.", now=0)
        assert decision.state is State.RETRYING
        assert decision.detail.startswith("cannot reach the jumphost; retrying in ")

    def test_auth_rejected_is_an_error_retried_at_the_cap(self) -> None:
        decision = policy().failed(Failure.AUTH_REJECTED, "the jumphost rejected key X", now=0)
        assert decision.state is State.ERROR
        assert decision.delay == 60
        assert "rejected key X" in decision.detail

    def test_host_key_trouble_waits_for_the_user(self) -> None:
        decision = policy().failed(Failure.HOST_KEY, "the host key has CHANGED", now=0)
        assert decision.state is State.ERROR
        assert decision.delay is None

    def test_forward_refused_before_any_grant_is_an_error(self) -> None:
        decision = policy().failed(Failure.FORWARD_REFUSED, "refused", now=0, port=5000)
        assert decision.state is State.ERROR
        assert decision.delay is not None

    def test_forward_refused_after_a_reconnect_is_a_stale_listener(self) -> None:
        p = policy()
        p.connected(now=0)
        p.failed(Failure.NETWORK, "lost", now=5)
        decision = p.failed(Failure.FORWARD_REFUSED, "refused", now=6, port=58115)
        assert decision.state is State.RETRYING
        assert "still holds port 58115 from the previous connection" in decision.detail
        assert "until it lets go" in decision.detail

    def test_backoff_resets_after_a_stable_minute(self) -> None:
        p = policy()
        for _ in range(6):
            p.failed(Failure.NETWORK, "x", now=0)
        assert p.backoff.ceiling() == 60
        p.connected(now=100)
        p.failed(Failure.NETWORK, "lost", now=161)
        assert p.backoff.attempts == 1  # reset, then this failure counted

    def test_backoff_keeps_growing_when_the_link_flaps(self) -> None:
        p = policy()
        for _ in range(4):
            p.failed(Failure.NETWORK, "x", now=0)
        p.connected(now=100)
        p.failed(Failure.NETWORK, "lost", now=110)
        assert p.backoff.attempts == 5


def test_clock_jump_detection() -> None:
    assert not clock_jumped(1000.0, 1000.5)
    assert clock_jumped(1000.0, 1600.0)  # slept ten minutes
    assert clock_jumped(1000.0, 900.0)  # clock set back


def test_freeze_detection() -> None:
    assert not was_frozen(expected=1.0, elapsed=1.2)
    assert was_frozen(expected=1.0, elapsed=30.0)


def test_recent_count_forgets_after_the_window() -> None:
    window = RecentCount(window=60)
    assert window.add(0) == 1
    assert window.add(10) == 2
    assert window.add(30) == 3
    assert window.count(65) == 2
    assert window.count(200) == 0


@pytest.mark.parametrize("failure", list(Failure))
def test_every_failure_has_a_sentence(failure: Failure) -> None:
    decision = policy().failed(failure, "something specific happened", now=0, port=1)
    assert decision.detail
    assert decision.state in (State.ERROR, State.RETRYING)
