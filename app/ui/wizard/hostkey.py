"""Page 5: fetch the jumphost's host key, show its fingerprint, pin it once confirmed."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
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

from app import ssh
from app.core import knownhosts
from app.core.knownhosts import Verdict
from app.storage import hostkeys
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


@dataclass(frozen=True)
class Presented:
    """The key a jumphost presented, and how it compares with what is pinned."""

    pattern: str  # how known_hosts files the host: host, or [host]:port
    label: str
    key_type: str
    blob: bytes = b""
    kind: str = ""  # "ED25519, 256 bits"
    fingerprint: str = ""
    verdict: Verdict = Verdict.UNKNOWN
    pinned: tuple[str, ...] = ()  # fingerprints trusted before, when it changed


def fetch(known_hosts: Path, host: str, port: int) -> Presented:
    """Connect just long enough to learn the host key (as ``tunnelkeeper trust`` does)."""
    endpoint = ssh.Endpoint(host, port)
    parsed = hostkeys.read(known_hosts)
    pinned = knownhosts.pinned_for(parsed, endpoint.pattern)
    key = ssh.fetch_host_key(endpoint, ssh.algorithms_for(pinned))
    verdict, entries = knownhosts.check(parsed, endpoint.pattern, key.asbytes())
    before = tuple(ssh.fingerprint_of_blob(e.key_blob) for e in entries)
    return Presented(
        endpoint.pattern,
        endpoint.label,
        key.get_name(),
        key.asbytes(),
        f"{ssh.display_type(key.get_name())}, {ssh.key_bits(key)} bits",
        ssh.fingerprint(key),
        verdict,
        before if verdict is Verdict.CHANGED else (),
    )


class HostKeyPage(QWizardPage):
    def __init__(self, draft: Draft) -> None:
        super().__init__()
        self.setObjectName("hostkey")
        self.draft = draft
        self.setTitle("Check the jumphost's identity")
        self.setSubTitle("Its host key proves the connection reaches the vendor and no one else.")
        self.presented: Presented | None = None
        self._pinned: tuple[str, bytes] | None = None  # pinned on this page, this run
        self._fetch = PageTask(self, "fetch-host-key", self._fetched, self._failed)
        self._pin = PageTask(self, "pin-host-key", self._was_pinned, self._pin_failed)

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
        self.confirm.toggled.connect(self.completeChanged)
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
        layout.addStretch(1)
        layout.addWidget(self.again, 0, Qt.AlignmentFlag.AlignLeft)

    @property
    def busy(self) -> bool:
        """Fetching or pinning right now."""
        return self._fetch.running or self._pin.running

    # --- fetching -----------------------------------------------------------------------

    def initializePage(self) -> None:
        self._start_fetch()  # every time: the endpoint or known_hosts may have changed

    def _start_fetch(self) -> None:
        host, port = self.draft.endpoint["jumphost"], self.draft.endpoint["ssh_port"]
        self._show(None)
        self.light.set_mark(Mark.RUNNING)
        self.status.say(f"Fetching the host key of {ssh.Endpoint(host, port).label}…", GREY)
        known_hosts = self.draft.paths.known_hosts_file
        self._fetch.start(lambda _progress: fetch(known_hosts, host, port))
        self.completeChanged.emit()

    def _show(self, presented: Presented | None) -> None:
        self.presented = presented
        self.host.setText(presented.pattern if presented else "")
        self.kind.setText(presented.kind if presented else "")
        self.fingerprint.setText(presented.fingerprint if presented else "")
        self.confirm.setChecked(False)
        self.confirm.setVisible(
            presented is not None and presented.verdict in (Verdict.UNKNOWN, Verdict.CHANGED)
        )
        self.verdict.say("")
        self.again.setEnabled(True)

    def _fetched(self, value: Any) -> None:
        presented: Presented = value
        self._show(presented)
        verdict = presented.verdict
        self.light.set_mark(Mark.FAIL if verdict is Verdict.REVOKED else Mark.PASS)
        self.status.say(f"{presented.label} presented this key:", GREY)
        if verdict is Verdict.TRUSTED:
            self.verdict.say(f"This key is already trusted for {presented.pattern}.", GREEN)
        elif verdict is Verdict.REVOKED:
            self.verdict.say("This host key is marked @revoked; it cannot be trusted.", RED)
        elif verdict is Verdict.CHANGED:
            self.light.set_mark(Mark.FAIL)
            self.verdict.say(
                "Warning: this key differs from the one trusted before "
                f"({', '.join(presented.pinned)}). This can mean someone is intercepting the "
                "connection. Ask the vendor whether they changed it before you go on.",
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

    # --- pinning ------------------------------------------------------------------------

    def _pin_failed(self, exc: Exception) -> None:
        self.verdict.say(f"Nothing was pinned: {message_of(exc)}", RED)
        self.again.setEnabled(True)
        self.completeChanged.emit()

    def _pin_done(self) -> bool:
        shown = self.presented
        return shown is not None and self._pinned == (shown.pattern, shown.blob)

    def _was_pinned(self, _value: object) -> None:
        shown = self.presented
        if shown is not None:
            self._pinned = (shown.pattern, shown.blob)
            self.verdict.say(f"Trusted: {shown.fingerprint} is pinned for {shown.pattern}.", GREEN)
            self.again.setEnabled(True)
            self.wizard().next()

    def isComplete(self) -> bool:
        shown = self.presented
        if shown is None or self.busy:
            return False
        if shown.verdict is Verdict.TRUSTED or self._pin_done():
            return True
        return shown.verdict is not Verdict.REVOKED and self.confirm.isChecked()

    def validatePage(self) -> bool:
        shown = self.presented
        if not self.isComplete() or shown is None:
            return False
        if shown.verdict is Verdict.TRUSTED or self._pin_done():
            return True
        path = self.draft.paths.known_hosts_file
        self.again.setEnabled(False)
        self._pin.start(lambda _p: hostkeys.pin(path, shown.pattern, shown.key_type, shown.blob))
        self.completeChanged.emit()
        return False  # moves on by itself once the key is pinned
