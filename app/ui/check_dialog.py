""" "Test connection…" from the tray: the seven checks for a saved tunnel, row by row."""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime
from typing import Any

from PySide6.QtCore import Qt, Signal
from PySide6.QtWidgets import (
    QDialog,
    QDialogButtonBox,
    QFrame,
    QPushButton,
    QScrollArea,
    QVBoxLayout,
    QWidget,
)

from app.core.profile import Profile
from app.engine.checks import NAMES, Outcome
from app.services.api import Services
from app.ui.icons import app_icon
from app.ui.palette import Tone
from app.ui.wizard import trial
from app.ui.wizard.check_list import CheckList
from app.ui.wizard.task import PageTask
from app.ui.wizard.widgets import AMBER, GREEN, GREY, RED, Note, message_of

KeyLookup = Callable[[str], Any]  # key path -> a key the app already holds, or None


class ConnectionTestDialog(QDialog):
    """Runs on the pool; the rows change on the GUI thread as each check reports."""

    tested = Signal(str, str, object)  # tunnel, the summary, its Tone (for the detail pane)

    def __init__(
        self,
        services: Services,
        profile: Profile,
        running: Callable[[str], int | None],
        held_key: KeyLookup = lambda path: None,
        parent: QWidget | None = None,
    ) -> None:
        super().__init__(parent)
        self.services, self.paths, self.profile = services, services.paths, profile
        self._running, self._held_key = running, held_key
        self.setWindowTitle(f"Test connection — {profile.name}")
        self.setWindowIcon(app_icon())
        self.setMinimumWidth(560)
        self.check_list = CheckList()
        self.rows, self.results = self.check_list.rows, self.check_list.results
        self.summary = Note()
        self.again = QPushButton("&Run again")
        self.again.clicked.connect(self.run)
        buttons = QDialogButtonBox(QDialogButtonBox.StandardButton.Close)
        buttons.addButton(self.again, QDialogButtonBox.ButtonRole.ActionRole)
        buttons.rejected.connect(self.reject)
        # In a scroll area, the rows get the height their wrapped words need at the
        # dialog's width (a top-level layout alone sizes them for one line, and clips).
        scroll = QScrollArea()
        scroll.setWidgetResizable(True)
        scroll.setFrameShape(QFrame.Shape.NoFrame)
        scroll.setHorizontalScrollBarPolicy(Qt.ScrollBarPolicy.ScrollBarAlwaysOff)
        scroll.setWidget(self.check_list)
        self.resize(700, 520)
        layout = QVBoxLayout(self)
        layout.addWidget(scroll, 1)
        layout.addWidget(self.summary)
        layout.addWidget(buttons)
        self._task = PageTask(self, "tray-test", self._finished, self._crashed, self._report)
        self.run()

    @property
    def testing(self) -> bool:
        return self._task.in_flight > 0

    def run(self) -> None:
        if self.testing:
            return
        self.check_list.clear()
        self.check_list.start()
        self.again.setEnabled(False)
        self.summary.say("Testing…", GREY)
        profile, services, running, load = (
            self.profile,
            self.services,
            self._running,
            self._load_key,
        )
        # the proxy password from the keychain, a `system` proxy from the system settings
        self._task.start(
            lambda progress: trial.run_checks(services, profile, load, running, progress, None)
        )

    def _load_key(self, profile: Profile) -> Any:
        """On the worker: the key the app holds, else the file (an encrypted one needs the
        tunnel to have been connected once, when its passphrase was asked for)."""
        held = self._held_key(profile.key_path)
        if held is not None:
            return held
        return self.services.keys.load_plain(profile).key

    def _report(self, value: Any) -> None:
        self.check_list.record(value)

    def _finished(self, _value: object) -> None:
        self.again.setEnabled(True)
        failed = self.check_list.with_outcome(Outcome.FAIL)
        skipped = self.check_list.with_outcome(Outcome.SKIPPED)
        if failed:
            numbers = ", ".join(str(r.number) for r in failed)
            self.summary.say(f"{len(failed)} of {len(NAMES)} checks failed.", RED)
            self._tell(f"{len(failed)} of {len(NAMES)} checks failed ({numbers})", Tone.NEEDS_YOU)
        elif skipped:
            names = ", ".join(r.name for r in skipped)
            self.summary.say(f"Every check that could run passed; skipped: {names}.", AMBER)
            self._tell(f"passed; skipped: {names}", Tone.TRYING)
        else:
            self.summary.say("All checks passed.", GREEN)
            self._tell("all checks passed", Tone.UP)

    def _crashed(self, exc: Exception) -> None:
        self.again.setEnabled(True)
        self.summary.say(f"The test could not run: {message_of(exc)}", RED)
        self._tell(f"could not run: {message_of(exc)}", Tone.NEEDS_YOU)

    def _tell(self, summary: str, tone: Tone) -> None:
        when = datetime.now().strftime("%Y-%m-%d %H:%M")
        self.tested.emit(self.profile.name, f"{when}: {summary}", tone)
