"""The setup wizard: seven pages from a new key to a tested, saved tunnel profile, or the
few that change one part of a saved one."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from PySide6.QtCore import Signal
from PySide6.QtWidgets import QAbstractButton, QMessageBox, QWidget, QWizard

from app.core.profile import Profile
from app.errors import TunnelkeeperError
from app.platform.keychain import Keychain
from app.services.api import Services
from app.storage.paths import AppPaths
from app.ui import jobs
from app.ui.wizard import keying
from app.ui.wizard.checks import ChecksPage
from app.ui.wizard.draft import Draft, Finished, WizardPrefill
from app.ui.wizard.endpoint import EndpointPage
from app.ui.wizard.finish import Connections, FinishPage
from app.ui.wizard.hostkey import HostKeyPage
from app.ui.wizard.key import KeyPage
from app.ui.wizard.route import FIRST, NAMED, Page, Part, following
from app.ui.wizard.target import TargetPage
from app.ui.wizard.welcome import WelcomePage

__all__ = ["MIN_HEIGHT", "MIN_WIDTH", "Page", "Part", "SetupWizard"]

MIN_WIDTH, MIN_HEIGHT = 640, 480


class SetupWizard(QWizard):
    """Set up a tunnel, or edit one (``profile=``): the same pages, pre-filled.

    On Finish the host key trusted on its page is pinned, the profile is saved and
    ``completed(name, connect_now, start_at_login)`` is emitted, ``outcome`` saying the rest
    (what of an edited tunnel's connection changed, the key opened with the passphrase
    typed here); starting the tunnel and the login item are the app's job. Nothing is
    written before Finish (but a key made on the Key page).

    ``running`` says which process holds a tunnel's forward (for the test), ``connections``
    how many live connections a tunnel has (None when it runs nowhere): editing one that
    has some asks before an edit drops them. ``connect_now`` and ``at_login`` are the Finish
    page's ticks to begin with (when editing: as things are, so Finish changes nothing).

    ``part`` (editing only) changes one part of the tunnel: its page first, then the test
    only if the change alters the connection, then Finish (``route.following``); the
    pages not shown keep what the tunnel has. ``held_key`` gives a key the app has open
    (by path), so the test need not ask for a passphrase typed when the tunnel started.
    """

    completed = Signal(str, bool, bool)

    def __init__(
        self,
        paths: AppPaths,
        *,
        profile: Profile | None = None,
        prefill: WizardPrefill | None = None,
        keychain: Callable[[], Keychain] | None = None,
        running: Callable[[str], int | None] = lambda name: None,
        connections: Connections = lambda name: None,
        connect_now: bool = True,
        at_login: bool = True,
        part: Part | str | None = None,
        held_key: Callable[[str], Any] = lambda path: None,
        parent: QWidget | None = None,
    ) -> None:
        super().__init__(parent)
        if part is not None and profile is None:
            raise ValueError("only a saved tunnel has parts to change")
        self.part = Part(part) if part is not None else None
        self.draft = Draft(
            paths, Services(paths, keychain), editing=profile, prefill=prefill or WizardPrefill()
        )
        if profile is None:
            self.setWindowTitle("Set up a tunnel")
        elif self.part is None:
            self.setWindowTitle(f"Edit tunnel {profile.name} — Tunnelkeeper")
        else:
            self.setWindowTitle(f"Edit tunnel {profile.name}: {NAMED[self.part]} — Tunnelkeeper")
            self.draft.as_saved()
        if self.wizardStyle() is QWizard.WizardStyle.ClassicStyle:
            self.setWizardStyle(QWizard.WizardStyle.ModernStyle)  # a header for titles
        self.setOption(QWizard.WizardOption.NoBackButtonOnStartPage)
        self.setMinimumSize(MIN_WIDTH, MIN_HEIGHT)
        self.resize(720, 600)
        self.welcome_page = WelcomePage(self.draft)
        self.key_page = KeyPage(self.draft)
        self.endpoint_page = EndpointPage(self.draft)
        self.target_page = TargetPage(self.draft)
        self.hostkey_page = HostKeyPage(self.draft, held_key)
        self.checks_page = ChecksPage(self.draft, running, held_key)
        self.finish_page = FinishPage(self.draft, connections, connect_now, at_login)
        for page_id, page in zip(
            Page,
            (
                self.welcome_page,
                self.key_page,
                self.endpoint_page,
                self.target_page,
                self.hostkey_page,
                self.checks_page,
                self.finish_page,
            ),
            strict=True,
        ):
            self.setPage(page_id, page)
        if self.part is not None:
            self.setStartId(FIRST[self.part])
        self.accepted.connect(self._announce)
        self.discard_box: QMessageBox | None = None  # "delete the new key?" on Cancel
        self.delete_key: QAbstractButton | None = None
        self.keep_key: QAbstractButton | None = None

    @property
    def outcome(self) -> Finished | None:
        """What Finish saved (None until it has)."""
        return self.finish_page.outcome

    def nextId(self) -> int:
        """The whole wizard goes page by page; changing one part skips what it does not
        touch (asked again after each page is left: the answer follows what was chosen)."""
        current = self.currentId()
        if self.part is None or current < 0:
            return super().nextId()
        return following(
            self.part,
            Page(current),
            alters=self._alters(),
            new_jumphost=self.draft.new_jumphost(),
        )

    def _alters(self) -> bool:
        """What the pages hold now changes the edited tunnel's connection (or its host key),
        as Finish will judge it (``connection_changes``)."""
        editing = self.draft.editing
        if editing is None:
            return True
        try:
            profile = self.draft.profile(editing.name)
        except TunnelkeeperError:
            return True  # a gap the test shows
        return bool(self.finish_page.changes(profile))

    def _announce(self) -> None:
        finish = self.finish_page
        self.completed.emit(
            finish.name.text().strip(), finish.connect_now.isChecked(), finish.at_login.isChecked()
        )

    # --- Cancel -------------------------------------------------------------------------

    def reject(self) -> None:
        """Cancel (the button, Escape or closing the window): ask about keys made in this
        run first; the question's own Cancel returns to the wizard."""
        if not self.draft.created:
            super().reject()
            return
        if self.discard_box is not None and self.discard_box.isVisible():
            return
        question = self.key_page.discard_question()  # new keys, or copies of the person's
        box = QMessageBox(self)
        box.setIcon(QMessageBox.Icon.Question)
        box.setWindowTitle(question.title)
        box.setText(question.text)
        box.setInformativeText(question.details)
        self.delete_key = box.addButton(question.delete, QMessageBox.ButtonRole.DestructiveRole)
        self.keep_key = box.addButton(question.keep, QMessageBox.ButtonRole.AcceptRole)
        back = box.addButton(QMessageBox.StandardButton.Cancel)
        box.setDefaultButton(back)
        box.setEscapeButton(back)
        box.buttonClicked.connect(self._discard_answered)
        self.discard_box = box
        box.open()  # not exec(): the app's event loop keeps running (qasync)

    def _discard_answered(self, button: QAbstractButton) -> None:
        if button is self.delete_key:
            created, remembered = list(self.draft.created), list(self.draft.remembered)
            keychain = self.draft.services.keys
            jobs.start("forget-key", lambda _p: keying.forget(created, remembered, keychain))
            self.draft.created.clear()
            super().reject()
        elif button is self.keep_key:
            super().reject()
