"""The byte budget: windows granted never promise more than the process may hold."""

from __future__ import annotations

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from app.core.budget import (
    FLOOR,
    INITIAL_EXTRA,
    MAX_WINDOW,
    MIB,
    Budget,
    WindowLedger,
    WindowOverrun,
    budget_from_environment,
)


def _grown(budget: Budget) -> WindowLedger:
    """A connection that has carried a window's worth, so it grew to its share."""
    ledger = _open(budget)
    ledger.received(ledger.window)
    ledger.delivered(ledger.held)
    return ledger


def _open(budget: Budget) -> WindowLedger:
    extra = budget.open()
    assert extra is not None
    return WindowLedger(budget, extra)


def test_a_connection_starts_small_and_grows_to_the_full_window_as_it_carries_data() -> None:
    ledger = _open(Budget(64 * MIB))
    assert ledger.window == FLOOR + INITIAL_EXTRA
    ledger.received(ledger.window)
    grant = ledger.delivered(ledger.held)
    assert ledger.window == grant == MAX_WINDOW


def test_idle_connections_leave_room_for_new_ones_to_grow() -> None:
    """Windows once granted cannot be taken back: 16 connections that carried data and
    went idle must not leave a new one stuck at the floor."""
    budget = Budget(64 * MIB)
    busy = [_open(budget) for _ in range(16)]
    for ledger in busy:
        ledger.received(ledger.window)
        ledger.delivered(ledger.held)
    idle = [_open(budget) for _ in range(100)]
    newcomer = _open(budget)
    assert newcomer.window > FLOOR
    newcomer.received(newcomer.window)
    newcomer.delivered(newcomer.held)
    assert newcomer.window > FLOOR
    assert budget.reserved <= budget.total
    assert all(ledger.allowance <= FLOOR + INITIAL_EXTRA for ledger in idle)


def test_many_connections_share_the_pool_and_never_exceed_the_total() -> None:
    budget = Budget(64 * MIB)
    ledgers = [_open(budget) for _ in range(4096)]
    assert sum(ledger.window for ledger in ledgers) <= budget.total
    assert min(ledger.window for ledger in ledgers) >= FLOOR
    assert budget.reserved <= budget.total


def test_past_the_connection_limit_an_open_is_refused() -> None:
    budget = Budget(1 * MIB)
    for _ in range(budget.max_connections):
        assert budget.open() is not None
    assert budget.open() is None


def test_sending_past_the_window_is_an_overrun() -> None:
    ledger = _grown(Budget(64 * MIB))
    ledger.received(MAX_WINDOW)
    with pytest.raises(WindowOverrun):
        ledger.received(1)


def test_the_window_is_credited_only_as_bytes_reach_the_target() -> None:
    ledger = _grown(Budget(64 * MIB))
    ledger.received(MAX_WINDOW)
    assert ledger.window == 0
    assert ledger.delivered(1000) == 0  # too small a step to be worth an adjust
    grant = ledger.delivered(MAX_WINDOW - 1000)
    assert grant == MAX_WINDOW
    assert ledger.window == MAX_WINDOW
    assert ledger.held == 0


def test_a_connection_gives_back_its_share_when_others_arrive() -> None:
    budget = Budget(8 * MIB)
    first = _grown(budget)
    assert first.window == MAX_WINDOW
    others = [_open(budget) for _ in range(50)]
    first.received(first.window)
    first.delivered(first.held)
    assert first.allowance < MAX_WINDOW
    assert budget.reserved <= budget.total
    for ledger in [first, *others]:
        ledger.close()
    assert budget.reserved == 0
    assert budget.open_connections == 0


def test_closing_twice_gives_back_once() -> None:
    budget = Budget(64 * MIB)
    ledger = _open(budget)
    ledger.close()
    ledger.close()
    assert budget.open_connections == 0
    assert budget.reserved == 0


def test_the_environment_sets_the_budget() -> None:
    assert budget_from_environment({"TUNNELKEEPER_BUFFER_MIB": "16"}).total == 16 * MIB
    assert budget_from_environment({"TUNNELKEEPER_BUFFER_MIB": "junk"}).total == 64 * MIB
    assert budget_from_environment({}).total == 64 * MIB
    for bad in ("inf", "1e400", "-5", "nan", "0"):
        assert budget_from_environment({"TUNNELKEEPER_BUFFER_MIB": bad}).total == 64 * MIB


@settings(max_examples=200, deadline=None)
@given(
    total_mib=st.integers(1, 128),
    steps=st.lists(
        st.tuples(st.sampled_from(["open", "send", "drain", "close"]), st.integers(0, 10**7)),
        max_size=300,
    ),
)
def test_any_sequence_keeps_every_promise(total_mib: int, steps: list[tuple[str, int]]) -> None:
    """Whatever a jumphost sends within its windows and however slowly targets read:
    each connection's window plus held bytes stays within its allowance, the allowances
    within the total, and a drained connection always has window again (no deadlock)."""
    budget = Budget(total_mib * MIB)
    ledgers: list[WindowLedger] = []
    for action, number in steps:
        if action == "open":
            extra = budget.open()
            if extra is not None:
                ledgers.append(WindowLedger(budget, extra))
        elif ledgers:
            ledger = ledgers[number % len(ledgers)]
            if action == "send" and ledger.window:
                ledger.received(1 + number % ledger.window)
            elif action == "drain" and ledger.held:
                ledger.delivered(1 + number % ledger.held)
            elif action == "close":
                ledger.close()
                ledgers.remove(ledger)
        for ledger in ledgers:
            assert ledger.window >= 0
            assert ledger.window + ledger.held <= ledger.allowance
        assert sum(ledger.allowance for ledger in ledgers) <= budget.total
        assert budget.reserved == sum(ledger.allowance for ledger in ledgers)
    for ledger in ledgers:
        if ledger.held:
            ledger.delivered(ledger.held)
        assert ledger.window > 0
