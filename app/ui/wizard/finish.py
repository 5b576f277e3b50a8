"""Page 7: name the tunnel, choose to connect now and start at login, and save it."""

from __future__ import annotations

import html
import logging
from collections.abc import Callable
from dataclasses import replace
from typing import Any

from PySide6.QtWidgets import (
    QAbstractButton,
    QCheckBox,
    QFormLayout,
    QLabel,
    QLineEdit,
    QMessageBox,
    QVBoxLayout,
    QWizard,
    QWizardPage,
)

from app.core.jump import parse_jump
from app.core.profile import Profile, connection_changes, forward_bind_address, validate_name
from app.core.proxy import parse_proxy
from app.core.textsafe import safe_text
from app.errors import InvalidField, TunnelkeeperError
from app.services.api import Services
from app.services.hostkeys import HostKey
from app.services.profiles import ProfileService
from app.ui import system_proxy
from app.ui.wizard import keying
from app.ui.wizard.draft import Draft, Finished
from app.ui.wizard.role_field import role_line
from app.ui.wizard.task import PageTask
from app.ui.wizard.widgets import AMBER, GREY, RED, Note, message_of, with_note

log = logging.getLogger(__name__)

UNKNOWN = "not known"  # the system settings' route could not be asked
HOST_KEY = "host_key"  # a change of the pinned jumphost key (not a profile field)
KEEP_TRYING = (
    "The vendor has not accepted the key yet: the tunnel is saved and started, and keeps "
    "trying until they add it; then it connects by itself."
)

Connections = Callable[[str], "int | None"]
"""A tunnel's open connections now (0 when it runs without any), None when it runs nowhere."""


def existing_names(profiles: ProfileService) -> set[str]:
    return set(profiles.names())


def save(profiles: ProfileService, profile: Profile, old_name: str | None) -> None:
    """Add the profile; when editing, replace the old one (a rename removes the old name)."""
    profiles.save(profile, old_name)


def save_all(
    services: Services,
    profile: Profile,
    old_name: str | None,
    pending: list[HostKey],
    passphrase: str | None,
    proxy_password: str | None = None,
) -> Any:
    """On a worker thread: keep the proxy password typed in this run in the keychain (a
    keychain that refuses it stops the save: it is kept nowhere else), pin the host key
    trusted in this run (if any), save the profile, and return its key opened with the
    passphrase typed in this run (None without one, or when it does not open), so the
    app's first start need not ask for it again."""
    if proxy_password is not None:
        kept = services.proxies.remember(profile, proxy_password)
        if not kept.stored:
            raise TunnelkeeperError(
                f"the proxy password could not be kept in the keychain ({kept.reason}); "
                "a tunnel's settings never hold it."
            )
    key = None
    if passphrase is not None:
        try:
            key = keying.load_key(profile.key_path, passphrase, services.keys, profile.name)
        except TunnelkeeperError as exc:  # the tunnel asks when it starts instead
            log.info("the key could not be handed over: %s", type(exc).__name__)
    for host_key in pending:  # the jump hosts' first; each replaces what its host had
        services.hostkeys.pin([host_key])
    save(services.profiles, profile, old_name)
    return key


def proxy_line(spec: str, currently: str | None) -> str:
    """The summary's proxy: "Proxy: none", "Proxy: HTTP proxy 10.0.0.5:3128 as alice" (a
    spec never holds a password), or for the system settings what they give now,
    ``currently`` ("direct", "HTTP proxy 10.0.0.5:3128"; None while it is asked)."""
    try:
        setting = parse_proxy(spec)
    except InvalidField:
        return f"Proxy: {safe_text(spec)}"  # the Endpoint page let no such spec through
    if setting.kind == "none":
        return "Proxy: none"
    if setting.kind == "system":
        now = "checking…" if currently is None else currently
        return f"Proxy: {system_proxy.SOURCE} (currently: {now})"
    user = "" if setting.user is None else f" as {setting.user}"
    return f"Proxy: {setting.label}{user}"


def jump_line(jump: str | None) -> str:
    """The summary's jump hosts, the first dialled first: "Jump hosts: ops@bastion.corp:22
    → 10.1.0.7:22"; "" for none."""
    if not jump:
        return ""
    try:
        hops = [hop.text for hop in parse_jump(jump)]
    except InvalidField:
        hops = [safe_text(jump)]  # the Endpoint page let no such chain through
    return "Jump hosts: " + " → ".join(hops)


def system_route_now(profile: Profile) -> str:
    """On a worker (a PAC script may take seconds): the way the system settings send
    ``profile``'s connections now, as ``proxy_line`` shows it."""
    try:
        route = system_proxy.route_now(profile)
    except TunnelkeeperError:
        # not its words: a malformed proxy variable is quoted in them, password and all
        return "cannot be used, see the test"
    return "direct" if route.proxy is None else route.proxy.label


def dropping(count: int) -> str:
    """The question before an edit cuts ``count`` (1 or more) live connections."""
    plural = "" if count == 1 else "s"
    return f"This will drop {count} active connection{plural}. Apply now?"


def free_name(wanted: str, taken: set[str], own: str | None) -> str:
    number = 1
    while True:
        name = wanted if number == 1 else f"{wanted[:56]}-{number}"
        if name == own or name not in taken:
            return name
        number += 1


class FinishPage(QWizardPage):
    def __init__(
        self,
        draft: Draft,
        connections: Connections = lambda name: None,
        connect_now: bool = True,
        at_login: bool = True,
    ) -> None:
        super().__init__()
        self.setObjectName("finish")
        self.draft = draft
        self._connections = connections
        self.setTitle("Name the tunnel and finish")
        self.setSubTitle("Tunnelkeeper keeps it open from now on and reconnects by itself.")
        self.taken: set[str] | None = None  # existing tunnel names, once read
        self.saved = False
        self.outcome: Finished | None = None  # what was saved, once it is
        self._own = draft.editing.name if draft.editing else None
        self._names = PageTask(self, "read-profiles", self._names_read, self._names_failed)
        self._save = PageTask(self, "save-profile", self._was_saved, self._save_failed)
        self._route = PageTask(
            self, "finish-route", self._route_read, lambda _exc: self._route_read(UNKNOWN)
        )
        self._currently: str | None = None  # the system settings' route, once asked
        self._saving: Finished | None = None  # what is being saved
        self.drop_box: QMessageBox | None = None  # "this will drop N connections"
        self.apply_now: QAbstractButton | None = None

        self.name = QLineEdit(draft.suggested_name())
        self.name.textChanged.connect(self._name_changed)
        self.name_note = Note()
        self.summary = QLabel()
        self.summary.setWordWrap(True)
        # editing: as the tunnel is now (Finish with nothing changed changes nothing)
        self.connect_now = QCheckBox("&Connect now")
        self.connect_now.setChecked(connect_now)
        if self._own is not None:
            self.connect_now.setToolTip(
                "Keep it ticked to keep the tunnel connected: a change that does not alter "
                "the connection (such as its name) does not reconnect it."
            )
        self.at_login = QCheckBox("Start Tunnelkeeper at &login")
        self.at_login.setChecked(at_login)
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
        self._currently = None
        self._describe()
        self._ask_route()
        trying = self.draft.keep_trying
        if trying:
            self.connect_now.setChecked(True)
        self.note.say(KEEP_TRYING if trying else "", AMBER)
        finish = QWizard.WizardButton.FinishButton
        plain = self.wizard().buttonText(finish)  # the style's own ("Finish", "Done")
        self.setButtonText(finish, "&Save and keep trying" if trying else plain)
        if self.taken is None:
            profiles = self.draft.services.profiles
            self._names.start(lambda _progress: existing_names(profiles))

    def _describe(self) -> None:
        fields = self.draft.fields()
        listen = forward_bind_address(fields.get("remote_bind")) or "*"
        target = self.draft.target
        to = f"{target[0]}:{target[1]}" if target else "?"
        route = [proxy_line(str(fields.get("proxy", "system")), self._currently)]
        route += [jump_line(fields.get("jump")), role_line(fields.get("role"))]
        through = "".join(f"<br>{html.escape(line)}" for line in route if line)
        self.summary.setText(
            "The jumphost <b>{host}</b> (user {user}) will listen on <b>{listen}:{port}</b> "
            "and send what arrives through the tunnel to <b>{to}</b>.<br>Key: {key}"
            "{through}".format(
                through=through,
                host=html.escape(f"{fields.get('jumphost')}:{fields.get('ssh_port')}"),
                user=html.escape(str(fields.get("user"))),
                listen=html.escape(listen),
                port=fields.get("remote_port"),
                to=html.escape(to),
                key=html.escape(self.draft.key_path),
            )
        )

    def _ask_route(self) -> None:
        """For the system settings: ask which way they send the tunnel now (off the GUI
        thread), for the summary."""
        draft = self.draft
        if draft.fields().get("proxy", "system") != "system":
            return
        try:
            profile = draft.profile(draft.suggested_name())
        except TunnelkeeperError:
            self._route_read(UNKNOWN)
            return
        self._route.start(lambda _progress: system_route_now(profile))

    def _route_read(self, currently: Any) -> None:
        self._currently = str(currently)
        self._describe()

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

    def _was_saved(self, key: Any) -> None:
        if self._saving is None:
            return
        self.outcome = replace(self._saving, key=key)
        self.saved = True
        self.wizard().accept()

    def _save_failed(self, exc: Exception) -> None:
        self.note.say(f"Nothing was saved: {message_of(exc)}", RED)
        self.name.setEnabled(True)
        self.completeChanged.emit()

    def isComplete(self) -> bool:
        return self._problem() == "" and not self._save.running

    def changes(self, profile: Profile) -> frozenset[str]:
        """What of the edited tunnel's connection ``profile`` changes (empty for a new one)."""
        editing = self.draft.editing
        if editing is None:
            return frozenset()
        changed = connection_changes(editing, profile)
        if self.draft.pending_pins:
            changed.add(HOST_KEY)
        return frozenset(changed)

    def drops(self, changes: frozenset[str]) -> int:
        """How many live connections applying the edit ends: all of them when it restarts
        or stops the tunnel, none when it goes on as it is (renamed at most)."""
        if self._own is None:
            return 0
        live = self._connections(self._own) or 0
        return live if changes or not self.connect_now.isChecked() else 0

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
        changes = self.changes(profile)
        count = self.drops(changes)
        if count:
            self._ask(count, changes, profile)
        else:
            self._start_save(profile, changes)
        return False  # the wizard closes once the profile is written

    def _ask(self, count: int, changes: frozenset[str], profile: Profile) -> None:
        if self.drop_box is not None:
            if self.drop_box.isVisible():
                return
            self.drop_box.deleteLater()  # asked before, and sent back to the wizard
        box = QMessageBox(self)
        box.setIcon(QMessageBox.Icon.Question)
        box.setWindowTitle("Drop live connections?")
        box.setText(dropping(count))
        if changes:
            listed = ", ".join(sorted(c.replace("_", " ") for c in changes))
            reason = f"The tunnel reconnects with the new settings ({listed})"
        else:
            reason = "The tunnel is disconnected"
        box.setInformativeText(
            f"{reason}: the vendor's open connections through it end. Cancel goes back to "
            "the wizard; nothing is saved yet."
        )
        self.apply_now = box.addButton("&Apply now", QMessageBox.ButtonRole.AcceptRole)
        back = box.addButton(QMessageBox.StandardButton.Cancel)
        box.setDefaultButton(back)
        box.setEscapeButton(back)
        box.buttonClicked.connect(
            lambda button: self._start_save(profile, changes) if button is self.apply_now else None
        )
        self.drop_box = box
        box.open()  # not exec(): the app's event loop keeps running (qasync)

    def _start_save(self, profile: Profile, changes: frozenset[str]) -> None:
        if self._save.running:
            return
        draft = self.draft
        self._saving = Finished(
            profile.name,
            self._own,
            self.connect_now.isChecked(),
            self.at_login.isChecked(),
            changes,
            profile.key_path,
            proxy_password=draft.proxy_password,
        )
        services, old = draft.services, self._own
        pending, typed = list(draft.pending_pins), draft.passphrase
        password = draft.proxy_password
        self.note.say("Saving…", GREY)
        self.name.setEnabled(False)
        self._save.start(
            lambda _progress: save_all(services, profile, old, pending, typed, password)
        )
        self.completeChanged.emit()
