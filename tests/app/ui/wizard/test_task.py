"""PageTask: work runs off the GUI thread; only the latest run's outcome reaches the page."""

from __future__ import annotations

import threading
from typing import Any

import shiboken6
from PySide6.QtCore import QObject
from pytestqt.qtbot import QtBot

from app.ui import jobs
from app.ui.wizard.task import PageTask


class Recorder(QObject):
    def __init__(self) -> None:
        super().__init__()
        self.outcomes: list[Any] = []
        self.threads: list[int] = []

    def got(self, value: Any) -> None:
        self.outcomes.append(value)
        self.threads.append(threading.get_ident())


def test_outcomes_arrive_on_the_gui_thread_and_stale_ones_are_dropped(qtbot: QtBot) -> None:
    page = Recorder()
    task = PageTask(page, "t", page.got, page.got, page.got)
    release = threading.Event()
    worker_threads: list[int] = []

    def slow(progress: Any) -> str:
        worker_threads.append(threading.get_ident())
        progress("halfway")
        release.wait(10)
        return "old"

    task.start(slow)
    qtbot.waitUntil(lambda: page.outcomes == ["halfway"], timeout=5000)
    task.start(lambda progress: "new")  # supersedes the slow one
    qtbot.waitUntil(lambda: "new" in page.outcomes, timeout=5000)
    release.set()
    qtbot.waitUntil(lambda: task.in_flight == 0, timeout=5000)
    assert page.outcomes == ["halfway", "new"]  # "old" came back stale and was dropped
    assert set(page.threads) == {threading.get_ident()}
    assert worker_threads and worker_threads[0] != threading.get_ident()
    assert not task.running


def test_failures_are_delivered_and_a_deleted_page_gets_nothing(qtbot: QtBot) -> None:
    page = Recorder()
    task = PageTask(page, "t", page.got, page.got)

    def boom(_progress: Any) -> None:
        raise ValueError("no")

    task.start(boom)
    qtbot.waitUntil(lambda: bool(page.outcomes), timeout=5000)
    assert isinstance(page.outcomes[0], ValueError)

    gone = Recorder()
    late = PageTask(gone, "t", gone.got, gone.got)
    release = threading.Event()
    late.start(lambda _progress: release.wait(10))
    shiboken6.delete(gone)
    release.set()
    assert jobs.wait_all(5)
    qtbot.waitUntil(lambda: late.in_flight == 0, timeout=5000)  # no crash, nothing called
