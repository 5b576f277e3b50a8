"""Page 7: name the tunnel, choose to connect now and start at login, and save it."""

from __future__ import annotations

import html
from typing import Any

from PySide6.QtWidgets import QCheckBox, QFormLayout, QLabel, QLineEdit, QVBoxLayout, QWizardPage

from app.core.profile import Profile, forward_bind_address, validate_name
from app.errors import InvalidField, TunnelkeeperError
from app.services.profiles import ProfileService
from app.ui.wizard.draft import Draft
from app.ui.wizard.task import PageTask
from app.ui.wizard.widgets import GREY, RED, Note, message_of, with_note


def existing_names(profiles: ProfileService) -> set[str]:
    return set(profiles.names())


def save(profiles: ProfileService, profile: Profile, old_name: str | None) -> None:
    """Add the profile; when editing, replace the old one (a rename removes the old name)."""
    profiles.save(profile, old_name)


def free_name(wanted: str, taken: set[str], own: str | None) -> str:
    number = 1
    while True:
        name = wanted if number == 1 else f"{wanted[:56]}-{number}"
        if name == own or name not in taken:
            return name
        number += 1


class FinishPage(QWizardPage):
    def __init__(self, draft: Draft) -> None:
        super().__init__()
        self.setObjectName("finish")
        self.draft = draft
        self.setTitle("Name the tunnel and finish")
        self.setSubTitle("Tunnelkeeper keeps it open from now on and reconnects by itself.")
        self.taken: set[str] | None = None  # existing tunnel names, once read
        self.saved = False
        self._own = draft.editing.name if draft.editing else None
        self._names = PageTask(self, "read-profiles", self._names_read, self._names_failed)
        self._save = PageTask(self, "save-profile", self._was_saved, self._save_failed)

        self.name = QLineEdit(draft.suggested_name())
        self.name.textChanged.connect(self._name_changed)
        self.name_note = Note()
        self.summary = QLabel()
        self.summary.setWordWrap(True)
        self.connect_now = QCheckBox("&Connect now")
        self.connect_now.setChecked(True)
        self.at_login = QCheckBox("Start Tunnelkeeper at &login")
        self.at_login.setChecked(True)
        self.note = Note()

        form = QFormLayout()
        form.addRow("Tunnel na&me:", with_note(self.name, self.name_note))
        layout = QVBoxLayout(self)
        layout.addLayout(form)
        layout.addSpacing(4)
        layout.addWidget(self.summary)
        layout.addSpacing(6)
        layout.addWidget(self.connect_now)
        layout.addWidget(self.at_login)
        layout.addWidget(self.note)
        layout.addStretch(1)

    def initializePage(self) -> None:
        self.saved = False
        self._describe()
        if self.taken is None:
            profiles = self.draft.services.profiles
            self._names.start(lambda _progress: existing_names(profiles))

    def _describe(self) -> None:
        fields = self.draft.fields()
        listen = forward_bind_address(fields.get("remote_bind")) or "*"
        target = self.draft.target
        to = f"{target[0]}:{target[1]}" if target else "?"
        self.summary.setText(
            "The jumphost <b>{host}</b> (user {user}) will listen on <b>{listen}:{port}</b> "
            "and send what arrives through the tunnel to <b>{to}</b>.<br>Key: {key}".format(
                host=html.escape(f"{fields.get('jumphost')}:{fields.get('ssh_port')}"),
                user=html.escape(str(fields.get("user"))),
                listen=html.escape(listen),
                port=fields.get("remote_port"),
                to=html.escape(to),
                key=html.escape(self.draft.key_path),
            )
        )

    def _names_read(self, value: Any) -> None:
        self.taken = set(value)
        wanted = self.name.text().strip() or self.draft.suggested_name()
        self.name.setText(free_name(wanted, self.taken, self._own))
        self._name_changed()

    def _names_failed(self, exc: Exception) -> None:
        self.note.say(message_of(exc), RED)

    def _name_changed(self) -> None:
        self.name_note.say(self._problem() or "")
        self.completeChanged.emit()

    def _problem(self) -> str | None:
        """What is wrong with the name ("" when it is fine, None while names are unread)."""
        name = self.name.text().strip()
        if not name:
            return "a tunnel needs a name."
        try:
            validate_name(name)
        except InvalidField as exc:
            return exc.message
        if self.taken is None:
            return None
        if name in self.taken and name != self._own:
            return f"a tunnel named {name!r} already exists; choose another name."
        return ""

    # --- saving -------------------------------------------------------------------------

    def _was_saved(self, _value: object) -> None:
        self.saved = True
        self.wizard().accept()

    def _save_failed(self, exc: Exception) -> None:
        self.note.say(f"Nothing was saved: {message_of(exc)}", RED)
        self.name.setEnabled(True)
        self.completeChanged.emit()

    def isComplete(self) -> bool:
        return self._problem() == "" and not self._save.running

    def validatePage(self) -> bool:
        if self.saved:
            return True
        if not self.isComplete():
            return False
        try:
            profile = self.draft.profile(self.name.text().strip())
        except TunnelkeeperError as exc:
            self._save_failed(exc)
            return False
        profiles, old = self.draft.services.profiles, self._own
        self.note.say("Saving…", GREY)
        self.name.setEnabled(False)
        self._save.start(lambda _progress: save(profiles, profile, old))
        self.completeChanged.emit()
        return False  # the wizard closes once the profile is written
