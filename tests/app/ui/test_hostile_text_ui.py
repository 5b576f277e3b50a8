"""What a hostile server said reaches the status window, the tray and notifications escaped
and cut (issue 13, item 9)."""

from __future__ import annotations

import logging
import time
import unicodedata

from pytestqt.qtbot import QtBot

from app.core.events import State, TunnelEvent, TunnelStatus
from app.core.profile import profile_from_dict
from app.core.textsafe import DETAIL_LIMIT
from app.ui import diagnostics
from app.ui.hub import Row
from app.ui.logfeed import LogFeed
from app.ui.status_window import DETAIL, cells
from app.ui.summary import Notifier
from app.ui.tray import STATUS_CHARS, status_line

HOSTILE = "\x1b[31m\x1b]0;pwned\x07" + "A" * 1_000_000 + "\u202e\r\n"
UNSAFE = {"Cc", "Cf", "Cs", "Zl", "Zp"}


def _clean(text: str) -> bool:
    return not any(unicodedata.category(c) in UNSAFE for c in text)


def _row() -> Row:
    profile = profile_from_dict(
        "db",
        {
            "jumphost": "jump.example.com",
            "user": "vendor",
            "remote_port": 40001,
            "target_host": "127.0.0.1",
            "target_port": 3306,
            "key_path": "/keys/db",
        },
    )
    # the engine's own status() still holds the raw text the handshake error quoted
    status = TunnelStatus("db", State.RETRYING, HOSTILE)
    return Row(profile, status, True)


def test_status_window_tray_and_diagnostics_show_it_escaped_and_cut() -> None:
    row = _row()
    detail = cells(row)[DETAIL]
    assert _clean(detail) and len(detail) <= DETAIL_LIMIT
    assert detail.startswith("\\x1b[31m\\x1b]0;pwned\\x07AAA")
    line = status_line(row)
    assert _clean(line) and len(line) <= STATUS_CHARS
    text = diagnostics.build([(row.profile, row.status)], [], {"tunnelkeeper": "test"})
    assert _clean(text.replace("\n", "")) and len(text) < 5_000


def test_notifications_quote_the_event_escaped_and_cut() -> None:
    notice = Notifier().consider(TunnelEvent("db", State.ERROR, HOSTILE), time.time())
    assert notice is not None
    assert _clean(notice[1]) and len(notice[1]) <= DETAIL_LIMIT + 100


def test_the_log_pane_gets_one_bounded_line_per_record(qtbot: QtBot) -> None:
    feed = LogFeed()
    lines: list[str] = []
    feed.line.connect(lines.append)
    logger = logging.getLogger("tunnelkeeper.test-hostile")
    logger.setLevel(logging.INFO)
    feed.attach(logger)
    try:
        logger.warning("db: retrying — %s", HOSTILE)
    finally:
        feed.detach(logger)
    assert len(lines) == 1
    assert _clean(lines[0]) and len(lines[0]) < 2_100
