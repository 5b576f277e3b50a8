"""The app's known_hosts file on disk: read once per change, bounded, broken files kept."""

from __future__ import annotations

import base64
import logging
import os
import time
from pathlib import Path

import pytest

from app.core import knownhosts
from app.errors import CorruptConfigFile
from app.storage import hostkeys

KEY = len(b"ssh-ed25519").to_bytes(4, "big") + b"ssh-ed25519" + (32).to_bytes(4, "big") + b"A" * 32
LINE = f"jump.example ssh-ed25519 {base64.b64encode(KEY).decode()}\n"


def _settled(path: Path, seconds_ago: int) -> None:
    """Date the file back, as a file not changed in the last moments is."""
    when = time.time_ns() - seconds_ago * 1_000_000_000
    os.utime(path, ns=(when, when))


def test_the_file_is_parsed_once_per_change_not_per_read(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    path = tmp_path / "known_hosts"
    path.write_text(LINE)
    _settled(path, 60)
    calls: list[int] = []
    real_parse = knownhosts.parse

    def counting(text: str) -> knownhosts.ParsedFile:
        calls.append(len(text))
        return real_parse(text)

    monkeypatch.setattr(knownhosts, "parse", counting)
    first = hostkeys.read(path)
    for _ in range(20):  # every reconnect reads it
        assert hostkeys.read(path) is first
    assert len(calls) == 1
    hostkeys.pin(path, "other.example", "ssh-ed25519", KEY)  # a change: read again
    assert len(hostkeys.read(path).entries) == 2
    _settled(path, 50)
    assert len(hostkeys.read(path).entries) == 2
    assert len(hostkeys.read(path).entries) == 2
    calls_before = len(calls)
    path.write_text(LINE)  # a change by hand
    _settled(path, 40)
    assert len(hostkeys.read(path).entries) == 1
    assert len(calls) == calls_before + 1


def test_a_file_changed_twice_within_a_clock_tick_is_not_served_stale(tmp_path: Path) -> None:
    path = tmp_path / "known_hosts"
    path.write_text(LINE)
    assert hostkeys.read(path).entries[0].patterns == ("jump.example",)
    stamp = path.stat().st_mtime_ns
    path.write_text(LINE.replace("jump.example", "jump.exampl2"))  # same size, same inode
    os.utime(path, ns=(stamp, stamp))  # and the same time, as on a coarse clock
    assert hostkeys.read(path).entries[0].patterns == ("jump.exampl2",)


def test_bad_lines_are_logged_once_and_at_most_a_few(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    path = tmp_path / "known_hosts"
    path.write_text("garbage\n" * 500 + LINE)
    _settled(path, 60)
    with caplog.at_level(logging.WARNING, logger="app.storage.hostkeys"):
        hostkeys.read(path)
        hostkeys.read(path)
    assert len(caplog.records) <= 11
    assert "490 more lines" in caplog.records[-1].getMessage()


def test_an_oversized_file_is_refused_unread_with_a_sentence(tmp_path: Path) -> None:
    path = tmp_path / "known_hosts"
    path.write_text("# x\n" * (knownhosts.MAX_LINES + 1))
    before = path.read_bytes()
    started = time.perf_counter()
    with pytest.raises(CorruptConfigFile) as caught:
        hostkeys.read(path)
    assert time.perf_counter() - started < 1.0
    assert "lines; at most 50,000 are read" in str(caught.value)
    assert "tunnelkeeper repair" in str(caught.value)
    assert path.read_bytes() == before


def test_a_file_that_is_not_ours_names_a_remedy_other_than_repair(tmp_path: Path) -> None:
    path = tmp_path / "their_known_hosts"
    path.write_bytes(b"\xff\xfe not utf-8")
    with pytest.raises(CorruptConfigFile) as caught:
        hostkeys.read(path, hostkeys.FOREIGN_REMEDY)
    message = str(caught.value)
    assert "not UTF-8" in message and "repair" not in message and "ssh-keygen -F" in message
