"""Page 6: the connection test, one row per check, run off the GUI thread."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from PySide6.QtCore import Qt
from PySide6.QtGui import QGuiApplication
from PySide6.QtWidgets import (
    QFrame,
    QHBoxLayout,
    QPushButton,
    QScrollArea,
    QVBoxLayout,
    QWidget,
    QWizardPage,
)

from app.engine.checks import DROPPED, NAMES, CheckResult, Outcome
from app.errors import TunnelkeeperError
from app.ui.wizard import keying, trial
from app.ui.wizard.check_list import CheckList
from app.ui.wizard.draft import Draft
from app.ui.wizard.task import PageTask
from app.ui.wizard.widgets import AMBER, GREEN, GREY, RED, Note, message_of

AUTHENTICATION = 4
END_TO_END = 7
NOT_ACCEPTED_YET = (
    "The jumphost does not accept the key yet: vendors add it some time after you paste "
    "it. Run again once they have, or save now: the tunnel then keeps trying and connects "
    "by itself as soon as they add it."
)


def key_not_accepted(results: dict[int, CheckResult]) -> bool:
    """The one failure is the jumphost refusing the key (not a dropped connection): what
    happens until the vendor adds the pasted public key, and what the tunnel retries."""
    failed = [r for _, r in sorted(results.items()) if r.status is Outcome.FAIL]
    return (
        len(failed) == 1
        and failed[0].number == AUTHENTICATION
        and failed[0].remedy != DROPPED
        and all(results.get(n) is not None and results[n].status is Outcome.PASS for n in (1, 2, 3))
    )


class ChecksPage(QWizardPage):
    def __init__(
        self,
        draft: Draft,
        running: Callable[[str], int | None],
        held_key: Callable[[str], Any] = lambda path: None,
    ) -> None:
        super().__init__()
        self.setObjectName("checks")
        self.draft = draft
        self._running, self._held_key = running, held_key
        self.setTitle("Test the tunnel")
        self.setSubTitle("Every step from this computer to the vendor, tried for real.")
        self._showing = True  # progress belongs to the run the rows show
        self._rerun = False  # the settings changed while a run was still going
        self._task = PageTask(self, "connection-test", self._finished, self._crashed, self._report)

        self.check_list = CheckList()
        self.check_list.column.setContentsMargins(0, 0, 4, 0)  # room for the scroll bar
        self.rows, self.results = self.check_list.rows, self.check_list.results
        scroll = QScrollArea()
        scroll.setWidget(self.check_list)
        scroll.setWidgetResizable(True)
        scroll.setFrameShape(QFrame.Shape.NoFrame)
        scroll.setHorizontalScrollBarPolicy(Qt.ScrollBarPolicy.ScrollBarAlwaysOff)
        scroll.setFocusPolicy(Qt.FocusPolicy.NoFocus)
        self.summary = Note()
        self.again = QPushButton("&Run again")
        self.again.clicked.connect(self.run)
        self._build_key_actions()

        layout = QVBoxLayout(self)
        layout.addWidget(scroll, 1)
        layout.addWidget(self.summary)
        layout.addWidget(self.again, 0, Qt.AlignmentFlag.AlignLeft)

    def _build_key_actions(self) -> None:
        """Under the authentication row: what to do while the vendor has not added the key."""
        self.copy_key = QPushButton("&Copy public key")
        self.copy_key.setToolTip("Copy the public key again, to paste it at the vendor")
        self.copy_key.clicked.connect(self._copy_key)
        self.keep_trying = QPushButton("&Save and keep trying")
        self.keep_trying.setToolTip(
            "Save the tunnel and start it: it retries until the vendor adds the key"
        )
        self.keep_trying.clicked.connect(self._keep_trying)
        self.copied = Note(GREY)
        self.key_actions = QWidget()
        row = QHBoxLayout(self.key_actions)
        row.setContentsMargins(28, 0, 0, 4)  # under the row's text, not its icon
        row.addWidget(self.copy_key)
        row.addWidget(self.keep_trying)
        row.addWidget(self.copied, 1)
        self.key_actions.hide()
        self.check_list.column.insertWidget(AUTHENTICATION, self.key_actions)  # after row 4

    @property
    def testing(self) -> bool:
        """A test run (perhaps an earlier one) is still going."""
        return self._task.in_flight > 0

    # --- running ------------------------------------------------------------------------

    def initializePage(self) -> None:
        self.run()  # each time: any page before may have changed something

    def run(self) -> None:
        self.check_list.clear()
        self.draft.keep_trying = False
        self.key_actions.hide()
        self.copied.say("")
        self.again.setEnabled(False)
        self.completeChanged.emit()
        if self._task.in_flight:
            # The earlier run still holds the jumphost's port; start when it lets go.
            self._showing, self._rerun = False, True
            self.summary.say("Waiting for the earlier test to finish…", GREY)
            return
        draft = self.draft
        try:
            profile = draft.profile(draft.suggested_name())
        except TunnelkeeperError as exc:
            self._crashed(exc)
            return
        load = keying.key_loader(draft.passphrase, draft.services.keys, self._held_key)
        services, running, pending = draft.services, self._running, draft.pending_pin
        self._showing = True
        self.check_list.start()
        self.summary.say("Testing…", GREY)
        self._task.start(
            lambda progress: trial.run_checks(services, profile, load, running, progress, pending)
        )

    def _report(self, value: Any) -> None:
        if not self._showing:
            return
        self.check_list.record(value)

    def _finished(self, _value: object) -> None:
        if self._rerun:
            self._rerun = False
            self.run()
            return
        self.again.setEnabled(True)
        self._summarise()
        self.completeChanged.emit()

    def _crashed(self, exc: Exception) -> None:
        self.check_list.halt()
        if self._rerun:
            self._finished(None)
            return
        self.again.setEnabled(True)
        self.summary.say(f"The test could not run: {message_of(exc)}", RED)
        self.completeChanged.emit()

    def _summarise(self) -> None:
        failed = self.check_list.with_outcome(Outcome.FAIL)
        skipped = self.results.get(END_TO_END)
        if key_not_accepted(self.results):
            self.copy_key.setVisible(bool(self.draft.public_line))  # the Key page read it
            self.key_actions.show()
            self.summary.say(NOT_ACCEPTED_YET, AMBER)
        elif failed:
            self.summary.say(
                f"{len(failed)} of {len(NAMES)} checks failed: fix what is shown in red "
                "(Back changes the settings), then Run again.",
                RED,
            )
        elif self.ready() and skipped is not None and skipped.status is Outcome.SKIPPED:
            self.summary.say(
                "Every check that could run passed, but the end-to-end check was skipped "
                f"(see 7), so delivery is not proven yet. You can go on; {skipped.remedy}",
                AMBER,
            )
        elif self.ready():
            self.summary.say("All checks passed.", GREEN)
        else:
            self.summary.say("The test did not finish; Run again.", RED)

    def ready(self) -> bool:
        """Checks 1 to 6 passed, and end to end passed or was skipped."""
        statuses = [self.results[n].status if n in self.results else None for n in NAMES]
        return all(s is Outcome.PASS for s in statuses[:-1]) and statuses[-1] in (
            Outcome.PASS,
            Outcome.SKIPPED,
        )

    # --- the key not accepted yet --------------------------------------------------------

    def _copy_key(self) -> None:
        QGuiApplication.clipboard().setText(self.draft.public_line)
        self.copied.say("The public key is on the clipboard.", GREY)

    def _keep_trying(self) -> None:
        if self.testing or not key_not_accepted(self.results):
            return
        self.draft.keep_trying = True
        self.completeChanged.emit()
        self.wizard().next()

    # --- QWizardPage --------------------------------------------------------------------

    def isComplete(self) -> bool:
        return not self.testing and (self.ready() or self.draft.keep_trying)
