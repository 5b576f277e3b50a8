"""A host's log as its controllers read it: the last lines of a tunnel, then new ones."""

from __future__ import annotations

import asyncio
import os
from collections import deque
from collections.abc import AsyncIterator
from pathlib import Path

from app.core.textsafe import DETAIL_LIMIT, safe_text

TAIL_BYTES = 4 * 1024 * 1024  # how far back from the end ``last_lines`` reads at most
POLL = 0.5  # seconds between looks at a followed log
FOLLOW_CHUNK = 256 * 1024


def _mine(line: str, name: str) -> bool:
    """Whether a log line is tunnel ``name``'s: an engine line ("[name] …") or one of its
    events ("…: name: connected — …")."""
    return not name or f"[{name}]" in line or f": {name}: " in line


def last_lines(path: Path, name: str, count: int) -> list[str]:
    """The last ``count`` lines of the log (of tunnel ``name`` only, when given), escaped."""
    try:
        with open(path, "rb") as handle:
            size = handle.seek(0, os.SEEK_END)
            handle.seek(max(0, size - TAIL_BYTES))
            data = handle.read(TAIL_BYTES)
    except FileNotFoundError:
        return []
    text = data.decode("utf-8", "replace").splitlines()
    if size > TAIL_BYTES and text:
        text = text[1:]  # the first one is cut
    kept: deque[str] = deque(maxlen=count)
    for line in text:
        if _mine(line, name):
            kept.append(safe_text(line, DETAIL_LIMIT))
    return list(kept)


class LogFollower:
    """Lines added to the log since the last ``read()`` (the first call: since this was
    made); a rotated log (it got smaller) is read again from its start."""

    def __init__(self, path: Path, name: str) -> None:
        self._path = path
        self._name = name
        self._offset = self._size()
        self._partial = b""

    def _size(self) -> int:
        try:
            return self._path.stat().st_size
        except FileNotFoundError:
            return 0

    def read(self) -> list[str]:
        size = self._size()
        if size < self._offset:
            self._offset, self._partial = 0, b""
        out: list[str] = []
        while size > self._offset and len(out) < 10_000:
            try:
                with open(self._path, "rb") as handle:
                    handle.seek(self._offset)
                    chunk = handle.read(FOLLOW_CHUNK)
            except FileNotFoundError:
                break
            if not chunk:
                break
            self._offset += len(chunk)
            *complete, self._partial = (self._partial + chunk).split(b"\n")
            if len(self._partial) > DETAIL_LIMIT * 4:
                self._partial = b""  # a line without end: not kept without bound
            for raw in complete:
                line = raw.decode("utf-8", "replace")
                if _mine(line, self._name):
                    out.append(safe_text(line, DETAIL_LIMIT))
        return out


async def follow_lines(path: Path, name: str, until: asyncio.Future[bytes]) -> AsyncIterator[str]:
    """Lines added to the log from now on, until ``until`` is done."""
    reader = LogFollower(path, name)
    while not until.done():
        for line in reader.read():
            yield line
        await asyncio.wait({until}, timeout=POLL)
