"""The selected tunnel's settings, keys and last test, instead of replaying the wizard."""

from __future__ import annotations

import base64
import binascii
from dataclasses import dataclass

from PySide6.QtCore import Qt, Signal, SignalInstance
from PySide6.QtGui import QGuiApplication
from PySide6.QtWidgets import (
    QFormLayout,
    QHBoxLayout,
    QLabel,
    QPushButton,
    QToolButton,
    QVBoxLayout,
    QWidget,
)

from app.core import knownhosts
from app.core.jump import parse_jump
from app.core.profile import Profile
from app.core.textsafe import DETAIL_LIMIT, safe_text
from app.engine.route import hops_of
from app.errors import InvalidField, TunnelkeeperError
from app.services.api import Services
from app.ui import jobs, system_proxy
from app.ui.palette import Tone, status_colour, tone_colour
from app.ui.rows import Row
from app.ui.summary import state_words
from app.ui.wizard.role_field import role_text, role_tip
from app.ui.wizard.route import Part

NO_KEY_SHOWN = "unlocked when the tunnel connects (the key has a passphrase)"
# The settings rows a Change… button edits, with the wizard page's part and what it changes.
CHANGES: dict[str, tuple[Part, str]] = {
    "Jumphost": (Part.ENDPOINT, "the jumphost, its SSH port and the user"),
    "Vendor's port": (Part.ENDPOINT, "the allocated port and bind address"),
    "Proxy": (Part.ENDPOINT, "the proxy on the way to the jumphost"),
    "Jump hosts": (Part.ENDPOINT, "the jump hosts on the way to the jumphost"),
    "Forwards to": (Part.TARGET, "where the vendor's connections go"),
    "Key file": (Part.KEY, "the key this tunnel uses"),
    "Jumphost's key": (Part.HOST_KEY, "the trusted host key of the jumphost"),
}


@dataclass(frozen=True)
class Pins:
    """The keys pinned for one host on the way, as "ssh-ed25519 SHA256:…" (empty: none)."""

    where: str  # "Jump host 1, bastion.corp:22", "Jumphost, vendor.example:22"
    pinned: tuple[str, ...]


@dataclass(frozen=True)
class Keys:
    """What the pane shows of a tunnel's keys (read on a worker thread)."""

    public_line: str | None  # None: only the passphrase could tell
    pinned: tuple[str, ...]  # "ssh-ed25519 SHA256:…" for each key pinned for its jumphost
    problem: str = ""  # known_hosts could not be read
    # through jump hosts, every host's on the way: the jump hosts' in hop order, the
    # jumphost's last (empty without jump hosts)
    hops: tuple[Pins, ...] = ()


def read_keys(services: Services, profile: Profile) -> Keys:
    """On a worker: the tunnel's public key (nobody asked), its jump hosts' pinned keys,
    hop by hop, and its jumphost's."""
    line = services.keys.public_line_without_asking(profile)
    hostkeys = services.hostkeys
    try:
        pinned = tuple(hostkeys.pinned(profile))
        jumps = hops_of(profile)
        hops = tuple(
            Pins(f"Jump host {number}, {hop.label}", tuple(hostkeys.pinned_at(hop.host, hop.port)))
            for number, hop in enumerate(jumps, start=1)
        )
    except TunnelkeeperError as exc:
        return Keys(line, (), str(exc))
    if hops:
        hops += (Pins(f"Jumphost, {profile.endpoint}", pinned),)
    return Keys(line, pinned, "", hops)


def host_keys_text(keys: Keys) -> str:
    """The host-key row: the jumphost's pinned keys; through jump hosts, every host's,
    jump hosts first, named as the wizard's host-key page names them, one line per key:
    "Jump host 1, bastion.corp:22: ssh-ed25519 SHA256:…"."""
    if keys.problem:
        return f"could not be read: {keys.problem}"
    if not keys.hops:
        if keys.pinned:
            return "\n".join(keys.pinned)
        return "none trusted yet: the tunnel waits until you trust one"
    lines = []
    for hop in keys.hops:
        pinned = hop.pinned or ("not trusted yet",)
        lines += [f"{hop.where}: {key}" for key in pinned]
    return "\n".join(lines)


def line_fingerprint(line: str | None) -> str:
    """The SHA256 fingerprint of an OpenSSH public key line, or "" when it is not one."""
    parts = (line or "").split()
    if len(parts) < 2:
        return ""
    try:
        blob = base64.b64decode(parts[1], validate=True)
    except (binascii.Error, ValueError):
        return ""
    return f"{parts[0]} {knownhosts.blob_fingerprint(blob)}"


def jump_hosts(profile: Profile) -> str:
    """The Jump hosts row: the chain, the first dialled first, or "none"."""
    jump = getattr(profile, "jump", None)
    if not jump:
        return "none"
    try:
        return ", then ".join(hop.text for hop in parse_jump(jump))
    except InvalidField:
        return safe_text(jump, DETAIL_LIMIT)  # read by the profile store: cannot happen


def _route_fields(profile: Profile) -> tuple[str, str, int]:
    """What the shown route depends on."""
    return (getattr(profile, "proxy", "system"), profile.jumphost, profile.ssh_port)


def _key_fields(profile: Profile) -> tuple[object, ...]:
    """What the shown keys depend on: the key file and every host on the way."""
    return (profile.name, profile.key_path, profile.jumphost, profile.ssh_port, profile.jump)


def _value(text: str = "") -> QLabel:
    label = QLabel(text)
    label.setTextFormat(Qt.TextFormat.PlainText)  # profile fields come from a file
    label.setWordWrap(True)
    label.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
    return label


def _change_button(what: str) -> QToolButton:
    """A small "Change…" beside a setting, reachable with Tab."""
    button = QToolButton()
    button.setText("Change…")
    button.setAutoRaise(True)
    button.setFocusPolicy(Qt.FocusPolicy.StrongFocus)
    button.setToolTip(f"Change {what}, on the setup page for it")
    button.setAccessibleName(f"Change {what}")
    return button


class DetailPane(QWidget):
    """Shows one tunnel; ``edit_requested`` asks for its settings to be changed (the whole
    wizard), ``edit_part(tunnel, part)`` for one part of them (a row's Change…)."""

    edit_requested = Signal(str)
    edit_part = Signal(str, str)
    trust_requested = Signal(str)

    def __init__(self, services: Services, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self._services = services
        self._row: Row | None = None
        self._generation = 0
        self._proxy_generation = 0
        self._public_line: str | None = None
        self.tests: dict[str, tuple[str, Tone]] = {}  # tunnel -> last test's summary
        self.title = QLabel()
        self.title.setTextFormat(Qt.TextFormat.PlainText)
        font = self.title.font()
        font.setBold(True)
        font.setPointSizeF(font.pointSizeF() * 1.2)
        self.title.setFont(font)
        self.badge = QLabel()
        self.badge.setTextFormat(Qt.TextFormat.PlainText)
        self.fields = {
            name: _value()
            for name in (
                "Jumphost",
                "Vendor's port",
                "Proxy",
                "Jump hosts",
                "Role",  # shown for a redundant tunnel only
                "Forwards to",
                "Keepalive",
                "Key file",
                "Key",
                "Jumphost's key",
                "Last test",
            )
        }
        self.copy_key = QPushButton("Copy &public key")
        self.copy_key.setToolTip("Copy the line to paste into the vendor's SSH key field")
        self.copy_key.clicked.connect(self._copy_public_key)
        self.edit = QPushButton("Change &settings…")
        self.edit.clicked.connect(lambda: self._ask(self.edit_requested))
        self.trust = QPushButton("Trust the new &key…")
        self.trust.clicked.connect(lambda: self._ask(self.trust_requested))
        self.copied = QLabel()
        self.empty = QLabel("Select a tunnel to see its settings, keys and history.")
        self.changes: dict[str, QToolButton] = {}  # row (or "Name") -> its Change…
        rename = self._changer("Name", "the name and the start options", Part.OPTIONS)
        rename.setText("Rename…")

        head = QHBoxLayout()
        head.addWidget(self.title)
        head.addWidget(self.badge)
        head.addWidget(rename)
        head.addStretch(1)
        self.labels: dict[str, QLabel] = {}  # each row's own label, beside its value
        form = self._form = self._build_form()
        actions = QHBoxLayout()
        for widget in (self.edit, self.copy_key, self.trust, self.copied):
            actions.addWidget(widget)
        actions.addStretch(1)
        self._body = QWidget()
        body = QVBoxLayout(self._body)
        body.setContentsMargins(0, 0, 0, 0)
        body.addLayout(head)
        body.addLayout(form)
        body.addLayout(actions)
        body.addStretch(1)
        layout = QVBoxLayout(self)
        layout.addWidget(self.empty)
        layout.addWidget(self._body)
        self.show_row(None)

    @property
    def name(self) -> str | None:
        return self._row.profile.name if self._row is not None else None

    def show_row(self, row: Row | None) -> None:
        """Show ``row`` (None: nothing selected); keys are read again when the tunnel, its
        key path or a host on its way changed."""
        before = self._row
        self._row = row
        self.empty.setVisible(row is None)
        self._body.setVisible(row is not None)
        if row is None:
            return
        p = row.profile
        self.title.setText(p.name)
        self._badge(row)
        self.fields["Jumphost"].setText(f"{p.user}@{p.endpoint}")
        self.fields["Vendor's port"].setText(
            f"{p.forward_bind or '*'}:{p.remote_port} on the jumphost"
        )
        self.fields["Jump hosts"].setText(jump_hosts(p))
        self.fields["Role"].setText(role_text(p))
        self.fields["Role"].setToolTip(role_tip(p) if p.redundant else "")
        self._form.setRowVisible(self.labels["Role"], bool(self.fields["Role"].text()))
        self.fields["Forwards to"].setText(p.target)
        self.fields["Keepalive"].setText(
            f"every {p.keepalive_interval} s; lost after {p.keepalive_count_max} unanswered"
        )
        own = row.own_profile
        self.fields["Key file"].setText(p.key_path if own else f"kept by {row.keeper}")
        self.edit.setEnabled(own)
        self.edit.setToolTip("" if own else f"Its settings are kept by {row.keeper}.")
        for button in self.changes.values():
            button.setEnabled(own)
        self.trust.setVisible(own and row.snapshot.action == "trust")
        test = self.tests.get(p.name)
        self.fields["Last test"].setText(test[0] if test else "not tested since the app started")
        self.labels["Jumphost's key"].setText("Host keys:" if p.jump else "Jumphost's key:")
        if before is None or _key_fields(before.profile) != _key_fields(p):
            self._load_keys(row)
        if before is None or _route_fields(before.profile) != _route_fields(p):
            self._load_route(row)

    def refresh_keys(self) -> None:
        """Read the keys again (a host key was trusted, a key replaced)."""
        if self._row is not None:
            self._load_keys(self._row)

    def set_test_result(self, name: str, summary: str, tone: Tone) -> None:
        self.tests[name] = (safe_text(summary, DETAIL_LIMIT), tone)
        if self.name == name and self._row is not None:
            self.show_row(self._row)

    def _load_route(self, row: Row) -> None:
        """The route as the tunnel would take it now (off the GUI thread: the system
        settings may run a PAC script)."""
        self._proxy_generation += 1
        generation = self._proxy_generation
        profile = row.profile
        if not row.own_profile:
            self.fields["Proxy"].setText(f"{profile.proxy}, as {row.keeper} reads it")
            return
        self.fields["Proxy"].setText("…")
        jobs.start(
            f"detail-proxy-{profile.name}",
            lambda _: system_proxy.describe(profile),
            on_done=lambda text: self._route_read(generation, text),
        )

    def _route_read(self, generation: int, text: str) -> None:
        if generation == self._proxy_generation:
            self.fields["Proxy"].setText(safe_text(text, DETAIL_LIMIT))

    def _badge(self, row: Row) -> None:
        s = row.snapshot
        words = state_words(s)
        self.badge.setText(f"● {words}")
        colour = status_colour(s, self.palette()).name()
        self.badge.setStyleSheet(f"QLabel {{ color: {colour}; }}")
        self.badge.setAccessibleName(f"State: {words}")

    def _load_keys(self, row: Row) -> None:
        self._generation += 1
        generation = self._generation
        self._public_line = None
        self.copy_key.setEnabled(False)
        self.copied.clear()
        for name in ("Key", "Jumphost's key"):
            self.fields[name].setText("…")
        if not row.own_profile:
            self.fields["Key"].setText(f"kept by {row.keeper}")
            self.fields["Jumphost's key"].setText(f"kept by {row.keeper}")
            return
        services, profile = self._services, row.profile
        jobs.start(
            f"detail-keys-{profile.name}",
            lambda _: read_keys(services, profile),
            on_done=lambda keys: self._keys_read(generation, keys),
            on_failed=lambda exc: self._keys_failed(generation, exc),
        )

    def _keys_read(self, generation: int, keys: Keys) -> None:
        if generation != self._generation:
            return  # another tunnel was selected meanwhile
        self._public_line = keys.public_line
        fingerprint = line_fingerprint(keys.public_line)
        self.fields["Key"].setText(fingerprint or NO_KEY_SHOWN)
        self.copy_key.setEnabled(bool(keys.public_line))
        self.fields["Jumphost's key"].setText(host_keys_text(keys))

    def _keys_failed(self, generation: int, exc: Exception) -> None:
        if generation == self._generation:
            self.fields["Key"].setText(f"could not be read: {safe_text(str(exc), 200)}")

    def _copy_public_key(self) -> None:
        if self._public_line:
            QGuiApplication.clipboard().setText(self._public_line)
            self.copied.setText("Copied.")
            colour = tone_colour(Tone.UP, self.palette()).name()
            self.copied.setStyleSheet(f"QLabel {{ color: {colour}; }}")

    def _ask(self, signal: SignalInstance) -> None:
        name = self.name
        if name is not None:
            signal.emit(name)

    def _changer(self, row: str, what: str, part: Part) -> QToolButton:
        button = _change_button(what)
        button.clicked.connect(lambda: self._ask_part(part))
        self.changes[row] = button
        return button

    def _build_form(self) -> QFormLayout:
        """The settings, one row each: its label, its value and its Change…."""
        form = QFormLayout()
        form.setFieldGrowthPolicy(QFormLayout.FieldGrowthPolicy.AllNonFixedFieldsGrow)
        for name, value in self.fields.items():
            self.labels[name] = QLabel(f"{name}:")
            form.addRow(self.labels[name], self._with_change(name, value))
        return form

    def _with_change(self, row: str, label: QLabel) -> QWidget:
        """A row's value, with its Change… when one page changes it."""
        if row not in CHANGES:
            return label
        part, what = CHANGES[row]
        cell = QWidget()
        line = QHBoxLayout(cell)
        line.setContentsMargins(0, 0, 0, 0)
        line.addWidget(label, 1)
        line.addWidget(self._changer(row, what, part), 0, Qt.AlignmentFlag.AlignTop)
        return cell

    def _ask_part(self, part: Part) -> None:
        name = self.name
        if name is not None:
            self.edit_part.emit(name, part.value)
