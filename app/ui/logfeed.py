"""Log records from any thread, delivered to the GUI thread as lines of text."""

from __future__ import annotations

import contextlib
import logging

from PySide6.QtCore import QObject, Signal

from app.storage.logs import SafeFormatter

LINE_FORMAT = "%(asctime)s %(levelname)s %(message)s"


class LogFeed(QObject):
    """``line`` is emitted on the thread this object lives on (the GUI thread)."""

    line = Signal(str)

    def __init__(self, level: int = logging.INFO) -> None:
        super().__init__()
        self.handler = _Handler(self)
        self.handler.setLevel(level)
        self.handler.setFormatter(SafeFormatter(LINE_FORMAT, "%Y-%m-%d %H:%M:%S"))

    def attach(self, logger: logging.Logger | None = None) -> None:
        (logger or logging.getLogger()).addHandler(self.handler)

    def detach(self, logger: logging.Logger | None = None) -> None:
        (logger or logging.getLogger()).removeHandler(self.handler)


class _Handler(logging.Handler):
    def __init__(self, feed: LogFeed) -> None:
        super().__init__()
        self._feed = feed

    def emit(self, record: logging.LogRecord) -> None:
        with contextlib.suppress(RuntimeError):  # the feed was deleted while a worker logged
            self._feed.line.emit(self.format(record))
