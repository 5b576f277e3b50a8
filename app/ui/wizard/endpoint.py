"""Page 3: paste the vendor's text; the jumphost fields fill in and are checked as you type."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from PySide6.QtCore import QTimer
from PySide6.QtWidgets import (
    QFormLayout,
    QLabel,
    QLineEdit,
    QPlainTextEdit,
    QVBoxLayout,
    QWizardPage,
)

from app.core.paste import PasteResult, parse_paste
from app.core.profile import (
    DEFAULT_SSH_PORT,
    validate_bind,
    validate_host,
    validate_port,
    validate_user,
)
from app.errors import InvalidField
from app.ui.wizard.draft import Draft
from app.ui.wizard.task import PageTask
from app.ui.wizard.widgets import AMBER, GREY, RED, Note, message_of, with_note

DEBOUNCE_MS = 300


def _port(text: str) -> int:
    return validate_port(text, "remote_port")


def _bind(text: str) -> str | None:
    return None if text == "" else validate_bind(text)


# Field name, label, placeholder, check (text -> value; raises InvalidField).
_FIELDS: tuple[tuple[str, str, str, Callable[[str], Any]], ...] = (
    ("jumphost", "&Jumphost:", "tunnel.vendor.example", lambda t: validate_host(t, "jumphost")),
    ("ssh_port", "SSH p&ort:", "22", lambda t: validate_port(t, "ssh_port")),
    ("user", "&User:", "the SSH user the vendor gave you", validate_user),
    ("remote_port", "&Allocated port:", "the port the vendor allocated", _port),
    ("remote_bind", "B&ind address:", "empty: localhost, as ssh -R", _bind),
)
_OPTIONAL = {"remote_bind"}
_LABELS = {
    "jumphost": "jumphost",
    "ssh_port": "SSH port",
    "user": "user",
    "remote_port": "allocated port",
    "remote_bind": "bind address",
    "target_host": "target host",
    "target_port": "target port",
}
_PHRASES = {
    "keepalive_interval": "keepalive every {} s",
    "keepalive_count_max": "{} missed keepalive(s) allowed",
}


def _phrase(name: str, value: object) -> str:
    """One found field, as the note under the paste box lists it."""
    if name in _PHRASES:
        return _PHRASES[name].format(value)
    return f"{_LABELS.get(name, name)} {_shown(name, value)}"


def _shown(name: str, value: object) -> str:
    """How a parsed or stored value reads in its field."""
    if name == "remote_bind":
        return "" if value is None else ("*" if value == "" else str(value))
    return str(value)


class EndpointPage(QWizardPage):
    def __init__(self, draft: Draft) -> None:
        super().__init__()
        self.setObjectName("endpoint")
        self.draft = draft
        self.setTitle("The vendor's jumphost")
        self.setSubTitle(
            "Paste what the vendor shows (their ssh command, tunnel endpoint or settings); "
            "the fields below fill in. You can also type them."
        )
        self._from_paste: dict[str, str] = {}  # field -> the text the paste put there
        self._touched: set[str] = set()
        self._parse = PageTask(self, "parse-paste", self._parsed, self._parse_failed)
        self._debounce = QTimer(self)
        self._debounce.setSingleShot(True)
        self._debounce.setInterval(DEBOUNCE_MS)
        self._debounce.timeout.connect(self._start_parse)

        self.paste = QPlainTextEdit()
        self.paste.setTabChangesFocus(True)
        self.paste.setPlaceholderText(
            "For example:  ssh -NR 58115:localhost:3306 sshtunnel@tunnel.vendor.example -p 50683"
        )
        self.paste.setMinimumHeight(self.paste.fontMetrics().lineSpacing() * 4 + 12)
        self.paste.textChanged.connect(self._paste_changed)
        paste_label = QLabel("&Paste the vendor's details here:")
        paste_label.setBuddy(self.paste)
        self.paste_note = Note()
        self.ignored_note = Note(GREY)

        self.edits: dict[str, QLineEdit] = {}
        self.notes: dict[str, Note] = {}
        form = QFormLayout()
        for name, label, hint, _check in _FIELDS:
            edit = QLineEdit()
            edit.setPlaceholderText(hint)
            edit.setObjectName(name)
            edit.textChanged.connect(self._field_changed)
            edit.textEdited.connect(lambda _text, n=name: self._touched.add(n))
            self.edits[name], self.notes[name] = edit, Note()
            form.addRow(label, with_note(edit, self.notes[name]))

        layout = QVBoxLayout(self)
        layout.addWidget(paste_label)
        layout.addWidget(self.paste, 1)
        layout.addWidget(self.paste_note)
        layout.addWidget(self.ignored_note)
        layout.addLayout(form)
        self._prefill()

    def _prefill(self) -> None:
        editing = self.draft.editing
        if editing is not None:
            for name in self.edits:
                self.edits[name].setText(_shown(name, getattr(editing, name)))
        else:
            self.edits["ssh_port"].setText(str(DEFAULT_SSH_PORT))
        if self.draft.prefill.paste:
            self.paste.setPlainText(self.draft.prefill.paste)

    @property
    def parsing(self) -> bool:
        """A paste is waiting to be read, or being read."""
        return self._debounce.isActive() or self._parse.running

    # --- the paste ----------------------------------------------------------------------

    def _paste_changed(self) -> None:
        self._debounce.start()  # parse once typing pauses, off the GUI thread

    def _start_parse(self) -> None:
        text = self.paste.toPlainText()
        if not text.strip():
            self._parse.drop()
            self.draft.pasted = {}
            self.paste_note.say("")
            self.ignored_note.say("")
            self._apply({})
            return
        self._parse.start(lambda _progress: parse_paste(text))

    def _parse_failed(self, exc: Exception) -> None:
        self.paste_note.say(message_of(exc), RED)
        self.ignored_note.say("")

    def _parsed(self, value: Any) -> None:
        result: PasteResult = value
        # The key is chosen on the Key page, whatever the vendor's command calls it.
        shown = {k: v for k, v in result.fields.items() if k != "key_path"}
        holes = {k: t for k, t in result.placeholders.items() if k != "key_path"}
        found = ", ".join(_phrase(k, v) for k, v in shown.items())
        missing = ", ".join(f"{_LABELS.get(k, k)} ({t})" for k, t in holes.items())
        text = f"Found in the {result.source}: {found or 'nothing usable'}."
        if missing:
            text += f"\nStill to fill in: {missing}."
        self.paste_note.say(text, AMBER if missing else GREY)
        self.ignored_note.say("\n".join(f"Set aside: {n}" for n in result.ignored))
        self.draft.pasted = dict(result.fields)
        self._apply(result.fields)

    def _apply(self, fields: dict[str, object]) -> None:
        """Fill what the paste gives; clear what an earlier paste filled and this one lacks."""
        for name, edit in self.edits.items():
            if name in fields:
                text = _shown(name, fields[name])
                self._from_paste[name] = text
                edit.setText(text)
            elif self._from_paste.get(name) == edit.text():
                del self._from_paste[name]
                edit.setText(str(DEFAULT_SSH_PORT) if name == "ssh_port" else "")

    # --- the fields ---------------------------------------------------------------------

    def values(self) -> dict[str, Any] | None:
        """The checked values of every field, or None while any is wrong or missing."""
        out: dict[str, Any] = {}
        for name, _label, _hint, check in _FIELDS:
            text = self.edits[name].text()
            if not text.strip() and name not in _OPTIONAL:
                return None
            try:
                out[name] = check(text if name == "remote_bind" else text.strip())
            except InvalidField:
                return None
        return out

    def _field_changed(self) -> None:
        for name, _label, _hint, check in _FIELDS:
            text = self.edits[name].text()
            message = ""
            if not text.strip() and name not in _OPTIONAL:
                message = "required." if name in self._touched else ""
            else:
                try:
                    check(text if name == "remote_bind" else text.strip())
                except InvalidField as exc:
                    message = exc.message
            self.notes[name].say(message)
        self.completeChanged.emit()

    # --- QWizardPage --------------------------------------------------------------------

    def isComplete(self) -> bool:
        return self.values() is not None

    def validatePage(self) -> bool:
        values = self.values()
        if values is None:
            return False
        if self.parsing:
            # What the person sees now is what they chose; a late parse must not change it.
            self._debounce.stop()
            self._parse.drop()
        self.draft.endpoint = values
        return True
