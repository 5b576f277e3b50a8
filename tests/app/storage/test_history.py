"""The history file: bounded, private, shared by processes, and never lost to damage silently."""

from __future__ import annotations

import multiprocessing
import os
import re
import sqlite3
import stat
from pathlib import Path

import pytest

from app.core.events import State
from app.core.history import Sample, Transition
from app.storage.history import (
    CAUSE_LIMIT,
    KEEP,
    PRUNE_BATCH,
    ROW_CAP,
    SAMPLE_CAP,
    SAMPLE_KEEP,
    Batch,
    HistoryStore,
    HistoryUnreadable,
    count_rows,
    read,
    write_now,
)

NOW = 1_700_000_000.0


def transitions(tunnel: str, *steps: tuple[float, State]) -> Batch:
    batch = Batch()
    for at, state in steps:
        batch.transitions.append((tunnel, Transition(at, state, False, f"{state.value}"), True))
    return batch


def test_what_is_written_is_read_back(tmp_path: Path) -> None:
    path = tmp_path / "state" / "history.sqlite3"
    batch = transitions("db", (NOW - 100, State.CONNECTING), (NOW - 99, State.CONNECTED))
    batch.vouch.append(("db", NOW - 5))
    batch.samples += [("db", Sample(NOW - 20, 10, 1)), ("db", Sample(NOW - 10, 30, 2))]
    batch.transitions.append(("other", Transition(NOW - 50, State.RETRYING, detail="x"), False))
    write_now(path, [batch], NOW)

    found = read(path, "db", NOW - 1000, NOW - 15)
    assert [(t.at, t.state, t.until) for t in found.transitions] == [
        (NOW - 100, State.CONNECTING, NOW - 99),  # held until the next one began
        (NOW - 99, State.CONNECTED, NOW - 5),  # vouched for since
    ]
    assert found.samples == [Sample(NOW - 10, 30, 2)]
    assert found.first_at == NOW - 100 and found.problem is None
    assert read(path, "nobody", 0, 0).transitions == []
    assert read(tmp_path / "none.sqlite3", "db", 0, 0).first_at is None  # no file: nothing


def test_created_private_and_details_made_safe(tmp_path: Path) -> None:
    path = tmp_path / "new" / "history.sqlite3"
    batch = Batch()
    hostile = "\x1b]0;owned\x07" + "y" * 5000
    batch.transitions.append(("db", Transition(NOW, State.ERROR, detail=hostile), False))
    write_now(path, [batch], NOW)
    assert stat.S_IMODE(os.stat(path).st_mode) == 0o600
    assert stat.S_IMODE(os.stat(path.parent).st_mode) == 0o700
    (kept,) = read(path, "db", 0, 0).transitions
    assert kept.detail.startswith("\\x1b]0;owned\\x07yyy") and len(kept.detail) <= CAUSE_LIMIT


def test_a_flapping_tunnel_cannot_grow_the_file_without_bound(tmp_path: Path) -> None:
    """100 000 transitions (a tunnel flapping for days) keep at most ROW_CAP (+ one batch
    between prunes) rows, and the file stays a few megabytes however long it goes on."""
    path = tmp_path / "history.sqlite3"
    store = HistoryStore(path)
    detail = ("connection lost: " + "z" * CAUSE_LIMIT)[:CAUSE_LIMIT]  # the longest kept
    states = (State.CONNECTING, State.CONNECTED, State.RETRYING)
    sizes = []
    try:
        for round_, count in enumerate((100_000, 20_000)):
            for start in range(0, count, 250):
                batch = Batch()
                for i in range(start, start + 250):
                    at = NOW - 100_000 + i
                    step = Transition(at, states[i % 3], False, detail)
                    batch.transitions.append(("flappy", step, True))
                batch.samples.append(("flappy", Sample(NOW - 50 + start / 1e5, start, start)))
                store.write(batch, now=NOW + round_)
                if start % 5_000 == 0:
                    rows = count_rows(path, "flappy")
                    assert rows["transitions"] <= ROW_CAP + PRUNE_BATCH
                    assert rows["samples"] <= SAMPLE_CAP + PRUNE_BATCH
            sizes.append(path.stat().st_size)
    finally:
        store.close()
    assert sizes[0] < 6_000_000, sizes  # about 3.8 MB: ROW_CAP rows of the longest detail
    assert sizes[1] <= sizes[0] * 1.1, sizes  # freed pages are reused, not added to
    assert count_rows(path)["transitions"] >= ROW_CAP  # the newest are kept


def test_old_rows_go_after_a_week_and_samples_after_two_hours(tmp_path: Path) -> None:
    path = tmp_path / "history.sqlite3"
    old = transitions("db", (NOW - KEEP - 3600, State.CONNECTED), (NOW - KEEP - 60, State.STOPPED))
    old.samples.append(("db", Sample(NOW - SAMPLE_KEEP - 1, 5, 5)))
    recent = transitions("db", (NOW - 60, State.CONNECTING), (NOW - 59, State.CONNECTED))
    recent.samples.append(("db", Sample(NOW - 10, 5, 5)))
    long_up = transitions("steady", (NOW - 9 * 86400, State.CONNECTED))
    long_up.vouch.append(("steady", NOW - 5))  # up for nine days: its state is kept
    write_now(path, [old], NOW)
    store = HistoryStore(path)
    try:
        store.write(recent, now=NOW)
        store.write(long_up, now=NOW)
    finally:
        store.close()
    assert [t.state for t in read(path, "db", 0, 0).transitions] == [
        State.CONNECTING,
        State.CONNECTED,
    ]
    assert [s.at for s in read(path, "db", 0, 0).samples] == [NOW - 10]
    assert [t.state for t in read(path, "steady", 0, 0).transitions] == [State.CONNECTED]


def test_a_file_that_is_not_a_database_is_moved_aside_and_begun_again(tmp_path: Path) -> None:
    path = tmp_path / "history.sqlite3"
    path.write_bytes(b"this is no database\n" * 100)
    found = read(path, "db", 0, 0)
    assert found.problem is not None and str(path) in found.problem
    assert "kept as history.sqlite3.corrupt-" in found.problem
    (aside,) = tmp_path.glob("history.sqlite3.corrupt-*")
    assert aside.read_bytes().startswith(b"this is no database")

    path.write_bytes(b"garbage again" * 1000)
    store = HistoryStore(path)
    try:
        store.write(transitions("db", (NOW, State.CONNECTED)), now=NOW)
    finally:
        store.close()
    assert len(store.problems) == 1 and "corrupt-" in store.problems[0]
    assert len(list(tmp_path.glob("history.sqlite3.corrupt-*"))) == 2  # none replaced
    assert [t.state for t in read(path, "db", 0, 0).transitions] == [State.CONNECTED]


def test_a_damaged_database_is_moved_aside_too(tmp_path: Path) -> None:
    path = tmp_path / "history.sqlite3"
    write_now(path, [transitions("db", *((NOW + i, State.CONNECTED) for i in range(2000)))], NOW)
    data = bytearray(path.read_bytes())
    data[4096:] = b"\xff" * (len(data) - 4096)  # every page after the first destroyed
    path.write_bytes(bytes(data))
    store = HistoryStore(path)
    try:
        store.write(transitions("db", (NOW + 5000, State.RETRYING)), now=NOW + 5000)
    finally:
        store.close()
    assert store.problems and str(path) in store.problems[0]
    assert [t.state for t in read(path, "db", 0, 0).transitions] == [State.RETRYING]


def _refused_read(path: Path) -> str:
    """Read ``path`` as an account it is not readable by: this one, or (as root, who reads
    anything) a forked child that became ``nobody``. Returns the error's text."""
    if os.geteuid() != 0:
        with pytest.raises(HistoryUnreadable) as raised:
            read(path, "db", 0, 0)
        return str(raised.value)
    reader, writer = os.pipe()
    child = os.fork()
    if child == 0:  # the child: drop to nobody, try, report, and leave at once
        code = 1
        try:
            os.close(reader)
            os.setgroups([])
            os.setgid(65534)
            os.setuid(65534)
            try:
                read(path, "db", 0, 0)
            except HistoryUnreadable as exc:
                os.write(writer, str(exc).encode()[:4096])
                code = 0
        finally:
            os._exit(code)
    os.close(writer)
    with os.fdopen(reader, "rb") as said:
        text = said.read().decode()
    _pid, status = os.waitpid(child, 0)
    assert os.waitstatus_to_exitcode(status) == 0, "the read was not refused"
    return text


@pytest.mark.skipif(os.name != "posix", reason="file modes are POSIX")
def test_a_file_this_account_may_not_read_is_said_so(tmp_path: Path) -> None:
    path = tmp_path / "history.sqlite3"
    write_now(path, [transitions("db", (NOW, State.CONNECTED))], NOW)
    tmp_path.chmod(0o755)  # the folder may be entered; the file itself is refused
    path.chmod(0)
    try:
        assert re.search(r"history\.sqlite3 cannot be read", _refused_read(path))
    finally:
        path.chmod(0o600)


def test_a_path_that_cannot_be_read_is_said_so(tmp_path: Path) -> None:
    (tmp_path / "history.sqlite3").mkdir()  # what root meets, where others meet mode 0700
    with pytest.raises(HistoryUnreadable, match=r"history\.sqlite3 cannot be read"):
        read(tmp_path / "history.sqlite3", "db", 0, 0)


def _write_many(path: str, tunnel: str, count: int) -> None:
    """In another process: one small transaction per transition, as a host writes."""
    store = HistoryStore(Path(path))
    try:
        for i in range(count):
            store.write(transitions(tunnel, (NOW + i, State.CONNECTED)), now=NOW)
    finally:
        store.close()


def test_two_processes_write_at_once(tmp_path: Path) -> None:
    path = tmp_path / "history.sqlite3"
    context = multiprocessing.get_context("spawn")
    workers = [
        context.Process(target=_write_many, args=(str(path), name, 150)) for name in ("a", "b")
    ]
    for worker in workers:
        worker.start()
    for worker in workers:
        worker.join(120)
    assert [w.exitcode for w in workers] == [0, 0]
    assert count_rows(path, "a")["transitions"] == 150
    assert count_rows(path, "b")["transitions"] == 150
    with sqlite3.connect(path) as db:
        assert db.execute("PRAGMA integrity_check").fetchone() == ("ok",)
