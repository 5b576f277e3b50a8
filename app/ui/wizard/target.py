"""Page 4: what the vendor should reach, with presets and a live reachable/refused light."""

from __future__ import annotations

import socket
import time
from typing import Any

from PySide6.QtCore import QTimer
from PySide6.QtGui import QHideEvent, QShowEvent
from PySide6.QtWidgets import (
    QComboBox,
    QFormLayout,
    QHBoxLayout,
    QLineEdit,
    QVBoxLayout,
    QWidget,
    QWizardPage,
)

from app.core.profile import format_hostport, validate_host, validate_port
from app.errors import InvalidField
from app.ui.wizard.draft import Draft
from app.ui.wizard.hints import clear_next, explain_next, on_shown
from app.ui.wizard.role_field import RoleField
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
    sentence,
    with_note,
)

PRESETS: tuple[tuple[str, int], ...] = (
    ("MySQL / MariaDB", 3306),
    ("PostgreSQL", 5432),
    ("SQL Server", 1433),
    ("SFTP / SSH (for a Windows file share)", 22),
)
OTHER = "Other"
PROBE_TIMEOUT = 3.0  # seconds for one TCP connect
DEBOUNCE_MS = 400
REPROBE_MS = 3000  # "live": look again while the page is open (the database may start)

EXPLAIN = (
    "The vendor's connections come out of the tunnel here, on this computer's side: "
    "usually your database server as this computer reaches it (<code>localhost</code> "
    "when it runs on this computer). For a Windows file share, point it at an SFTP server "
    "such as Windows' own OpenSSH Server."
)


def probe(host: str, port: int, timeout: float = PROBE_TIMEOUT) -> tuple[bool, str]:
    """Open (and close) one TCP connection; (reachable, a sentence saying what happened)."""
    label = format_hostport(host, port)
    started = time.monotonic()
    try:
        with socket.create_connection((host, port), timeout=timeout):
            elapsed = (time.monotonic() - started) * 1000
            return True, f"reachable: {label} accepted a connection in {elapsed:.0f} ms."
    except socket.gaierror as exc:
        return False, f"not found: the name {host} does not resolve ({exc.strerror})."
    except TimeoutError:
        return False, f"no answer: {label} did not answer within {timeout:g} s."
    except ConnectionRefusedError:
        return False, f"refused: nothing accepts connections on {label} right now."
    except OSError as exc:
        return False, f"unreachable: {label}: {exc.strerror or exc}."


class TargetPage(QWizardPage):
    def __init__(self, draft: Draft) -> None:
        super().__init__()
        self.setObjectName("target")
        self.draft = draft
        self.setTitle("What the vendor should reach")
        self.setSubTitle("The database (or file server) at the end of the tunnel.")
        self._touched: set[str] = set()
        self._holes: dict[str, str] = {}  # field -> the vendor's placeholder for it
        self._probe = PageTask(self, "probe-target", self._probed, self._probe_failed)
        self._debounce = QTimer(self)
        self._debounce.setSingleShot(True)
        self._debounce.setInterval(DEBOUNCE_MS)
        self._debounce.timeout.connect(self._start_probe)
        self._again = QTimer(self)
        self._again.setInterval(REPROBE_MS)
        self._again.timeout.connect(self._start_probe)

        self.preset = QComboBox()
        self.preset.addItems([f"{name} — port {port}" for name, port in PRESETS] + [OTHER])
        self.preset.activated.connect(self._preset_chosen)
        self.host = QLineEdit()
        self.host.setPlaceholderText("localhost")
        self.port = QLineEdit()
        self.port.setPlaceholderText("for example 5432")
        self.host_note, self.port_note = Note(), Note()
        for name, edit in (("host", self.host), ("port", self.port)):
            edit.textChanged.connect(self._changed)
            edit.textEdited.connect(lambda _text, n=name: self._touched.add(n))
        self.light = StatusIcon()
        self.reach = Note(GREY)
        reach_row = QWidget()
        row = QHBoxLayout(reach_row)
        row.setContentsMargins(0, 0, 0, 0)
        row.addWidget(self.light)
        row.addWidget(self.reach, 1)

        form = QFormLayout()
        form.addRow("&Service:", self.preset)
        form.addRow("&Host:", with_note(self.host, self.host_note))
        form.addRow("Po&rt:", with_note(self.port, self.port_note))
        form.addRow("", reach_row)
        self.asked = Note(AMBER)  # what the vendor's text leaves for the person to fill in
        self.role = RoleField()  # another machine runs it too: active / standby
        layout = QVBoxLayout(self)
        layout.addWidget(intro(EXPLAIN))
        layout.addWidget(self.asked)
        layout.addSpacing(6)
        layout.addLayout(form)
        layout.addSpacing(12)
        layout.addWidget(self.role)
        layout.addStretch(1)
        self._given()

    def _given(self) -> None:
        """What the profile being edited, or the prefill, already says."""
        editing, prefill = self.draft.editing, self.draft.prefill
        host = editing.target_host if editing else prefill.target_host
        port = editing.target_port if editing else prefill.target_port
        self._given_host, self._given_port = bool(host), port is not None
        self.host.setText(host or "localhost")
        self.port.setText("" if port is None else str(port))
        self._match_preset()
        self.role.set_role(editing.role if editing else "single")

    def _preset_chosen(self, index: int) -> None:
        if index < len(PRESETS):
            self._touched.add("port")
            self.port.setText(str(PRESETS[index][1]))

    def _match_preset(self) -> None:
        ports = [port for _name, port in PRESETS]
        text = self.port.text().strip()
        index = ports.index(int(text)) if text.isdigit() and int(text) in ports else len(PRESETS)
        self.preset.setCurrentIndex(index)

    def values(self) -> tuple[str, int] | None:
        try:
            host = validate_host(self.host.text(), "target_host")
            return host, validate_port(self.port.text().strip(), "target_port")
        except InvalidField:
            return None

    def _changed(self) -> None:
        problems: list[str] = []
        for name, edit, note, check in (
            ("host", self.host, self.host_note, lambda t: validate_host(t, "target_host")),
            ("port", self.port, self.port_note, lambda t: validate_port(t.strip(), "target_port")),
        ):
            message, colour = "", RED
            hole = self._holes.get(f"target_{name}")
            if edit.text().strip():
                try:
                    check(edit.text())
                except InvalidField as exc:
                    message = exc.message
                    problems.append(sentence(f"the target {name}: {message}"))
            else:
                problems.append(sentence(f"the target {name} is required."))
                if hole is not None:
                    message = f"your service's {name} (the vendor's text says {hole})."
                    colour = AMBER
            note.say(message, colour)
        explain_next(self, problems)
        self._match_preset()
        self._probe.drop()
        self.light.set_mark(Mark.PENDING)
        self.reach.say("")
        if self.values() is not None:
            self._debounce.start()
        self.completeChanged.emit()

    # --- the live light -----------------------------------------------------------------

    def _start_probe(self) -> None:
        target = self.values()
        if target is None or self._probe.running:
            return
        host, port = target
        if self.light.mark is Mark.PENDING:
            self.light.set_mark(Mark.RUNNING)
            self.reach.say(f"Checking {format_hostport(host, port)}…", GREY)
        self._probe.start(lambda _progress: probe(host, port))

    def _probed(self, value: Any) -> None:
        reachable, text = value
        self.light.set_mark(Mark.PASS if reachable else Mark.FAIL)
        self.reach.say(text, GREEN if reachable else RED)

    def _probe_failed(self, exc: Exception) -> None:
        self.light.set_mark(Mark.FAIL)
        self.reach.say(str(exc), RED)

    # --- QWizardPage --------------------------------------------------------------------

    def initializePage(self) -> None:
        pasted, paste = self.draft.pasted, self.draft.paste
        self._holes = {
            name: token
            for name, token in (paste.placeholders.items() if paste else ())
            if name in ("target_host", "target_port")
        }
        if "host" not in self._touched and not self._given_host:
            # A placeholder for the host ($SERVICE_HOST) is the person's to decide: ask.
            host = "" if "target_host" in self._holes else "localhost"
            self.host.setText(str(pasted.get("target_host", host)))
        if "port" not in self._touched and not self._given_port:
            self.port.setText(str(pasted.get("target_port", "")))
        self.asked.say(_asked(self._holes))
        on_shown(self, self._changed)  # Next's tooltip, also when coming Back
        self._changed()
        self._start_probe()

    def isComplete(self) -> bool:
        return self.values() is not None

    def validatePage(self) -> bool:
        target = self.values()
        if target is None:
            return False
        self.draft.target = target
        self.draft.role = self.role.role()
        clear_next(self)
        return True

    def cleanupPage(self) -> None:
        clear_next(self)

    def showEvent(self, event: QShowEvent) -> None:
        self._again.start()  # "live": look again now and then while the page is shown
        super().showEvent(event)

    def hideEvent(self, event: QHideEvent) -> None:
        self._again.stop()  # left the page, or the wizard closed: stop looking
        super().hideEvent(event)


def _asked(holes: dict[str, str]) -> str:
    """What the page says when the vendor's text has placeholders for the target."""
    host, port = holes.get("target_host"), holes.get("target_port")
    if host and port:
        said = f"{host} stands for your service's host and {port} for its port"
    elif host:
        said = f"{host} stands for your service's host"
    elif port:
        said = f"{port} stands for your service's port"
    else:
        return ""
    them = "them" if host and port else "it"
    return (
        f"The vendor's text leaves the target to you: {said}. Enter {them} below (the host "
        "is localhost when the service runs on this computer)."
    )
