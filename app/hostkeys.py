"""The app's own known_hosts file: reading it safely and pinning keys in it."""

from __future__ import annotations

import logging
from pathlib import Path

from app import knownhosts
from app.errors import CorruptConfigFile
from app.fileio import atomic_write

log = logging.getLogger(__name__)


def read_text(path: Path) -> str:
    """The file's text ('' when absent); unreadable files are reported and left alone."""
    try:
        return path.read_text(encoding="utf-8")
    except FileNotFoundError:
        return ""
    except UnicodeDecodeError as exc:
        raise CorruptConfigFile(str(path), f"not UTF-8 text ({exc.reason})") from None
    except IsADirectoryError:
        raise CorruptConfigFile(str(path), "it is a folder, not a file") from None
    except OSError as exc:
        raise CorruptConfigFile(str(path), exc.strerror or str(exc)) from None


def read(path: Path) -> knownhosts.ParsedFile:
    parsed = knownhosts.parse(read_text(path))
    for problem in parsed.problems:
        log.warning("%s line %d: %s", path, problem.line_number, problem.reason)
    return parsed


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
