"""Reconnect delays: jittered, between base and a doubling ceiling capped at a minute."""

from __future__ import annotations

import random

from hypothesis import given
from hypothesis import strategies as st

from app.core.backoff import Backoff


def test_ceiling_doubles_and_is_capped_at_60() -> None:
    backoff = Backoff(rng=random.Random(1))
    ceilings = []
    for _ in range(10):
        ceilings.append(backoff.ceiling())
        backoff.next_delay()
    assert ceilings == [1, 2, 4, 8, 16, 32, 60, 60, 60, 60]


def test_delays_lie_between_base_and_ceiling() -> None:
    backoff = Backoff(rng=random.Random(7))
    for _ in range(200):
        ceiling = backoff.ceiling()
        delay = backoff.next_delay()
        assert 1.0 <= delay <= ceiling <= 60.0
    assert backoff.attempts == 200


def test_first_delay_is_the_base() -> None:
    assert Backoff(rng=random.Random(3)).next_delay() == 1.0
    assert Backoff(base=2.5, rng=random.Random(3)).next_delay() == 2.5


def test_delays_are_jittered() -> None:
    backoff = Backoff(rng=random.Random(42))
    for _ in range(10):
        backoff.next_delay()
    capped = [backoff.next_delay() for _ in range(100)]
    assert len(set(capped)) == 100
    assert min(capped) < 20 and max(capped) > 40  # spread over [1, 60], not pinned to 60


def test_same_seed_same_delays() -> None:
    a = Backoff(rng=random.Random(99))
    b = Backoff(rng=random.Random(99))
    assert [a.next_delay() for _ in range(20)] == [b.next_delay() for _ in range(20)]


def test_reset_starts_again_from_base() -> None:
    backoff = Backoff(rng=random.Random(5))
    for _ in range(8):
        backoff.next_delay()
    assert backoff.ceiling() == 60
    backoff.reset()
    assert backoff.attempts == 0
    assert backoff.ceiling() == 1
    assert backoff.next_delay() == 1.0
    assert backoff.ceiling() == 2


def test_huge_attempt_counts_do_not_overflow() -> None:
    backoff = Backoff(attempts=10**9, rng=random.Random(0))
    assert backoff.ceiling() == 60
    assert 1.0 <= backoff.next_delay() <= 60.0


def test_base_above_cap_gives_the_cap() -> None:
    backoff = Backoff(base=100.0, cap=60.0, rng=random.Random(0))
    assert [backoff.next_delay() for _ in range(3)] == [60.0, 60.0, 60.0]


@given(
    seed=st.integers(),
    base=st.floats(min_value=0.01, max_value=10),
    cap=st.floats(min_value=0.01, max_value=600),
    count=st.integers(min_value=1, max_value=50),
)
def test_delays_always_within_bounds(seed: int, base: float, cap: float, count: int) -> None:
    backoff = Backoff(base=base, cap=cap, rng=random.Random(seed))
    previous_ceiling = 0.0
    for n in range(count):
        ceiling = backoff.ceiling()
        assert ceiling == min(cap, base * 2**n)
        assert ceiling >= previous_ceiling
        delay = backoff.next_delay()
        assert min(base, cap) <= delay <= ceiling
        previous_ceiling = ceiling
