"""Window adjusts: sent once half the window is due, as OpenSSH sends them (issue 20)."""

from __future__ import annotations

from app.core.budget import MAX_WINDOW, MIB, Budget, WindowLedger


def _grown(budget: Budget) -> WindowLedger:
    """A connection that has carried a window's worth, so it grew to its share."""
    extra = budget.open()
    assert extra is not None
    ledger = WindowLedger(budget, extra)
    ledger.received(ledger.window)
    ledger.delivered(ledger.held)
    return ledger


def test_no_adjust_until_half_the_window_is_due_then_all_of_it() -> None:
    ledger = _grown(Budget(64 * MIB))
    ledger.received(MAX_WINDOW)
    # bytes reach the target packet by packet: no adjust (no write to the jumphost) yet
    for _ in range(MAX_WINDOW // 2 // (32 * 1024) - 1):
        assert ledger.delivered(32 * 1024) == 0
    assert ledger.delivered(32 * 1024) == MAX_WINDOW // 2
    assert ledger.window == MAX_WINDOW // 2


def test_a_window_below_the_step_never_stalls_the_connection() -> None:
    """Below the step the jumphost still has half the window open, or bytes are held
    (and their delivery brings the adjust)."""
    ledger = _grown(Budget(64 * MIB))
    ledger.received(MAX_WINDOW // 2)
    assert ledger.delivered(MAX_WINDOW // 2 - 1) == 0
    assert ledger.window + ledger.held > ledger.allowance // 2
    assert ledger.delivered(1) == MAX_WINDOW // 2
