"""A small pool of daemon threads that dial targets, which never holds up the process's exit."""

from __future__ import annotations

import logging
import queue
import threading
from collections.abc import Callable
from typing import Any

from app.storage.logs import tunnel_log

log = logging.getLogger(__name__)

# A thread with nothing to dial for this long ends: a burst of dials to a slow target
# (up to ``size`` threads) does not leave them all waiting on an idle tunnel.
IDLE_EXIT = 30.0

_STOP = object()


class DialPool:
    """Runs ``job(arg)`` calls on at most ``size`` threads, started as needed.

    Unlike ``concurrent.futures.ThreadPoolExecutor``, whose threads the interpreter joins
    at exit, these are daemon threads: a dial to a black-holed target (up to its 10 s
    timeout) cannot keep `tunnelkeeper run` alive after SIGTERM. ``submit`` raises
    RuntimeError after ``shutdown``, as the executor did.
    """

    def __init__(
        self,
        size: int,
        name: str = "dial",
        tunnel: str | None = None,
        idle_exit: float = IDLE_EXIT,
    ) -> None:
        self._log = tunnel_log(log, tunnel)
        self._idle_exit = idle_exit
        self._size = size
        self._name = name
        self._jobs: queue.SimpleQueue[Any] = queue.SimpleQueue()
        self._lock = threading.Lock()
        self._threads = 0
        self._idle = 0
        self._closed = False

    def submit(self, job: Callable[[Any], None], arg: Any) -> None:
        with self._lock:
            if self._closed:
                raise RuntimeError("the dial pool is shut down")
            self._jobs.put((job, arg))
            # a thread waiting for work takes it; else start one, up to the size
            if self._idle >= self._jobs.qsize() or self._threads >= self._size:
                return
            self._threads += 1
            index = self._threads
        threading.Thread(target=self._work, name=f"{self._name}-{index}", daemon=True).start()

    def shutdown(self) -> None:
        """No new jobs; queued ones still run (they see their owner closing and give up)."""
        with self._lock:
            if self._closed:
                return
            self._closed = True
            threads = self._threads
        for _ in range(threads):
            self._jobs.put(_STOP)

    def _work(self) -> None:
        while True:
            with self._lock:
                self._idle += 1
            try:
                item = self._jobs.get(timeout=self._idle_exit)
            except queue.Empty:
                with self._lock:  # submit counts idle threads under this lock
                    self._idle -= 1
                    if self._jobs.qsize() == 0:
                        self._threads -= 1
                        return
                continue
            with self._lock:
                self._idle -= 1
            if item is _STOP:
                return
            job, arg = item
            try:
                job(arg)
            except Exception:  # one dial's surprise must not end the thread
                self._log.exception("a target dial failed unexpectedly")
