"""Noticing a wake: the wall clock jumped against the monotonic one, or a wait overran."""

from __future__ import annotations

import time
from collections.abc import Callable

from app.core.supervise import CLOCK_JUMP, FROZEN_SLACK, clock_jumped, was_frozen

Clock = Callable[[], float]


class WakeDetector:
    """Remembers wall-clock minus monotonic time; each ``check`` says whether the machine
    slept (or the clock was set) since the last one, or a wait took far longer than asked
    (the process was stopped or starved)."""

    def __init__(
        self,
        wall: Clock = time.time,
        monotonic: Clock = time.monotonic,
        jump: float = CLOCK_JUMP,
        slack: float = FROZEN_SLACK,
    ) -> None:
        self._wall = wall
        self._monotonic = monotonic
        self._jump = jump
        self._slack = slack
        self._offset = wall() - monotonic()

    def now(self) -> float:
        """The monotonic time, to pass back as ``began`` once a wait ends."""
        return self._monotonic()

    def check(self, asked: float | None = None, began: float | None = None) -> bool:
        """True if the clock jumped since the last check, or if the wait that began at
        ``began`` (monotonic) and was asked to last ``asked`` s took far longer."""
        mono = self._monotonic()
        offset = self._wall() - mono
        jumped = clock_jumped(self._offset, offset, self._jump)
        self._offset = offset
        if asked is None or began is None:
            return jumped
        return jumped or was_frozen(asked, mono - began, self._slack)
