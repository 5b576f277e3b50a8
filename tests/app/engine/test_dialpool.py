"""The dial pool runs jobs on a bounded number of threads and never holds up the exit."""

from __future__ import annotations

import subprocess
import sys
import threading
import time

import pytest

from app.engine.dialpool import DialPool


def test_jobs_run_at_once_up_to_the_size_and_the_rest_wait() -> None:
    pool = DialPool(3)
    release = threading.Event()
    running: list[int] = []
    lock = threading.Lock()

    def job(number: int) -> None:
        with lock:
            running.append(number)
        release.wait(10)

    for number in range(5):
        pool.submit(job, number)
    deadline = time.monotonic() + 10
    while len(running) < 3 and time.monotonic() < deadline:
        time.sleep(0.01)
    time.sleep(0.2)  # give a fourth job the chance to start, were the bound broken
    assert len(running) == 3
    release.set()
    deadline = time.monotonic() + 10
    while len(running) < 5 and time.monotonic() < deadline:
        time.sleep(0.01)
    assert sorted(running) == [0, 1, 2, 3, 4]
    pool.shutdown()


def test_an_idle_thread_is_reused() -> None:
    pool = DialPool(8)
    names: list[str] = []
    for _ in range(5):
        done = threading.Event()
        pool.submit(
            lambda event: (names.append(threading.current_thread().name), event.set()), done
        )
        assert done.wait(10)
    assert len(set(names)) == 1
    pool.shutdown()


def test_a_job_that_raises_does_not_end_its_thread() -> None:
    pool = DialPool(1)
    done = threading.Event()
    pool.submit(lambda _: 1 / 0, None)
    pool.submit(lambda event: event.set(), done)
    assert done.wait(10)
    pool.shutdown()


def test_submit_after_shutdown_raises() -> None:
    pool = DialPool(2)
    pool.shutdown()
    with pytest.raises(RuntimeError):
        pool.submit(lambda _: None, None)


def test_a_blocked_dial_does_not_hold_up_the_exit() -> None:
    """With concurrent.futures' pool, the interpreter joined the dial thread at exit: a
    dial to a black-holed target kept `tunnelkeeper run` alive for its 10 s timeout."""
    code = (
        "import time\n"
        "from app.engine.dialpool import DialPool\n"
        "pool = DialPool(4)\n"
        "pool.submit(lambda _: time.sleep(60), None)\n"
        "time.sleep(0.2)\n"
        "pool.shutdown()\n"
    )
    started = time.monotonic()
    subprocess.run([sys.executable, "-c", code], check=True, timeout=60)
    assert time.monotonic() - started < 20  # 60 s if the dial were joined


def _pool_threads(name: str) -> int:
    return sum(1 for t in threading.enumerate() if t.name.startswith(f"{name}-"))


def test_threads_left_idle_end_and_new_work_starts_them_again() -> None:
    """A burst of slow dials needs many threads; an idle tunnel afterwards needs none."""
    pool = DialPool(6, name="idlepool", idle_exit=0.3)
    release = threading.Event()
    done: list[int] = []
    for number in range(6):
        pool.submit(lambda n: (release.wait(10), done.append(n)), number)
    deadline = time.monotonic() + 10
    while _pool_threads("idlepool") < 6 and time.monotonic() < deadline:
        time.sleep(0.01)
    assert _pool_threads("idlepool") == 6
    release.set()
    deadline = time.monotonic() + 10
    while _pool_threads("idlepool") and time.monotonic() < deadline:
        time.sleep(0.05)
    assert _pool_threads("idlepool") == 0 and sorted(done) == list(range(6))
    for number in range(20):  # no job is stranded by a thread that was ending
        pool.submit(done.append, 100 + number)
    deadline = time.monotonic() + 10
    while len(done) < 26 and time.monotonic() < deadline:
        time.sleep(0.01)
    assert sorted(done)[6:] == [100 + n for n in range(20)]
    pool.shutdown()
