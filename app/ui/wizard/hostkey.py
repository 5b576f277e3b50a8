"""Page 5: fetch the host keys on the way (the jump hosts', then the jumphost's), show each
fingerprint, and have each trusted in turn; they are pinned on Finish."""

from __future__ import annotations

from collections.abc import Callable
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

from app.core.jump import parse_jump
from app.core.profile import Profile, format_hostport
from app.errors import TunnelkeeperError
from app.services.api import Services
from app.services.hostkeys import CHANGED, REVOKED, TRUSTED, UNKNOWN, HostKey
from app.ui import system_proxy
from app.ui.wizard import keying
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
THROUGH = (
    "The jumphost is reached through jump hosts: each one's key is shown and trusted in "
    "turn, the first dialled first, and the jumphost's last."
)


def _same(first: HostKey, second: HostKey) -> bool:
    return (first.pattern, first.key_base64) == (second.pattern, second.key_base64)


def fetch_chain(
    services: Services,
    profile: Profile,
    load: Callable[[Profile], Any],
    accepted: list[HostKey],
    proxy_password: str | None,
) -> list[HostKey]:
    """On a worker: the keys on ``profile``'s way, jump hosts first; the walk goes on
    through a jump host whose key is trusted already or in ``accepted`` (confirmed in this
    run) and stops at any other, which ends the list (``HostKeyService.fetch_chain_of``).
    We log in to the jump hosts with the tunnel's key, as ``load`` opens it."""
    env = system_proxy.environment_for(profile)
    key = load(profile)

    def decide(presented: HostKey) -> bool:
        return presented.verdict == TRUSTED or any(_same(presented, k) for k in accepted)

    return services.hostkeys.fetch_chain_of(profile, key, decide, proxy_password, env)


class HostKeyPage(QWizardPage):
    def __init__(self, draft: Draft, held_key: Callable[[str], Any] = lambda path: None) -> None:
        super().__init__()
        self.setObjectName("hostkey")
        self.draft = draft
        self._held_key = held_key  # a key the app has open, for logging in to jump hosts
        self.setTitle("Check the jumphost's identity")
        self.setSubTitle("Its host key proves the connection reaches the vendor and no one else.")
        self.presented: HostKey | None = None
        self.chain: list[HostKey] = []  # the keys fetched on the way, jump hosts first
        self._hops = 0  # jump hosts before the jumphost in the fetch shown
        self._accepted: list[HostKey] = []  # jump hosts' keys confirmed in this run
        self._fetch = PageTask(self, "fetch-host-key", self._fetched, self._failed)

        self.light = StatusIcon()
        self.status = Note(GREY)
        status_row = QHBoxLayout()
        status_row.addWidget(self.light)
        status_row.addWidget(self.status, 1)
        self.through = Note(GREY)  # the jump hosts' keys passed on the way
        self.role = QLabel("Jumphost:")
        self.host = QLabel()
        self.kind = QLabel()
        self.fingerprint = QLabel()
        self.fingerprint.setFont(monospace())
        for label in (self.host, self.kind, self.fingerprint):
            label.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
        self.verdict = Note()
        self.confirm = QCheckBox()
        self.confirm.toggled.connect(self._confirm_toggled)
        self.confirm.clicked.connect(self._hop_confirmed)
        self.when = Note(GREY)  # the trust takes effect on Finish, not now
        self.again = QPushButton("Fetch a&gain")
        self.again.clicked.connect(self._start_fetch)

        form = QFormLayout()
        form.addRow(self.role, self.host)
        form.addRow("Key type:", self.kind)
        form.addRow("Fingerprint:", self.fingerprint)
        layout = QVBoxLayout(self)
        layout.addWidget(intro(EXPLAIN))
        layout.addSpacing(6)
        layout.addLayout(status_row)
        layout.addWidget(self.through)
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
        self.chain, self._hops = [], 0
        self.through.say("")
        self.light.set_mark(Mark.RUNNING)
        self.status.say(f"Fetching the host key of {format_hostport(host, port)}…", GREY)
        hostkeys, proxies = self.draft.services.hostkeys, self.draft.services.proxies
        proxy = str(self.draft.fields().get("proxy", "system"))  # chosen, or the edited one's
        typed = self.draft.proxy_password
        password = typed if typed is not None else proxies.setting_password(proxy)
        if self.draft.fields().get("jump"):
            self._start_chain(password)
            return
        env = system_proxy.SystemEnvironment(host, port) if proxy == "system" else None
        self._fetch.start(
            lambda _progress: hostkeys.fetch_endpoint(
                host,
                port,
                proxy,
                password,
                env,
            )
        )
        self.completeChanged.emit()

    def _start_chain(self, password: str | None) -> None:
        """Through jump hosts: walk the way, logging in to each jump host whose key is
        trusted, up to the first key still to be trusted."""
        draft = self.draft
        try:
            profile = draft.profile(draft.suggested_name())
        except TunnelkeeperError as exc:
            self._failed(exc)
            return
        self._hops = len(parse_jump(profile.jump or ""))
        self.status.say(f"Fetching the host keys on the way to {profile.endpoint}…", GREY)
        load = keying.key_loader(draft.passphrase, draft.services.keys, self._held_key)
        accepted = [*draft.pending_pins, *self._accepted]
        services = draft.services
        self._fetch.start(
            lambda _progress: fetch_chain(services, profile, load, accepted, password)
        )
        self.completeChanged.emit()

    @property
    def at_hop(self) -> bool:
        """The key shown is a jump host's (the walk stopped there): the jumphost's is next."""
        return self.presented is not None and len(self.chain) <= self._hops

    def _show(self, presented: HostKey | None) -> None:
        self.presented = presented
        self.role.setText("Jump host:" if self.at_hop else "Jumphost:")
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
        if isinstance(value, list):  # through jump hosts: every key on the way
            self.chain = list(value)
            self._say_through()
            value = self.chain[-1]
        else:
            self.chain = [value]
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
        if self.at_hop:
            self._say_hop(presented)
        self.completeChanged.emit()

    def _say_hop(self, presented: HostKey) -> None:
        """The walk stopped at a jump host's key: trusting it goes on to the next host."""
        where = f"jump host {len(self.chain)} of {self._hops}"
        self.status.say(f"The {where}, {presented.label}, presented this key:", GREY)
        if presented.verdict == UNKNOWN:
            self.verdict.say("This jump host has not been trusted before.", AMBER)
            self.confirm.setText(
                "I &compared the fingerprint with its owner's: trust this key and go on"
            )
        elif presented.verdict == CHANGED:
            self.confirm.setText("Its owner confirmed the new key: &replace it and go on")

    def _say_through(self) -> None:
        """The jump hosts the walk went through, each with its key and why it was let on."""
        lines = [THROUGH]
        for number, key in enumerate(self.chain[: self._hops], start=1):
            if number == len(self.chain) and len(self.chain) <= self._hops:
                break  # the one shown below
            how = "already trusted" if key.verdict == TRUSTED else "trusted by you (on Finish)"
            lines.append(f"Jump host {number}, {key.label}: {key.fingerprint} — {how}.")
        self.through.say("\n".join(lines), GREY)

    def _hop_confirmed(self, checked: bool) -> None:
        """The person trusted a jump host's key: go on to the next host."""
        shown = self.presented
        if not checked or shown is None or not self.at_hop or self.busy:
            return
        if not any(_same(shown, k) for k in self._accepted):
            self._accepted.append(shown)
        self._start_fetch()

    def _failed(self, exc: Exception) -> None:
        self._show(None)
        self.light.set_mark(Mark.FAIL)
        self.status.say(message_of(exc), RED)
        self.completeChanged.emit()

    # --- trusting ------------------------------------------------------------------------

    def _pending(self, presented: HostKey | None) -> bool:
        """``presented`` is a key the person already trusted in this run."""
        held = [*self.draft.pending_pins, *self._accepted]
        return presented is not None and any(_same(presented, k) for k in held)

    def _confirm_toggled(self) -> None:
        if not self.confirm.isHidden() and self.confirm.isChecked() and not self.at_hop:
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
        if shown is None or self.busy or self.at_hop:
            return False
        if shown.verdict == TRUSTED:
            return True
        return shown.verdict != REVOKED and self.confirm.isChecked()

    def validatePage(self) -> bool:
        shown = self.presented
        if not self.isComplete() or shown is None:
            return False
        # pinned on Finish (the test runs against a copy of known_hosts with them)
        self.draft.pending_pins = [key for key in self.chain if key.verdict != TRUSTED]
        return True
