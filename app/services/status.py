"""Running tunnels as their `run` processes publish them (the run-state files)."""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from app.core.textsafe import DETAIL_LIMIT, safe_value
from app.errors import CorruptConfigFile
from app.storage.paths import AppPaths
from app.storage.runstate import read_running


@dataclass(frozen=True)
class RunningTunnels:
    """Each running tunnel's last published status (a dict with ``tunnel``, ``state``,
    ``pid``…), and a sentence for each run-state file that could not be read (skipped)."""

    tunnels: list[dict[str, Any]]
    problems: list[str] = field(default_factory=list)


class StatusService:
    """What the `run` processes on this machine say about their tunnels."""

    def __init__(self, paths: AppPaths) -> None:
        self._paths = paths

    def running(self, names: list[str] | None = None) -> RunningTunnels:
        """The live tunnels (only ``names`` when given), text escaped for printing."""
        unreadable: list[tuple[Path, str]] = []
        found = read_running(self._paths.runtime_dir, unreadable)
        problems = [str(CorruptConfigFile(str(path), why)) for path, why in unreadable]
        tunnels: list[dict[str, Any]] = safe_value(found, DETAIL_LIMIT)
        if names:
            tunnels = [t for t in tunnels if t.get("tunnel") in names]
        return RunningTunnels(tunnels, problems)

    def connected_pid(self, name: str) -> int | None:
        """The process whose tunnel ``name`` is connected now, or None."""
        for tunnel in read_running(self._paths.runtime_dir):
            if tunnel.get("tunnel") == name and tunnel.get("state") == "connected":
                return int(tunnel["pid"])
        return None
