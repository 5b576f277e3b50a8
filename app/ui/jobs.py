"""Run blocking work off the GUI thread and get its result back as Qt signals."""

from __future__ import annotations

import logging
from collections.abc import Callable
from typing import Any

from PySide6.QtCore import QObject, QRunnable, QThreadPool, Signal

log = logging.getLogger(__name__)

Progress = Callable[[Any], None]
Work = Callable[[Progress], Any]

_pool: QThreadPool | None = None
_running: set[Job] = set()


def pool() -> QThreadPool:
    """The app's own pool (not the global one), so shutdown can wait for just our work."""
    global _pool  # noqa: PLW0603 - one pool per process, made on first use
    if _pool is None:
        _pool = QThreadPool()
        _pool.setMaxThreadCount(8)
    return _pool


class Job(QObject):
    """Signals of one piece of off-thread work; they arrive on the thread that made the job.

    ``progress`` carries whatever the work reports while it runs, ``done`` its return value,
    ``failed`` the exception it raised. Exactly one of ``done`` / ``failed`` is emitted.
    """

    progress = Signal(object)
    done = Signal(object)
    failed = Signal(object)

    def __init__(self, name: str) -> None:
        super().__init__()
        self.name = name
        self.finished = False


class _Runner(QRunnable):
    def __init__(self, job: Job, work: Work) -> None:
        super().__init__()
        self._job = job
        self._work = work

    def run(self) -> None:  # on a pool thread: only emit, never touch widgets
        job = self._job
        try:
            result = self._work(job.progress.emit)
        except Exception as exc:  # handed to the GUI thread, which decides what to show
            log.debug("job %s failed: %s", job.name, type(exc).__name__)
            job.failed.emit(exc)
        else:
            job.done.emit(result)


def start(
    name: str,
    work: Work,
    on_done: Callable[[Any], None] | None = None,
    on_failed: Callable[[Exception], None] | None = None,
    on_progress: Callable[[Any], None] | None = None,
) -> Job:
    """Run ``work(progress)`` on the pool; the callbacks run on the calling (GUI) thread."""
    job = Job(name)
    _running.add(job)

    def finish(_: object) -> None:
        job.finished = True
        _running.discard(job)

    if on_progress is not None:
        job.progress.connect(on_progress)
    if on_done is not None:
        job.done.connect(on_done)
    if on_failed is not None:
        job.failed.connect(on_failed)
    job.done.connect(finish)
    job.failed.connect(finish)
    pool().start(_Runner(job, work))
    return job


def wait_all(timeout: float) -> bool:
    """Wait up to ``timeout`` seconds for every started job's thread; True if all ended."""
    return bool(pool().waitForDone(int(timeout * 1000)))
