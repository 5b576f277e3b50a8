"""Page 5: fetch the jumphost's host key, show its fingerprint, pin it once confirmed."""

from __future__ import annotations

from typing import Any

from PySide6.QtCore import Qt
from PySide6.QtWidgets import (
    QCheckBox,
    QFormLayout,
    QHBoxLayout,
    QLabel,
    QPushButton,
    QVBoxLayout,
    QWizardPage,
)

from app.core.profile import format_hostport
from app.services.hostkeys import CHANGED, REVOKED, TRUSTED, UNKNOWN, HostKey
from app.ui import system_proxy
from app.ui.wizard.draft import Draft
from app.ui.wizard.task import PageTask
from app.ui.wizard.widgets import (
    AMBER,
    GREEN,
    GREY,
    RED,
    Mark,
    Note,
    StatusIcon,
    intro,
    message_of,
    monospace,
)

EXPLAIN = (
    "On every connection Tunnelkeeper checks that it talks to the vendor's real jumphost "
    "by its <i>host key</i>. Compare the fingerprint below with the one the vendor shows "
    "(or ask them for it) before you trust it."
)


class HostKeyPage(QWizardPage):
    def __init__(self, draft: Draft) -> None:
        super().__init__()
        self.setObjectName("hostkey")
        self.draft = draft
        self.setTitle("Check the jumphost's identity")
        self.setSubTitle("Its host key proves the connection reaches the vendor and no one else.")
        self.presented: HostKey | None = None
        self._fetch = PageTask(self, "fetch-host-key", self._fetched, self._failed)

        self.light = StatusIcon()
        self.status = Note(GREY)
        status_row = QHBoxLayout()
        status_row.addWidget(self.light)
        status_row.addWidget(self.status, 1)
        self.host = QLabel()
        self.kind = QLabel()
        self.fingerprint = QLabel()
        self.fingerprint.setFont(monospace())
        for label in (self.host, self.kind, self.fingerprint):
            label.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
        self.verdict = Note()
        self.confirm = QCheckBox()
        self.confirm.toggled.connect(self._confirm_toggled)
        self.when = Note(GREY)  # the trust takes effect on Finish, not now
        self.again = QPushButton("Fetch a&gain")
        self.again.clicked.connect(self._start_fetch)

        form = QFormLayout()
        form.addRow("Jumphost:", self.host)
        form.addRow("Key type:", self.kind)
        form.addRow("Fingerprint:", self.fingerprint)
        layout = QVBoxLayout(self)
        layout.addWidget(intro(EXPLAIN))
        layout.addSpacing(6)
        layout.addLayout(status_row)
        layout.addLayout(form)
        layout.addWidget(self.verdict)
        layout.addWidget(self.confirm)
        layout.addWidget(self.when)
        layout.addStretch(1)
        layout.addWidget(self.again, 0, Qt.AlignmentFlag.AlignLeft)

    @property
    def busy(self) -> bool:
        """Fetching the key right now."""
        return self._fetch.running

    # --- fetching -----------------------------------------------------------------------

    def initializePage(self) -> None:
        self._start_fetch()  # every time: the endpoint or known_hosts may have changed

    def _start_fetch(self) -> None:
        host, port = self.draft.endpoint["jumphost"], self.draft.endpoint["ssh_port"]
        self._show(None)
        self.light.set_mark(Mark.RUNNING)
        self.status.say(f"Fetching the host key of {format_hostport(host, port)}…", GREY)
        hostkeys, proxies = self.draft.services.hostkeys, self.draft.services.proxies
        proxy = str(self.draft.fields().get("proxy", "system"))  # chosen, or the edited one's
        typed = self.draft.proxy_password
        env = system_proxy.SystemEnvironment(host, port) if proxy == "system" else None
        self._fetch.start(
            lambda _progress: hostkeys.fetch_endpoint(
                host,
                port,
                proxy,
                typed if typed is not None else proxies.setting_password(proxy),
                env,
            )
        )
        self.completeChanged.emit()

    def _show(self, presented: HostKey | None) -> None:
        self.presented = presented
        self.host.setText(presented.pattern if presented else "")
        self.kind.setText(presented.kind if presented else "")
        self.fingerprint.setText(presented.fingerprint if presented else "")
        asks = presented is not None and presented.verdict in (UNKNOWN, CHANGED)
        self.confirm.setChecked(asks and self._pending(presented))  # confirmed earlier this run
        self.confirm.setVisible(asks)
        self.verdict.say("")
        self.again.setEnabled(True)
        self._confirm_toggled()

    def _fetched(self, value: Any) -> None:
        presented: HostKey = value
        self._show(presented)
        verdict = presented.verdict
        self.light.set_mark(Mark.FAIL if verdict == REVOKED else Mark.PASS)
        self.status.say(f"{presented.label} presented this key:", GREY)
        if verdict == TRUSTED:
            self.verdict.say(f"This key is already trusted for {presented.pattern}.", GREEN)
        elif verdict == REVOKED:
            self.verdict.say("This host key is marked @revoked; it cannot be trusted.", RED)
        elif verdict == CHANGED:
            self.light.set_mark(Mark.FAIL)
            before = ", ".join(presented.pinned_before)
            self.verdict.say(
                f"Warning: this key differs from the one trusted before ({before}). This can "
                "mean someone is intercepting the connection. Ask the vendor whether they "
                "changed it before you go on.",
                RED,
            )
            self.confirm.setText("The vendor confirmed the new key: &replace the trusted one")
        else:
            self.verdict.say("This jumphost has not been trusted before.", AMBER)
            self.confirm.setText("I &compared the fingerprint with the vendor's: trust this key")
        self.completeChanged.emit()

    def _failed(self, exc: Exception) -> None:
        self._show(None)
        self.light.set_mark(Mark.FAIL)
        self.status.say(message_of(exc), RED)
        self.completeChanged.emit()

    # --- trusting ------------------------------------------------------------------------

    def _pending(self, presented: HostKey | None) -> bool:
        """``presented`` is the key the person already trusted in this run."""
        held = self.draft.pending_pin
        return (
            presented is not None
            and held is not None
            and (held.pattern, held.key_base64) == (presented.pattern, presented.key_base64)
        )

    def _confirm_toggled(self) -> None:
        if not self.confirm.isHidden() and self.confirm.isChecked():
            self.when.say(
                "The key is trusted when you press Finish; until then nothing changes for a "
                "tunnel that runs now, and Cancel leaves the trusted key as it is.",
                GREY,
            )
        else:
            self.when.say("")
        self.completeChanged.emit()

    def isComplete(self) -> bool:
        shown = self.presented
        if shown is None or self.busy:
            return False
        if shown.verdict == TRUSTED:
            return True
        return shown.verdict != REVOKED and self.confirm.isChecked()

    def validatePage(self) -> bool:
        shown = self.presented
        if not self.isComplete() or shown is None:
            return False
        # pinned on Finish (the test runs against a copy of known_hosts with it)
        self.draft.pending_pin = None if shown.verdict == TRUSTED else shown
        return True
