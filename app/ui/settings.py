"""The desktop app's own settings (notifications, tunnels left off), kept in one JSON file."""

from __future__ import annotations

import json
import logging
from dataclasses import dataclass, field
from pathlib import Path

from app.errors import CorruptConfigFile
from app.fileio import atomic_write

log = logging.getLogger(__name__)


@dataclass
class AppSettings:
    """What the tray remembers between runs; every tunnel not in ``left_off`` connects at start."""

    notifications: bool = True
    left_off: set[str] = field(default_factory=set)

    def to_json(self) -> str:
        body = {"notifications": self.notifications, "left_off": sorted(self.left_off)}
        return json.dumps(body, indent=2) + "\n"


class SettingsFile:
    """``app.json`` next to the profiles; a broken file is reported and never overwritten."""

    def __init__(self, path: Path) -> None:
        self.path = path
        self.problem: CorruptConfigFile | None = None

    def load(self) -> AppSettings:
        try:
            text = self.path.read_text(encoding="utf-8")
        except FileNotFoundError:
            return AppSettings()
        except (OSError, UnicodeDecodeError) as exc:
            return self._broken(str(exc))
        try:
            data = json.loads(text)
        except json.JSONDecodeError as exc:
            return self._broken(f"line {exc.lineno}: {exc.msg}")
        if not isinstance(data, dict):
            return self._broken("expected a JSON object")
        notifications = data.get("notifications", True)
        left_off = data.get("left_off", [])
        if not isinstance(notifications, bool):
            return self._broken('"notifications" must be true or false')
        if not isinstance(left_off, list) or not all(isinstance(n, str) for n in left_off):
            return self._broken('"left_off" must be a list of tunnel names')
        self.problem = None
        return AppSettings(notifications, set(left_off))

    def save(self, settings: AppSettings) -> bool:
        """Write atomically; False (nothing written) while the file on disk is broken."""
        if self.problem is not None:
            return False
        atomic_write(self.path, settings.to_json().encode("utf-8"), mode=0o600)
        return True

    def _broken(self, why: str) -> AppSettings:
        self.problem = CorruptConfigFile(
            str(self.path), why, "fix or delete it; until then settings changes are not saved."
        )
        log.warning("%s", self.problem)
        return AppSettings()
