"""The one wake detector: a jump of the wall clock against the monotonic one, or a wait
that overran, on fake clocks."""

from __future__ import annotations

from app.core.wake import WakeDetector


class Clocks:
    def __init__(self) -> None:
        self.wall = 1_700_000_000.0
        self.mono = 100.0

    def wait(self, seconds: float) -> None:
        self.wall += seconds
        self.mono += seconds


def detector(clocks: Clocks) -> WakeDetector:
    return WakeDetector(wall=lambda: clocks.wall, monotonic=lambda: clocks.mono)


def test_steady_clocks_are_no_wake() -> None:
    clocks = Clocks()
    wake = detector(clocks)
    for _ in range(10):
        began = wake.now()
        clocks.wait(1.0)
        assert not wake.check(1.0, began)
        assert not wake.check()


def test_a_sleep_moves_the_wall_clock_alone_and_is_seen_once() -> None:
    clocks = Clocks()
    wake = detector(clocks)
    clocks.wall += 600.0  # ten minutes asleep: the monotonic clock stood still
    assert wake.check()
    assert not wake.check()  # the new offset is remembered


def test_a_clock_set_back_counts_too() -> None:
    clocks = Clocks()
    wake = detector(clocks)
    clocks.wall -= 100.0
    assert wake.check()


def test_small_drift_is_not_a_wake() -> None:
    clocks = Clocks()
    wake = detector(clocks)
    clocks.wall += 0.5
    assert not wake.check()


def test_a_wait_that_overran_is_a_freeze() -> None:
    clocks = Clocks()
    wake = detector(clocks)
    began = wake.now()
    clocks.wait(30.0)  # asked for 1 s, got 30 (SIGSTOP, a starved process)
    assert wake.check(1.0, began)
    assert not wake.check()  # without a wait to judge, only the clock counts


def test_thresholds_can_be_set() -> None:
    clocks = Clocks()
    wake = WakeDetector(
        wall=lambda: clocks.wall, monotonic=lambda: clocks.mono, jump=1.0, slack=0.5
    )
    clocks.wall += 2.0
    assert wake.check()
    began = wake.now()
    clocks.wait(2.0)
    assert wake.check(1.0, began)
