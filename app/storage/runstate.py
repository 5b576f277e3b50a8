"""The running instance's published state: one JSON file per `run` process, for `status`."""

from __future__ import annotations

import contextlib
import json
import math
import os
import time
from pathlib import Path
from typing import Any

from app.core.safeload import Unparsable, loads_json
from app.core.textsafe import DETAIL_LIMIT, safe_value
from app.storage.fileio import atomic_write

HEARTBEAT = 10.0  # rewrite at least this often, so readers can tell a live file
STALE_AFTER = 3 * HEARTBEAT


def state_file(runtime_dir: Path, pid: int | None = None) -> Path:
    return runtime_dir / f"run-{os.getpid() if pid is None else pid}.json"


class StateWriter:
    """Writes this process's tunnel snapshots when they change (and as a heartbeat)."""

    def __init__(self, runtime_dir: Path) -> None:
        self.path = state_file(runtime_dir)
        self._last_body = ""
        self._last_write = 0.0

    def update(self, tunnels: list[dict[str, Any]], force: bool = False) -> None:
        # details quote servers: escaped and bounded, so the file stays small and `status` safe
        tunnels = safe_value(tunnels, DETAIL_LIMIT)
        body = json.dumps(tunnels, sort_keys=True)
        now = time.monotonic()
        if not force and body == self._last_body and now - self._last_write < HEARTBEAT:
            return
        document = {"pid": os.getpid(), "updated_at": time.time(), "tunnels": tunnels}
        try:
            atomic_write(self.path, json.dumps(document, indent=2).encode("utf-8"), 0o600)
        except OSError:
            return  # status is a convenience; never let it take the tunnels down
        self._last_body, self._last_write = body, now

    def remove(self) -> None:
        with contextlib.suppress(OSError):
            self.path.unlink()


def process_alive(pid: int) -> bool:
    """Whether process ``pid`` exists (ours or not); always True off POSIX, where
    ``os.kill(pid, 0)`` would end it (freshness decides there)."""
    if pid <= 0:
        return False
    if os.name != "posix":
        return True
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


MAX_STATE_BYTES = 4 * 1024 * 1024  # ours are a few KiB; a bigger one is not read


def _load(path: Path) -> tuple[int, float, list[Any]]:
    """A run-state file's pid, time and tunnels; :class:`Unparsable` says what is wrong, and
    ``FileNotFoundError`` means its process just ended (not a problem)."""
    try:
        with path.open("rb") as handle:
            if os.fstat(handle.fileno()).st_size > MAX_STATE_BYTES:
                raise Unparsable(f"it is larger than {MAX_STATE_BYTES:,} bytes")
            text = handle.read(MAX_STATE_BYTES + 1).decode("utf-8")
    except FileNotFoundError:
        raise
    except UnicodeDecodeError as exc:
        raise Unparsable(f"not UTF-8 text ({exc.reason})") from None
    except (OSError, MemoryError) as exc:
        raise Unparsable(str(exc) or type(exc).__name__) from None
    document = loads_json(text)  # bounded nesting: never a RecursionError
    try:
        pid = int(document["pid"])
        updated = float(document["updated_at"])
        tunnels = list(document["tunnels"])
    except (ValueError, KeyError, TypeError, OverflowError) as exc:
        raise Unparsable(f"not a run-state document ({type(exc).__name__})") from None
    if pid <= 0 or not math.isfinite(updated):
        raise Unparsable("not a run-state document (bad pid or time)")
    return pid, updated, tunnels


def problem_of(path: Path) -> str | None:
    """Why a run-state file cannot be read (for `repair`), or None when it is fine or gone."""
    try:
        _load(path)
    except FileNotFoundError:
        return None
    except Unparsable as exc:
        return str(exc)
    return None


def state_files(runtime_dir: Path) -> list[Path]:
    try:
        return sorted(runtime_dir.glob("run-*.json"))
    except OSError:
        return []


def read_running(
    runtime_dir: Path, problems: list[tuple[Path, str]] | None = None
) -> list[dict[str, Any]]:
    """Snapshots of every live `run` process, each tunnel tagged with its ``pid``; files that
    cannot be read are skipped (and added to ``problems`` when given)."""
    found: list[dict[str, Any]] = []
    for path in state_files(runtime_dir):
        try:
            pid, updated, tunnels = _load(path)
        except FileNotFoundError:
            continue
        except Unparsable as exc:
            if problems is not None:
                problems.append((path, str(exc)))
            continue
        if not process_alive(pid) or time.time() - updated > STALE_AFTER:
            continue
        for tunnel in tunnels:
            if isinstance(tunnel, dict):
                found.append({**tunnel, "pid": pid})
    return found
