"""The desktop app's own settings (notifications, tunnels left off, metrics), in one JSON file."""

from __future__ import annotations

import json
import logging
from dataclasses import dataclass, field
from pathlib import Path

from app.core.safeload import Unparsable, loads_json
from app.errors import CorruptConfigFile
from app.storage.fileio import atomic_write

log = logging.getLogger(__name__)

FILE_NAME = "app.json"  # in the config folder, next to the profiles


@dataclass
class AppSettings:
    """What the tray remembers between runs; every tunnel not in ``left_off`` connects at
    start. ``metrics``: the HOST:PORT the app serves Prometheus metrics on ("": none);
    ``metrics_allow_remote`` lets that be an address other machines reach."""

    notifications: bool = True
    left_off: set[str] = field(default_factory=set)
    metrics: str = ""
    metrics_allow_remote: bool = False

    def to_json(self) -> str:
        body: dict[str, object] = {
            "notifications": self.notifications,
            "left_off": sorted(self.left_off),
        }
        if self.metrics or self.metrics_allow_remote:  # written only once someone uses them
            body["metrics"] = self.metrics
            body["metrics_allow_remote"] = self.metrics_allow_remote
        return json.dumps(body, indent=2) + "\n"


class SettingsFile:
    """``app.json`` next to the profiles; a broken file is reported and never overwritten."""

    def __init__(self, path: Path) -> None:
        self.path = path
        self.problem: CorruptConfigFile | None = None

    def load(self) -> AppSettings:
        settings, why = read_settings(self.path)
        if why is not None:
            return self._broken(why)
        self.problem = None
        return settings

    def save(self, settings: AppSettings) -> bool:
        """Write atomically; False (nothing written) while the file on disk is broken."""
        if self.problem is not None:
            return False
        atomic_write(self.path, settings.to_json().encode("utf-8"), mode=0o600)
        return True

    def _broken(self, why: str) -> AppSettings:
        self.problem = CorruptConfigFile(
            str(self.path),
            why,
            "fix it, or move it aside with `tunnelkeeper repair`; until then settings changes "
            "are not saved.",
        )
        log.warning("%s", self.problem)
        return AppSettings()


def read_settings(path: Path) -> tuple[AppSettings, str | None]:
    """The settings in ``path`` (defaults when absent), or defaults and why it is unusable."""
    try:
        text = path.read_text(encoding="utf-8")
    except FileNotFoundError:
        return AppSettings(), None
    except (OSError, UnicodeDecodeError, MemoryError) as exc:
        return AppSettings(), str(exc) or type(exc).__name__
    try:
        data = loads_json(text)
    except Unparsable as exc:  # bad JSON, or nested too deep to parse
        return AppSettings(), str(exc)
    if not isinstance(data, dict):
        return AppSettings(), "expected a JSON object"
    notifications = data.get("notifications", True)
    left_off = data.get("left_off", [])
    if not isinstance(notifications, bool):
        return AppSettings(), '"notifications" must be true or false'
    if not isinstance(left_off, list) or not all(isinstance(n, str) for n in left_off):
        return AppSettings(), '"left_off" must be a list of tunnel names'
    metrics = data.get("metrics", "")
    allow_remote = data.get("metrics_allow_remote", False)
    if not isinstance(metrics, str):
        return AppSettings(), '"metrics" must be an address such as "127.0.0.1:9464", or ""'
    if not isinstance(allow_remote, bool):
        return AppSettings(), '"metrics_allow_remote" must be true or false'
    return AppSettings(notifications, set(left_off), metrics, allow_remote), None
