"""The tunnel history file: state transitions and byte counters in a small SQLite database."""

from __future__ import annotations

import contextlib
import logging
import os
import sqlite3
import time
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field
from pathlib import Path

from app.core.events import State
from app.core.history import GRACE, WEEK, Sample, Transition
from app.core.textsafe import safe_text
from app.errors import TunnelkeeperError
from app.storage.paths import ensure_private_dir

log = logging.getLogger(__name__)

KEEP = WEEK
ROW_CAP = 10_000
SAMPLE_KEEP = 2 * 3600.0
SAMPLE_CAP = 1_000
PRUNE_EVERY = 300.0
PRUNE_BATCH = 500
CAUSE_LIMIT = 300
BUSY_TIMEOUT = 5.0
SCHEMA = 1
HEADER = b"SQLite format 3\x00"
_SIDE_FILES = ("-journal", "-wal", "-shm")
_DAMAGED = frozenset(("SQLITE_CORRUPT", "SQLITE_NOTADB"))
_STATES = frozenset(s.value for s in State)

_TABLES = """
CREATE TABLE IF NOT EXISTS transitions (
    id INTEGER PRIMARY KEY,
    tunnel TEXT NOT NULL,
    at REAL NOT NULL,
    state TEXT NOT NULL,
    warning INTEGER NOT NULL,
    detail TEXT NOT NULL,
    until REAL NOT NULL
);
CREATE INDEX IF NOT EXISTS transitions_by_tunnel ON transitions (tunnel);
CREATE TABLE IF NOT EXISTS samples (
    id INTEGER PRIMARY KEY,
    tunnel TEXT NOT NULL,
    at REAL NOT NULL,
    to_target INTEGER NOT NULL,
    to_vendor INTEGER NOT NULL
);
CREATE INDEX IF NOT EXISTS samples_by_tunnel ON samples (tunnel, at);
"""
# a tunnel's latest state still held at a time (the row's ``until``)
_VOUCH = (
    "UPDATE transitions SET until = max(until, ?) WHERE id = "
    "(SELECT id FROM transitions WHERE tunnel = ? ORDER BY id DESC LIMIT 1)"
)


class HistoryUnreadable(TunnelkeeperError):
    """The history file exists but this process may not read it (another account's, such
    as the system service's), or it stayed busy."""

    def __init__(self, path: Path, why: str) -> None:
        super().__init__(f"the tunnel history {path} cannot be read: {why}.")
        self.path = path


@dataclass
class Batch:
    """Writes gathered by the recorder: ``transitions`` as (tunnel, transition, whether the
    tunnel's previous transition held until this one), ``vouch`` as (tunnel, time its
    latest state still held), ``samples`` as (tunnel, sample)."""

    transitions: list[tuple[str, Transition, bool]] = field(default_factory=list)
    vouch: list[tuple[str, float]] = field(default_factory=list)
    samples: list[tuple[str, Sample]] = field(default_factory=list)

    def __len__(self) -> int:
        return len(self.transitions) + len(self.vouch) + len(self.samples)

    def extend(self, other: Batch) -> None:
        self.transitions += other.transitions
        self.vouch += other.vouch
        self.samples += other.samples


@dataclass(frozen=True)
class Recorded:
    """One tunnel's rows: transitions oldest first, samples, and when the oldest kept
    transition began (None: none kept); ``problem`` says the file was damaged."""

    transitions: list[Transition]
    samples: list[Sample]
    first_at: float | None = None
    problem: str | None = None


def is_damage(exc: sqlite3.Error) -> bool:
    return getattr(exc, "sqlite_errorname", "") in _DAMAGED


def move_corrupt(path: Path) -> str:
    """Move ``path`` (and its journal) aside as ``NAME.corrupt-STAMP``; the sentence that
    says so (or why it could not be moved)."""
    stamp = time.strftime("%Y%m%d-%H%M%S")
    for attempt in range(1, 100):
        target = path.with_name(f"{path.name}.corrupt-{stamp}" + (f"-{attempt}" * (attempt > 1)))
        if not os.path.lexists(target):
            break
    try:
        path.rename(target)
    except FileNotFoundError:
        return f"the tunnel history {path} was damaged; another process moved it aside"
    except OSError as exc:
        return f"the tunnel history {path} is damaged and cannot be moved aside: {exc.strerror}"
    for side in _SIDE_FILES:
        with contextlib.suppress(OSError):
            Path(f"{path}{side}").rename(f"{target}{side}")
    return f"the tunnel history {path} was damaged; it is kept as {target.name} and a new one begun"


def _header(path: Path) -> bytes | None:
    """The file's first bytes; None when it does not exist. Raises OSError otherwise."""
    try:
        with open(path, "rb") as handle:
            return handle.read(len(HEADER))
    except FileNotFoundError:
        return None


class HistoryStore:
    """The writing side, for one thread (the recorder's writer): opens the file on first
    use, writes batches in one transaction each, and prunes.

    Bounds (each checked by tests/app/storage/test_history.py):

    - transitions whose state ended more than ``KEEP`` (7 days) ago are deleted;
    - at most ``ROW_CAP`` transitions per tunnel are kept (the oldest go first), so a tunnel
      that flaps for a week cannot grow the file without bound; between two prunes a tunnel
      can gain at most ``PRUNE_BATCH`` more;
    - byte-counter samples are kept for ``SAMPLE_KEEP`` (2 hours; the history shows the last
      hour), at most ``SAMPLE_CAP`` per tunnel;
    - a transition's detail is cut to ``CAUSE_LIMIT`` characters, control characters escaped;
      so one tunnel's rows take at most about 4 MB (measured with the longest details).

    Pruning runs with a write at most every ``PRUNE_EVERY`` s, or after ``PRUNE_BATCH`` rows;
    freed pages are handed back to the file system (incremental vacuum).

    The file is created with mode 0600 (its folder, when made here, 0700) and uses SQLite's
    default rollback journal (a reader never needs write access, and no -wal/-shm files are
    left beside it).
    Several processes may write at once (each hosts other tunnels): SQLite serialises them,
    each waiting up to ``BUSY_TIMEOUT`` s for the other. A file that is not a SQLite database
    of ours, or fails SQLite's check, is moved aside as ``NAME.corrupt-STAMP`` (its journal
    with it), said so in ``problems`` and the log, and a fresh one started.
    """

    def __init__(self, path: Path) -> None:
        self.path = path
        self.problems: list[str] = []
        self._db: sqlite3.Connection | None = None
        self._last_prune = -PRUNE_EVERY
        self._since_prune = 0

    def close(self) -> None:
        if self._db is not None:
            self._db.close()
            self._db = None

    def write(self, batch: Batch, now: float | None = None) -> None:
        """Write ``batch`` in one transaction (and prune when due). A damaged file is moved
        aside and the batch written to a fresh one. Raises sqlite3.Error (busy, disk full,
        read-only) and OSError; the batch is then not written."""
        now = time.time() if now is None else now
        for attempt in (1, 2):
            try:
                self._write(self._open(), batch, now)
                return
            except sqlite3.DatabaseError as exc:
                if attempt == 2 or not is_damage(exc):
                    raise
                self._set_aside()

    def _open(self) -> sqlite3.Connection:
        if self._db is not None:
            return self._db
        ensure_private_dir(self.path.parent)
        header = _header(self.path)
        if header and header != HEADER[: len(header)]:
            self._set_aside()
        fd = os.open(self.path, os.O_RDWR | os.O_CREAT, 0o600)
        os.close(fd)
        with contextlib.suppress(OSError):  # not ours to change: SQLite says if unusable
            if os.stat(self.path).st_mode & 0o077:
                os.chmod(self.path, 0o600)
        db = sqlite3.connect(self.path, timeout=BUSY_TIMEOUT, isolation_level=None)
        try:
            checked = db.execute("PRAGMA quick_check").fetchone()
            version = db.execute("PRAGMA user_version").fetchone()[0]
            if checked != ("ok",) or version not in (0, SCHEMA):
                db.close()
                self._set_aside()
                db = sqlite3.connect(self.path, timeout=BUSY_TIMEOUT, isolation_level=None)
            db.execute("PRAGMA auto_vacuum = INCREMENTAL")  # takes effect on a new file only
            db.execute("PRAGMA synchronous = NORMAL")
            # executescript commits whatever is open first: the whole script is its own
            db.executescript(f"BEGIN IMMEDIATE;{_TABLES}PRAGMA user_version = {SCHEMA};COMMIT;")
        except BaseException:
            db.close()
            raise
        self._db = db
        return db

    def _set_aside(self) -> None:
        self.close()
        said = move_corrupt(self.path)
        self.problems.append(said)
        log.warning("%s", said)

    def _write(self, db: sqlite3.Connection, batch: Batch, now: float) -> None:
        db.execute("BEGIN IMMEDIATE")
        try:
            for tunnel, step, continued in batch.transitions:
                if continued:
                    db.execute(_VOUCH, (step.at, tunnel))
                db.execute(
                    "INSERT INTO transitions (tunnel, at, state, warning, detail, until) "
                    "VALUES (?, ?, ?, ?, ?, ?)",
                    (
                        tunnel,
                        step.at,
                        step.state.value,
                        int(step.warning),
                        safe_text(step.detail, CAUSE_LIMIT),
                        step.at if step.until is None else step.until,
                    ),
                )
            for tunnel, at in batch.vouch:
                db.execute(_VOUCH, (at, tunnel))
            db.executemany(
                "INSERT INTO samples (tunnel, at, to_target, to_vendor) VALUES (?, ?, ?, ?)",
                [(t, s.at, s.to_target, s.to_vendor) for t, s in batch.samples],
            )
            self._since_prune += len(batch.transitions) + len(batch.samples)
            pruned = self._prune_if_due(db, now)
            db.execute("COMMIT")
        except BaseException:
            with contextlib.suppress(sqlite3.Error):
                db.execute("ROLLBACK")
            raise
        if pruned:
            db.execute("PRAGMA incremental_vacuum")

    def _prune_if_due(self, db: sqlite3.Connection, now: float) -> bool:
        clock = time.monotonic()
        if clock - self._last_prune < PRUNE_EVERY and self._since_prune < PRUNE_BATCH:
            return False
        self._last_prune, self._since_prune = clock, 0
        db.execute("DELETE FROM transitions WHERE until < ?", (now - KEEP - GRACE,))
        db.execute("DELETE FROM samples WHERE at < ?", (now - SAMPLE_KEEP,))
        for table, cap in (("transitions", ROW_CAP), ("samples", SAMPLE_CAP)):
            tunnels = [r[0] for r in db.execute(f"SELECT DISTINCT tunnel FROM {table}")]  # noqa: S608
            for tunnel in tunnels:
                db.execute(
                    f"DELETE FROM {table} WHERE tunnel = ? AND id <= ("  # noqa: S608
                    f"SELECT id FROM {table} WHERE tunnel = ? ORDER BY id DESC "
                    f"LIMIT 1 OFFSET {cap})",
                    (tunnel, tunnel),
                )
        return True


@contextlib.contextmanager
def _reading(path: Path) -> Iterator[sqlite3.Connection]:
    db = sqlite3.connect(f"{path.as_uri()}?mode=ro", uri=True, timeout=BUSY_TIMEOUT)
    try:
        yield db
    finally:
        db.close()


def read(path: Path, tunnel: str, since: float, samples_since: float) -> Recorded:
    """Tunnel ``tunnel``'s transitions that held at or after ``since`` and its samples
    from ``samples_since`` (wall-clock s). Nothing when there is no file yet. A damaged
    file is moved aside (``problem`` says so). Raises HistoryUnreadable when this process
    may not read it, or it stays busy."""
    try:
        header = _header(path)
    except OSError as exc:
        raise HistoryUnreadable(path, exc.strerror or str(exc)) from None
    if not header:
        return Recorded([], [])
    if header != HEADER[: len(header)]:
        return Recorded([], [], problem=move_corrupt(path))
    try:
        with _reading(path) as db:
            if not db.execute("SELECT 1 FROM sqlite_master WHERE name = 'samples'").fetchone():
                return Recorded([], [])  # a writer is creating it this moment
            rows = db.execute(
                "SELECT at, state, warning, detail, until FROM transitions "
                "WHERE tunnel = ? AND until >= ? ORDER BY id",
                (tunnel, since),
            ).fetchall()
            first = db.execute(
                "SELECT min(at) FROM transitions WHERE tunnel = ?", (tunnel,)
            ).fetchone()[0]
            samples = db.execute(
                "SELECT at, to_target, to_vendor FROM samples "
                "WHERE tunnel = ? AND at >= ? ORDER BY at",
                (tunnel, samples_since),
            ).fetchall()
    except sqlite3.DatabaseError as exc:
        if is_damage(exc):
            return Recorded([], [], problem=move_corrupt(path))
        raise HistoryUnreadable(path, str(exc)) from None
    return Recorded(
        [_transition(*row) for row in rows if row[1] in _STATES],
        [Sample(float(at), int(t), int(v)) for at, t, v in samples],
        float(first) if first is not None else None,
    )


def _transition(at: float, state: str, warning: int, detail: str, until: float) -> Transition:
    shown = safe_text(str(detail), CAUSE_LIMIT)
    return Transition(float(at), State(state), bool(warning), shown, float(until))


def count_rows(path: Path, tunnel: str | None = None) -> dict[str, int]:
    """Rows per table (of ``tunnel`` when given): for tests and diagnostics."""
    where, args = ("WHERE tunnel = ?", (tunnel,)) if tunnel is not None else ("", ())
    with _reading(path) as db:
        return {
            table: db.execute(f"SELECT count(*) FROM {table} {where}", args).fetchone()[0]  # noqa: S608
            for table in ("transitions", "samples")
        }


def write_now(path: Path, batches: Sequence[Batch], now: float | None = None) -> None:
    """Write ``batches`` with a store of its own, then close it (one-off writers, tests)."""
    store = HistoryStore(path)
    try:
        for batch in batches:
            store.write(batch, now)
    finally:
        store.close()
