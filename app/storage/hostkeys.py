"""The app's own known_hosts file: reading it safely and pinning keys in it."""

from __future__ import annotations

import logging
import os
import threading
import time
from pathlib import Path

from app.core import knownhosts
from app.core.textsafe import safe_text
from app.errors import CorruptConfigFile
from app.storage.fileio import atomic_write

log = logging.getLogger(__name__)

# For a file that is not ours (``trust --import-known-hosts FILE``): `repair` cannot help.
FOREIGN_REMEDY = (
    "fix it, or import from a smaller file with just the jumphost's lines "
    "(`ssh-keygen -F HOST -f FILE > jumphost_known_hosts`)."
)
_LOGGED_PROBLEMS = 10  # per read; the rest are counted, so a hostile file cannot flood the log
_CACHED_FILES = 8
# File times can be as coarse as a clock tick (or a second): a file changed this recently
# is not cached, or a second same-size change in the same tick would go unseen.
_RACY_NS = 2_000_000_000

# (device, inode, size, mtime, ctime): a rewrite (ours are atomic renames) changes it
_Stamp = tuple[int, int, int, int, int]
_cache: dict[str, tuple[_Stamp, knownhosts.ParsedFile]] = {}
_cache_lock = threading.Lock()


def _read(path: Path, remedy: str | None) -> tuple[str, _Stamp | None]:
    def corrupt(detail: str) -> CorruptConfigFile:
        if remedy is None:
            return CorruptConfigFile(str(path), detail)
        return CorruptConfigFile(str(path), detail, remedy)

    try:
        with path.open("rb") as handle:
            info = os.fstat(handle.fileno())
            if info.st_size > knownhosts.MAX_BYTES:
                raise corrupt(
                    f"it is {info.st_size:,} bytes long; at most {knownhosts.MAX_BYTES:,} are read"
                )
            data = handle.read(knownhosts.MAX_BYTES + 1)
    except FileNotFoundError:
        return "", None
    except IsADirectoryError:
        raise corrupt("it is a folder, not a file") from None
    except MemoryError:
        raise corrupt("it is too large to read") from None
    except OSError as exc:
        raise corrupt(exc.strerror or str(exc)) from None
    try:
        text = data.decode("utf-8")
    except UnicodeDecodeError as exc:
        raise corrupt(f"not UTF-8 text ({exc.reason})") from None
    too_big = knownhosts.oversize(text)
    if too_big is not None:
        raise corrupt(too_big)
    if time.time_ns() - info.st_mtime_ns < _RACY_NS:
        return text, None  # changed just now: another change may keep the same stamp
    stamp = (info.st_dev, info.st_ino, info.st_size, info.st_mtime_ns, info.st_ctime_ns)
    return text, stamp


def read_text(path: Path, remedy: str | None = None) -> str:
    """The file's text ('' when absent); unreadable or oversized files are reported (with
    ``remedy``, by default `tunnelkeeper repair`) and left alone."""
    return _read(path, remedy)[0]


def read(path: Path, remedy: str | None = None) -> knownhosts.ParsedFile:
    """The parsed file, parsed again only when it changed (not on every reconnect); bad
    lines are logged once per change."""
    key = os.fspath(path)
    try:
        info = path.stat()
        stamp = (info.st_dev, info.st_ino, info.st_size, info.st_mtime_ns, info.st_ctime_ns)
    except OSError:
        stamp = None
    with _cache_lock:
        cached = _cache.get(key)
    if cached is not None and stamp is not None and cached[0] == stamp:
        return cached[1]
    text, read_stamp = _read(path, remedy)
    parsed = knownhosts.parse(text)
    _log_problems(path, parsed.problems)
    if read_stamp is not None:
        with _cache_lock:
            _cache.pop(key, None)
            _cache[key] = (read_stamp, parsed)
            while len(_cache) > _CACHED_FILES:
                del _cache[next(iter(_cache))]
    return parsed


def _log_problems(path: Path, problems: tuple[knownhosts.Problem, ...]) -> None:
    shown = safe_text(str(path))
    for problem in problems[:_LOGGED_PROBLEMS]:
        log.warning("%s line %d: %s", shown, problem.line_number, problem.reason)
    if len(problems) > _LOGGED_PROBLEMS:
        log.warning("%s: %d more lines could not be used", shown, len(problems) - _LOGGED_PROBLEMS)


def pin(path: Path, pattern: str, key_type: str, key_blob: bytes) -> None:
    """Make ``key`` the one trusted key for ``pattern``; other lines are kept as they are."""
    pin_all(path, pattern, [(key_type, key_blob)])


def pin_all(path: Path, pattern: str, keys: list[tuple[str, bytes]]) -> None:
    """Make ``keys`` the trusted keys for ``pattern`` (replacing earlier plain entries)."""
    text = read_text(path)
    lines = [knownhosts.format_line(pattern, key_type, blob) for key_type, blob in keys]
    atomic_write(
        path, knownhosts.replace_host(text, pattern, "\n".join(lines)).encode("utf-8"), 0o644
    )
