"""The process-wide byte budget for forwarded data, and each connection's window ledger."""

from __future__ import annotations

import logging
import math
import os
import threading

from app.core.textsafe import safe_text

log = logging.getLogger(__name__)

MIB = 1024 * 1024
DEFAULT_BUDGET = 64 * MIB
BUDGET_ENV = "TUNNELKEEPER_BUFFER_MIB"  # the budget in MiB, for people who need another one
MIN_BUDGET = 1 * MIB
MAX_WINDOW = 2 * MIB  # the most one connection is ever granted (paramiko's default window)
FLOOR = 8 * 1024  # every open connection keeps at least this much window
# A new connection starts with this much window (above FLOOR) and grows towards its fair
# share as it carries data: a window once granted cannot be taken back, so connections
# that sit idle must not hold the pool. RESERVE of the pool is kept for new connections.
INITIAL_EXTRA = 56 * 1024
RESERVE = 8 * MIB
MAX_CONNECTIONS = 4096


class WindowOverrun(Exception):
    """The jumphost sent more on a channel than the window we granted it."""


class Budget:
    """How many bytes of vendor data the process promises to hold, shared by every tunnel.

    Each open connection is promised ``FLOOR`` bytes; half of the budget (at least) is a
    pool from which connections get more: ``INITIAL_EXTRA`` when they open, then, while
    they carry data, up to ``MAX_WINDOW`` and their fair share of the pool (less a
    reserve for connections yet to open). So the windows granted, and hence the bytes the
    jumphost can make us hold, never add up to more than ``total``; a busy connection
    still gets the full window, and idle ones hold little.
    """

    def __init__(self, total: int = DEFAULT_BUDGET, max_connections: int = MAX_CONNECTIONS):
        total = max(MIN_BUDGET, total)
        self.total = total
        self.max_connections = max(1, min(max_connections, total // (2 * FLOOR)))
        self.pool = total - self.max_connections * FLOOR
        self._growth_cap = self.pool - min(RESERVE, self.pool // 4)
        self._lock = threading.Lock()
        self._open = 0
        self._extra = 0  # taken from the pool by open connections

    @property
    def open_connections(self) -> int:
        return self._open

    @property
    def reserved(self) -> int:
        """Bytes promised right now (floors of open connections plus the pool in use)."""
        with self._lock:
            return self._open * FLOOR + self._extra

    def open(self) -> int | None:
        """Admit a connection: its extra allowance above ``FLOOR``, or None when full."""
        with self._lock:
            if self._open >= self.max_connections:
                return None
            self._open += 1
            extra = min(INITIAL_EXTRA, self._fair_extra(), self.pool - self._extra)
            self._extra += extra
            return extra

    def close(self, extra: int) -> None:
        with self._lock:
            self._open -= 1
            self._extra -= extra

    def rebalance(self, extra: int, spare: int) -> int:
        """A connection holding ``extra`` of the pool, ``spare`` of it unused now (neither
        granted as window nor holding data), asks again: its new extra allowance. It grows
        towards its fair share while the pool has room and gives back what it may when
        more connections share the pool."""
        with self._lock:
            want = self._fair_extra()
            if extra < want:
                more = min(want - extra, self._growth_cap - self._extra)
                if more > 0:
                    self._extra += more
                    return extra + more
                return extra
            less = min(extra - want, spare)
            self._extra -= less
            return extra - less

    def _fair_extra(self) -> int:
        return min(MAX_WINDOW - FLOOR, self._growth_cap // max(1, self._open))


class WindowLedger:
    """One connection's promise: the window the jumphost may still use plus the bytes held
    for the target never exceed its allowance (``FLOOR`` plus its extra from the budget).
    Not thread-safe: the connection calls it under its own lock."""

    def __init__(self, budget: Budget, extra: int) -> None:
        self.budget = budget
        self.extra = extra
        self.window = FLOOR + extra  # what the jumphost may send before we adjust
        self.held = 0
        self.closed = False

    @property
    def allowance(self) -> int:
        return FLOOR + self.extra

    def received(self, size: int) -> None:
        """``size`` bytes arrived and are held; WindowOverrun if more than was granted."""
        if size > self.window:
            raise WindowOverrun(
                f"the jumphost sent {size} bytes on a forwarded connection whose window "
                f"had {self.window} left"
            )
        self.window -= size
        self.held += size

    def delivered(self, size: int) -> int:
        """``size`` held bytes reached the target: the window adjust to send now (0 if
        none is due yet). The caller must send it: it is counted as granted already."""
        self.held -= size
        if self.closed:
            return 0
        spare = self.allowance - self.window - self.held
        self.extra = self.budget.rebalance(self.extra, spare)
        grant = self.allowance - self.window - self.held
        # adjust once half the allowance is due, as OpenSSH does (channel_check_window),
        # not once per packet: each adjust is a write to the jumphost and a wake-up
        # there; an eighth cost the transport thread 12 % of its time at 2 MiB windows.
        # Never stuck: below the step, the open window and the held bytes (which drain)
        # add up to more than half the allowance.
        if grant < max(1, self.allowance // 2):
            return 0
        self.window += grant
        return grant

    def close(self) -> None:
        """Give the allowance back to the budget (once)."""
        if not self.closed:
            self.closed = True
            self.budget.close(self.extra)


def budget_from_environment(environ: dict[str, str] | None = None) -> Budget:
    """The budget ``TUNNELKEEPER_BUFFER_MIB`` asks for, else the default (64 MiB)."""
    env = os.environ if environ is None else environ
    text = env.get(BUDGET_ENV, "").strip()
    total = DEFAULT_BUDGET
    if text:
        try:
            mib = float(text)
        except ValueError:
            mib = math.nan
        if math.isfinite(mib) and 0 < mib <= 1024 * 1024:
            total = int(mib * MIB)
        else:
            log.warning("ignoring %s=%s: not a size in MiB", BUDGET_ENV, safe_text(text, 40))
    return Budget(total)


_shared: Budget | None = None
_shared_lock = threading.Lock()


def shared_budget() -> Budget:
    """The one budget of this process (made on first use, from the environment)."""
    global _shared  # noqa: PLW0603 - one budget per process, made lazily
    with _shared_lock:
        if _shared is None:
            _shared = budget_from_environment()
        return _shared
