"""Text from a server or a file: escaped and bounded before any event, log, file or terminal."""

from __future__ import annotations

import io
import json
import logging
import re
import sys
import time
import unicodedata
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from app.core.events import State, TunnelEvent
from app.core.textsafe import DETAIL_LIMIT, LOG_LIMIT, PIECE_LIMIT, safe_text, safe_value
from app.errors import ConnectionLost, CorruptConfigFile, HandshakeFailed, InvalidField
from app.storage.logs import TRACE_LIMIT, SafeFormatter
from app.storage.runstate import StateWriter

UNSAFE = {"Cc", "Cf", "Cs", "Zl", "Zp"}
HOSTILE = "\x1b[31m" + "A" * 1_000_000 + "\x1b[0m\r\n\u202eevil\u0000"
MARKER = re.compile(r"… \((\d+) more characters\)$")


def _unsafe_in(text: str) -> list[str]:
    return [c for c in text if unicodedata.category(c) in UNSAFE]


# --- the helper ----------------------------------------------------------------------------

any_text = st.text(st.characters(codec=None, exclude_categories=()), max_size=300)


@settings(max_examples=400, deadline=None)
@given(any_text, st.integers(min_value=1, max_value=400))
def test_output_has_no_control_or_format_characters_and_fits_the_limit(
    text: str, limit: int
) -> None:
    out = safe_text(text, limit)
    assert not _unsafe_in(out)
    assert len(out) <= limit


@settings(max_examples=400, deadline=None)
@given(any_text, st.integers(min_value=1, max_value=400))
def test_it_is_idempotent(text: str, limit: int) -> None:
    once = safe_text(text, limit)
    assert safe_text(once, limit) == once


@given(st.text(st.characters(exclude_categories=("Cc", "Cf", "Cs", "Zl", "Zp")), max_size=200))
def test_plain_text_within_the_limit_comes_back_unchanged(text: str) -> None:
    assert safe_text(text, 200) == text


@settings(max_examples=300, deadline=None)
@given(any_text, st.integers(min_value=40, max_value=400))
def test_a_cut_says_how_much_was_left_out_and_keeps_the_start(text: str, limit: int) -> None:
    out = safe_text(text, limit)
    found = MARKER.search(out)
    if found is None:
        assert "".join(safe_text(c, 20) for c in text) == out  # nothing cut
        return
    kept = len(text) - int(found.group(1))
    assert out[: found.start()] == "".join(safe_text(c, 20) for c in text[:kept])


def test_escapes_are_readable_and_spaces_stay() -> None:
    text = "a b\tc\nd\re\x1b[0m\x7f\x85\u200b\u202e\u2028\U000e0001\ud800"
    assert safe_text(text, 500) == (
        "a b\\tc\\nd\\re\\x1b[0m\\x7f\\x85\\u200b\\u202e\\u2028\\U000e0001\\ud800"
    )
    assert safe_text("naïve café — 東京 ✓", 50) == "naïve café — 東京 ✓"


def test_a_cut_never_splits_an_escape() -> None:
    out = safe_text("\x1b" * 100, 40)
    body = MARKER.sub("", out)
    assert body == "\\x1b" * (len(body) // 4)
    found = MARKER.search(out)
    assert found is not None and int(found.group(1)) == 100 - len(body) // 4


def test_a_megabyte_is_cut_quickly() -> None:
    started = time.perf_counter()
    out = safe_text(HOSTILE, 200)
    assert time.perf_counter() - started < 0.05
    assert len(out) <= 200 and out.startswith("\\x1b[31mAAAA")
    found = MARKER.search(out)
    assert found is not None and int(found.group(1)) > len(HOSTILE) - 200


def test_tiny_limits_still_hold() -> None:
    assert safe_text("abcdef", 1) == "…"
    assert safe_text("abcdef", 3) == "ab…"
    assert safe_text("\x1b\x1b", 3) == "…"
    with pytest.raises(ValueError):
        safe_text("x", 0)


def test_safe_value_walks_json_like_data() -> None:
    data = {"detail": "\x1b[2J", "n": 3, "ok": True, "none": None, "list": ["\x00", 1.5]}
    assert safe_value(data) == {
        "detail": "\\x1b[2J",
        "n": 3,
        "ok": True,
        "none": None,
        "list": ["\\x00", 1.5],
    }
    assert safe_value(Path("/tmp/a\nb")) == "/tmp/a\\nb"


# --- where it is used -------------------------------------------------------------------------


def test_event_details_and_extras_are_bounded_and_escaped() -> None:
    event = TunnelEvent("db", State.RETRYING, HOSTILE, extra={"why": HOSTILE})
    assert len(event.detail) <= DETAIL_LIMIT and not _unsafe_in(event.detail)
    assert len(event.extra["why"]) <= DETAIL_LIMIT
    assert "\x1b" not in event.human() and len(event.to_json()) < 3 * DETAIL_LIMIT
    assert json.loads(event.to_json())["detail"].startswith("\\x1b[31mAAA")


def test_errors_quoting_a_server_cut_its_words_to_a_piece() -> None:
    for error in (
        HandshakeFailed("host:22", "Incompatible version (" + HOSTILE + " instead of 2.0)"),
        ConnectionLost("host:22", HOSTILE),
        CorruptConfigFile("/x/profiles.toml", HOSTILE),
    ):
        text = str(error)
        assert not _unsafe_in(text)
        assert len(text) < PIECE_LIMIT + 200, type(error).__name__
    field = InvalidField("user", HOSTILE)
    assert len(str(field)) <= DETAIL_LIMIT and len(field.message) <= DETAIL_LIMIT


def _record(message: str, *args: object, exc: bool = False) -> logging.LogRecord:
    info = None
    if exc:
        try:
            raise RuntimeError(HOSTILE)
        except RuntimeError:
            info = sys.exc_info()
    return logging.LogRecord("tunnelkeeper", logging.WARNING, __file__, 1, message, args, info)


def test_log_records_are_one_bounded_line() -> None:
    formatter = SafeFormatter("%(levelname)s %(message)s")
    line = formatter.format(_record("%s: %s", "db", HOSTILE))
    assert "\n" not in line and "\x1b" not in line
    assert len(line) <= LOG_LIMIT + len("WARNING ")
    forged = formatter.format(_record("ok\n2024-01-01 INFO fake line"))
    assert forged == "WARNING ok\\n2024-01-01 INFO fake line"


def test_a_traceback_keeps_its_lines_but_not_their_escapes_or_bulk() -> None:
    text = SafeFormatter("%(message)s").format(_record("boom", exc=True))
    assert text.startswith("boom\nTraceback")
    assert "\x1b" not in text and len(text) <= TRACE_LIMIT + LOG_LIMIT
    last = text.splitlines()[-1]  # the server's line breaks cannot forge more log lines
    assert last.startswith("RuntimeError: \\x1b[31mAAA") and "more characters)" in last


def test_a_flood_of_huge_messages_does_not_rotate_the_log(tmp_path: Path) -> None:
    from logging.handlers import RotatingFileHandler

    from app.storage.logs import BACKUPS, MAX_BYTES

    handler = RotatingFileHandler(tmp_path / "t.log", maxBytes=MAX_BYTES, backupCount=BACKUPS)
    handler.setFormatter(SafeFormatter("%(message)s"))
    for _ in range(100):  # 100 retries against a server sending a megabyte each time
        handler.emit(_record("db: retrying — %s", HOSTILE))
    handler.close()
    assert sorted(p.name for p in tmp_path.iterdir()) == ["t.log"]
    assert (tmp_path / "t.log").stat().st_size < 100 * (LOG_LIMIT + 10)


def test_the_run_state_file_stays_small(tmp_path: Path) -> None:
    writer = StateWriter(tmp_path)
    writer.update([{"tunnel": "db", "state": "retrying", "detail": HOSTILE, "reconnects": 2}])
    assert writer.path.stat().st_size < 2 * DETAIL_LIMIT
    saved = json.loads(writer.path.read_text())["tunnels"][0]
    assert saved["reconnects"] == 2 and saved["detail"].startswith("\\x1b[31m")


def test_the_stream_handler_escapes_too() -> None:
    stream = io.StringIO()
    handler = logging.StreamHandler(stream)
    handler.setFormatter(SafeFormatter("%(message)s"))
    handler.emit(_record("%s", "\x1b]0;title\x07"))
    assert stream.getvalue() == "\\x1b]0;title\\x07\n"
