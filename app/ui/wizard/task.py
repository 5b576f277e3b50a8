"""One kind of page work run off the GUI thread; only the latest run's outcome is delivered."""

from __future__ import annotations

from collections.abc import Callable
from functools import partial
from typing import Any

import shiboken6
from PySide6.QtCore import QObject

from app.ui import jobs


class PageTask:
    """Starts ``work`` through :mod:`app.ui.jobs` and hands the outcome to the page.

    Starting again (or :meth:`drop`) makes earlier runs stale: their outcomes are thrown
    away, so a slow answer never overwrites a newer one. Outcomes for a page that has
    been deleted are dropped too. ``in_flight`` counts runs whose threads still work,
    stale ones included (the connection test must not overlap an earlier run).
    """

    def __init__(
        self,
        owner: QObject,
        name: str,
        on_done: Callable[[Any], None],
        on_failed: Callable[[Exception], None],
        on_progress: Callable[[Any], None] | None = None,
    ) -> None:
        self._owner = owner
        self._name = name
        self._on_done = on_done
        self._on_failed = on_failed
        self._on_progress = on_progress
        self._generation = 0
        self.in_flight = 0
        self.running = False  # the latest run has not reported its outcome yet

    def start(self, work: Callable[[Callable[[Any], None]], Any]) -> None:
        self._generation += 1
        self.in_flight += 1
        self.running = True
        generation = self._generation
        jobs.start(
            self._name,
            work,
            on_done=partial(self._finish, generation, self._on_done),
            on_failed=partial(self._finish, generation, self._on_failed),
            on_progress=partial(self._progress, generation),
        )

    def drop(self) -> None:
        """Forget the running work: its outcome will not be delivered."""
        self._generation += 1
        self.running = False

    def _alive(self, generation: int) -> bool:
        return generation == self._generation and shiboken6.isValid(self._owner)

    def _progress(self, generation: int, value: Any) -> None:
        if self._on_progress is not None and self._alive(generation):
            self._on_progress(value)

    def _finish(self, generation: int, callback: Callable[[Any], None], value: Any) -> None:
        self.in_flight -= 1
        if not self._alive(generation):
            return
        self.running = False
        callback(value)
