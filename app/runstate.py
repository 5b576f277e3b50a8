"""The running instance's published state: one JSON file per `run` process, for `status`."""

from __future__ import annotations

import contextlib
import json
import os
import time
from pathlib import Path
from typing import Any

from app.fileio import atomic_write

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


def _alive(pid: int) -> bool:
    if os.name != "posix":
        return True  # freshness of the heartbeat decides on other systems
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


def read_running(runtime_dir: Path) -> list[dict[str, Any]]:
    """Snapshots of every live `run` process, each tunnel tagged with its ``pid``."""
    found: list[dict[str, Any]] = []
    for path in sorted(runtime_dir.glob("run-*.json")):
        try:
            document = json.loads(path.read_text(encoding="utf-8"))
            pid = int(document["pid"])
            updated = float(document["updated_at"])
            tunnels = list(document["tunnels"])
        except (OSError, ValueError, KeyError, TypeError):
            continue
        if not _alive(pid) or time.time() - updated > STALE_AFTER:
            continue
        for tunnel in tunnels:
            if isinstance(tunnel, dict):
                found.append({**tunnel, "pid": pid})
    return found
