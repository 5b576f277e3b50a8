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
    TargetWarnings,
    clock_jumped,
    failure_of,
    was_frozen,
)
from app.errors import (
    AuthRejected,
    ConnectionLost,
    CorruptConfigFile,
    ForwardRefused,
    HandshakeFailed,
    HostKeyChanged,
    HostKeyRevoked,
    HostKeyUnknown,
    JumphostUnreachable,
    TunnelkeeperError,
    UnknownProfile,
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

    def test_what_needs_the_user_waits_for_them_offering_the_action(self) -> None:
        decision = policy().failed(
            Failure.NEEDS_USER, "the host key has CHANGED", now=0, action="trust"
        )
        assert decision.state is State.ERROR
        assert decision.delay is None
        assert decision.action == "trust"

    def test_the_action_is_offered_only_when_waiting_for_the_user(self) -> None:
        decision = policy().failed(Failure.NETWORK, "lost", now=0, action="trust")
        assert decision.action is None

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


def test_target_warnings_say_the_first_at_once_then_at_most_one_per_interval() -> None:
    warnings = TargetWarnings(every=5.0)
    assert warnings.refused(100.0) == (1, True)
    assert warnings.refused(101.0) == (2, False)
    assert warnings.refused(104.9) == (3, False)
    assert warnings.refused(105.0) == (4, True)
    assert warnings.refused(300.0) == (1, True)  # the minute before is forgotten


@pytest.mark.parametrize(
    ("error", "failure"),
    [
        (HostKeyUnknown("t1", "h:22", "SHA256:x"), Failure.NEEDS_USER),
        (HostKeyChanged("t1", "h:22", "SHA256:a", "SHA256:b"), Failure.NEEDS_USER),
        (HostKeyRevoked("t1", "h:22", "SHA256:x"), Failure.NEEDS_USER),
        (CorruptConfigFile("/k", "not UTF-8"), Failure.NEEDS_USER),
        (UnknownProfile("t1"), Failure.NEEDS_USER),  # stops: a tunnel waits in ERROR
        (TunnelkeeperError("odd"), Failure.NEEDS_USER),
        (AuthRejected("u", "h:22", "SHA256:x"), Failure.AUTH_REJECTED),
        (ForwardRefused("*", 5000, "h:22"), Failure.FORWARD_REFUSED),
        (JumphostUnreachable("h", 22, "refused"), Failure.UNREACHABLE),
        (HandshakeFailed("h:22", "no answer"), Failure.NETWORK),
        (ConnectionLost("h:22", "reset"), Failure.NETWORK),
        (RuntimeError("a surprise"), Failure.NETWORK),
    ],
)
def test_what_an_error_implies_decides_the_failure(error: Exception, failure: Failure) -> None:
    assert failure_of(error) is failure
