"""Diagnostics for vendor support: the "Copy diagnostics" text and "Save diagnostics…" zip."""

from __future__ import annotations

from collections.abc import Callable, Mapping
from pathlib import Path
from typing import Any

import PySide6
from PySide6.QtCore import QObject, Qt, qVersion
from PySide6.QtWidgets import QFileDialog, QWidget

from app.core.diagnose import build, profile_view
from app.core.events import TunnelEvent
from app.errors import TunnelkeeperError
from app.services.api import Services
from app.services.diagnose import SavedDiagnostics
from app.ui import jobs, system_proxy

__all__ = ["ChooseSave", "DiagnosticsSaver", "build", "choose_save_path", "profile_view"]

ChooseSave = Callable[[QWidget, str, Callable[[str], None]], object]
"""Asks where to save (``parent``, the suggested path) and calls back with the chosen path;
returns at once (the app runs qasync: no exec())."""


def choose_save_path(parent: QWidget, suggested: str, on_chosen: Callable[[str], None]) -> object:
    """A Save dialog for a zip file, opened without a nested event loop."""
    dialog = QFileDialog(parent, "Save diagnostics", suggested, "Zip files (*.zip)")
    dialog.setAcceptMode(QFileDialog.AcceptMode.AcceptSave)
    dialog.setDefaultSuffix("zip")
    dialog.selectFile(suggested)
    dialog.setAttribute(Qt.WidgetAttribute.WA_DeleteOnClose)
    dialog.fileSelected.connect(on_chosen)
    dialog.open()
    return dialog


class DiagnosticsSaver(QObject):
    """ "Save diagnostics…": asks where (``choose``, a seam for tests), gathers and writes the
    zip on a worker (the connection test dials the jumphost), then ``say``s where it went or
    why it did not. ``busy`` while a bundle is being made; ``on_busy`` hears it change."""

    def __init__(
        self,
        parent: QWidget,
        services: Services,
        say: Callable[[str], None],
        on_busy: Callable[[bool], None] = lambda busy: None,
    ) -> None:
        super().__init__(parent)
        self.choose: ChooseSave = choose_save_path
        self.busy = False
        self.saved: SavedDiagnostics | None = None  # the last bundle written
        self._parent = parent
        self._services = services
        self._say = say
        self._on_busy = on_busy

    def start(
        self,
        name: str | None,
        live: Mapping[str, Mapping[str, Any]],
        events: list[TunnelEvent],
    ) -> None:
        """Ask where, then save tunnel ``name``'s bundle (every tunnel's when None), with
        the window's ``live`` status and recent ``events`` (plain data, read on this thread)."""
        if self.busy:
            return
        suggested = self._services.diagnose.default_path(Path.home())
        self.choose(
            self._parent, str(suggested), lambda path: self._save(Path(path), name, live, events)
        )

    def _save(
        self,
        path: Path,
        name: str | None,
        live: Mapping[str, Mapping[str, Any]],
        events: list[TunnelEvent],
    ) -> None:
        if self.busy or not str(path):
            return
        self._set_busy(True)
        services = self._services
        qt = {"qt": f"PySide6 {PySide6.__version__}, Qt {qVersion()}"}

        def work(progress: jobs.Progress) -> SavedDiagnostics:  # on a worker: no widgets
            return services.diagnose.save(
                name,
                path,
                events=events,
                live=live,
                extra_versions=qt,
                env_for=system_proxy.environment_for,
                progress=progress,
            )

        self._say("Saving diagnostics…")
        jobs.start("save-diagnostics", work, self._done, self._failed, self._progress)

    def _progress(self, step: object) -> None:
        self._say(f"Saving diagnostics: {step}…")

    def _done(self, saved: SavedDiagnostics) -> None:
        self.saved = saved
        self._set_busy(False)
        self._say(
            f"Diagnostics saved to {saved.path}: send this file to the vendor's support "
            f"(README.txt inside lists what it holds). {saved.summary}"
        )

    def _failed(self, exc: Exception) -> None:
        self._set_busy(False)
        why = str(exc) if isinstance(exc, TunnelkeeperError) else f"{type(exc).__name__}: {exc}"
        self._say(f"Diagnostics not saved: {why}")

    def _set_busy(self, busy: bool) -> None:
        self.busy = busy
        self._on_busy(busy)
