"""The app's settings while it runs: changed on the GUI thread, written off it, in order."""

from __future__ import annotations

import logging
import threading
from collections.abc import Set
from dataclasses import replace
from pathlib import Path

from app.core.events import State, TunnelEvent
from app.ui import jobs
from app.ui.settings import SettingsFile

log = logging.getLogger(__name__)


class Preferences:
    """``app.json`` loaded once; every change is saved by a worker, an older copy never last."""

    def __init__(self, path: Path) -> None:
        self.file = SettingsFile(path)
        self.settings = self.file.load()
        self._lock = threading.Lock()
        self._version = self._written = 0

    def save(self) -> None:
        """Write app.json off the GUI thread (atomic, with fsync); a copy, so later changes
        on this thread cannot race the writer."""
        snapshot = replace(self.settings, left_off=set(self.settings.left_off))
        self._version += 1
        version = self._version

        def write(_: object) -> None:
            with self._lock:  # writes in order: an older snapshot never wins
                if version > self._written:
                    self.file.save(snapshot)
                    self._written = version

        jobs.start(
            "save-settings",
            write,
            on_failed=lambda exc: log.warning("could not save %s: %s", self.file.path, exc),
        )

    def set_notifications(self, on: bool) -> None:
        self.settings.notifications = on
        self.save()

    def track_left_off(self, event: TunnelEvent) -> None:
        """A tunnel the user disconnects stays off at the next start; one they connect, on."""
        name = event.tunnel
        if event.state is State.STOPPED and event.detail == "disconnected.":
            changed = name not in self.settings.left_off
            self.settings.left_off.add(name)
        elif event.state in (State.CONNECTING, State.CONNECTED, State.STANDBY):
            changed = name in self.settings.left_off
            self.settings.left_off.discard(name)
        else:
            return
        if changed:
            self.save()

    def prune_left_off(self, names: Set[str]) -> None:
        """Forget tunnels left off that no longer exist."""
        if not self.settings.left_off <= names:
            self.settings.left_off &= names
            self.save()
