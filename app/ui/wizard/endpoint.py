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

from app.core.jump import FORM as JUMP_FORM
from app.core.jump import parse_jump, validate_jump
from app.core.paste import PasteResult, parse_paste
from app.core.paste.endpoint import typed_jumphost
from app.core.portclash import clash_sentence, same_port
from app.core.profile import DEFAULT_SSH_PORT, Profile, validate_bind, validate_port, validate_user
from app.errors import InvalidField
from app.ui import system_proxy
from app.ui.wizard import endpoint_text, vendorkey
from app.ui.wizard.draft import Draft
from app.ui.wizard.endpoint_text import NAMED, shown
from app.ui.wizard.hints import clear_next, explain_next, on_shown
from app.ui.wizard.proxy_field import Choice, ProxyField
from app.ui.wizard.task import PageTask
from app.ui.wizard.widgets import (
    AMBER,
    GREY,
    RED,
    Note,
    keep_room,
    message_of,
    sentence,
    with_note,
)

DEBOUNCE_MS = 300


def _port(text: str) -> int:
    return validate_port(text, "remote_port")


def _bind(text: str) -> str | None:
    return None if text == "" else validate_bind(text)


# Field name, label, placeholder, check (text -> value; raises InvalidField).
_FIELDS: tuple[tuple[str, str, str, Callable[[str], Any]], ...] = (
    ("jumphost", "&Jumphost:", "tunnel.vendor.example", typed_jumphost),
    ("ssh_port", "SSH p&ort:", "22", lambda t: validate_port(t, "ssh_port")),
    ("user", "&User:", "the SSH user the vendor gave you", validate_user),
    ("remote_port", "&Allocated port:", "the port the vendor allocated", _port),
    ("remote_bind", "B&ind address:", "empty: localhost, as ssh -R", _bind),
    ("jump", "Ju&mp host:", "optional: user@host[:port], …", validate_jump),
)
_OPTIONAL = {"remote_bind", "jump"}
_ASKED = ("jumphost", "user", "remote_port")  # what a paste may leave out


def _read(text: str, chosen_key: str) -> tuple[PasteResult, vendorkey.VendorKey | None]:
    """On a worker: the paste, and the key file its command names as found here."""
    result = parse_paste(text)
    given = vendorkey.given_key(result)
    return result, (vendorkey.look(given, chosen_key) if given else None)


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
        self._missing: dict[str, str] = {}  # field -> what the last paste leaves out, and why
        self._others: list[Profile] = []  # this user's other tunnels
        self._parse = PageTask(self, "parse-paste", self._parsed, self._parse_failed)
        self._profiles = PageTask(self, "other-tunnels", self._profiles_read, lambda _exc: None)
        self._detect = PageTask(self, "system-proxy", self.proxy_detected, lambda _exc: None)
        self._detected_for: tuple[str, int] | None = None
        self._pasted_proxy: str | None = None  # the proxy text the last paste put there
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
        self.paste_note = keep_room(Note())  # says what each paste gave, as it is typed
        self.ignored_note = Note(GREY)
        self.key_note = Note(AMBER)  # the key file the vendor's command names

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
        self.edits["jumphost"].editingFinished.connect(self._split_jumphost)
        self.edits["jump"].setToolTip(
            "Only if the vendor's jumphost is reached through other SSH hosts (ssh -J): "
            f"{JUMP_FORM}. Empty: the jumphost is dialled itself."
        )
        self._build_proxy(form)

        layout = QVBoxLayout(self)
        layout.addWidget(paste_label)
        layout.addWidget(self.paste, 1)
        layout.addWidget(self.paste_note)
        layout.addWidget(self.ignored_note)
        layout.addWidget(self.key_note)
        layout.addLayout(form)
        self._prefill()

    def _build_proxy(self, form: QFormLayout) -> None:
        self.proxy = ProxyField()
        self.proxy.changed.connect(self._field_changed)
        self.proxy.combo.activated.connect(lambda _index: self._touched.add("proxy"))
        for edit in (self.proxy.host, self.proxy.port, self.proxy.user):
            edit.textEdited.connect(lambda _text: self._touched.add("proxy"))
        self.proxy_note = Note()
        form.addRow("Pro&xy:", with_note(self.proxy, self.proxy_note))
        for name in ("jumphost", "ssh_port", "jump"):
            self.edits[name].editingFinished.connect(self.detect_proxy)

    def _prefill(self) -> None:
        editing = self.draft.editing
        if editing is not None:
            for name in self.edits:
                self.edits[name].setText(shown(name, getattr(editing, name)))
            self.proxy.set_spec(editing.proxy)
        else:
            self.edits["ssh_port"].setText(str(DEFAULT_SSH_PORT))
        if self.draft.prefill.paste:
            self.paste.setPlainText(self.draft.prefill.paste)

    @property
    def parsing(self) -> bool:
        """A paste is waiting to be read, or being read."""
        return self._debounce.isActive() or self._parse.running

    @property
    def reading_tunnels(self) -> bool:
        """The other tunnels (for a shared port) are being read."""
        return self._profiles.running

    # --- the paste ----------------------------------------------------------------------

    def _paste_changed(self) -> None:
        self._debounce.start()  # parse once typing pauses, off the GUI thread

    def _start_parse(self) -> None:
        text = self.paste.toPlainText()
        if not text.strip():
            self._parse.drop()
            self.draft.pasted, self.draft.paste = {}, None
            self._missing = {}
            for note in (self.paste_note, self.ignored_note, self.key_note):
                note.say("")
            self._apply({})
            return
        chosen = self.draft.key_path
        self._parse.start(lambda _progress: _read(text, chosen))

    def _parse_failed(self, exc: Exception) -> None:
        self.paste_note.say(message_of(exc), RED)
        self.ignored_note.say("")

    def _parsed(self, value: Any) -> None:
        result: PasteResult = value[0]
        vendor: vendorkey.VendorKey | None = value[1]
        text, todo = endpoint_text.summary(result)
        self.paste_note.say(text, AMBER if todo else GREY)
        self.ignored_note.say("\n".join(f"Set aside: {n}" for n in result.ignored))
        self.key_note.say(
            "" if vendor is None else vendorkey.endpoint_sentence(vendor),
            GREY if vendor is not None and vendor.chosen else AMBER,
        )
        self.draft.pasted, self.draft.paste = dict(result.fields), result
        self._missing = endpoint_text.missing(result, _ASKED)
        self._apply(result.fields)
        self._field_changed()  # the notes of fields the paste left empty

    def _apply(self, fields: dict[str, object]) -> None:
        """Fill what the paste gives; clear what an earlier paste filled and this one lacks."""
        for name, edit in self.edits.items():
            if name in fields:
                text = shown(name, fields[name])
                self._from_paste[name] = text
                edit.setText(text)
            elif self._from_paste.get(name) == edit.text():
                del self._from_paste[name]
                edit.setText(str(DEFAULT_SSH_PORT) if name == "ssh_port" else "")
        pasted = fields.get("proxy")
        if isinstance(pasted, str) and "proxy" not in self._touched:
            self.proxy.set_spec(pasted)
            self._pasted_proxy = pasted
        elif pasted is None and self._pasted_proxy is not None and "proxy" not in self._touched:
            self._pasted_proxy = None  # an earlier paste's proxy goes with it
            self.proxy.set_spec(self.draft.editing.proxy if self.draft.editing else "system")
        self.detect_proxy()

    # --- the fields ---------------------------------------------------------------------

    def _split_jumphost(self) -> None:
        """``host:port`` typed as the jumphost: the port goes to the SSH port field."""
        try:
            host, port = typed_jumphost(self.edits["jumphost"].text())
        except InvalidField:
            return
        if port is not None:
            self._touched.add("ssh_port")
            self.edits["ssh_port"].setText(str(port))
            self.edits["jumphost"].setText(host)

    def _checked(self) -> tuple[dict[str, Any], dict[str, str]]:
        """The checked value of each field, and for each field that has none, why."""
        out: dict[str, Any] = {}
        wrong: dict[str, str] = {}
        for name, _label, _hint, check in _FIELDS:
            text = self.edits[name].text()
            if not text.strip() and name not in _OPTIONAL:
                wrong[name] = self._missing.get(name, "required.")
                continue
            try:
                out[name] = check(text if name == "remote_bind" else text.strip())
            except InvalidField as exc:
                wrong[name] = exc.message
        try:
            out["proxy"], _password = self.proxy.value()
        except InvalidField as exc:
            wrong["proxy"] = exc.message
        jumphost = out.get("jumphost")
        if isinstance(jumphost, tuple):  # (host, SSH port typed with it, or None)
            out["jumphost"], typed_port = jumphost
            if typed_port is not None:
                out["ssh_port"] = typed_port
                wrong.pop("ssh_port", None)
        return out, wrong

    def values(self) -> dict[str, Any] | None:
        """The checked values of every field, or None while any is wrong or missing."""
        out, wrong = self._checked()
        return None if wrong else out

    def _field_changed(self) -> None:
        out, wrong = self._checked()
        for name, _label, _hint, _check in _FIELDS:
            message, colour = wrong.get(name, ""), RED
            empty = not self.edits[name].text().strip()
            if empty and name in self._missing:
                colour = AMBER  # the paste left it out: to do, not wrong
            elif empty and name not in self._touched:
                message = ""  # nothing said before anyone typed
            self.notes[name].say(message, colour)
        self.proxy_note.say(wrong.get("proxy", ""), RED)
        typed_port = self._typed_port()
        if typed_port is not None:
            self.notes["jumphost"].say(
                f"SSH port {typed_port}, typed with the jumphost: it is used as the SSH port.",
                GREY,
            )
        self._warn_shared_port(out, wrong)
        explain_next(self, [self._problem(name, message) for name, message in wrong.items()])
        self.completeChanged.emit()

    def _typed_port(self) -> int | None:
        try:
            return typed_jumphost(self.edits["jumphost"].text())[1]
        except InvalidField:
            return None

    def _problem(self, name: str, message: str) -> str:
        """One reason Next is disabled, as a sentence."""
        if name == "proxy":
            return sentence(f"the proxy: {message}")
        if self.edits[name].text().strip():
            return sentence(f"{NAMED[name]}: {message}")
        if name in self._missing:
            return sentence(message)
        return sentence(f"{NAMED[name]} is required.")

    def _warn_shared_port(self, out: dict[str, Any], wrong: dict[str, str]) -> None:
        """Another tunnel of this user asking the same jumphost for the same port."""
        needed = ("jumphost", "ssh_port", "remote_port", "remote_bind")
        if any(name in wrong for name in needed) or "remote_port" not in out:
            return
        clashes = same_port(
            out["jumphost"], out["ssh_port"], out["remote_port"], out["remote_bind"], self._others
        )
        if clashes:
            self.notes["remote_port"].say(clash_sentence(clashes[0]), AMBER)

    # --- the proxy ----------------------------------------------------------------------

    def detect_proxy(self) -> None:
        """Ask the system settings (off the GUI thread: a PAC script may take seconds) which
        proxy they name for the host dialled first (the first jump host, else the
        jumphost), for the first choice's text."""
        out, wrong = self._checked()
        if "jump" in wrong:
            return
        hops = parse_jump(out.get("jump") or "")
        if hops:
            wanted = (hops[0].host, hops[0].port)
        elif "jumphost" in wrong or "ssh_port" in wrong:
            return
        else:
            wanted = (out["jumphost"], out["ssh_port"])
        if wanted == self._detected_for:
            return  # asked already (or being asked)
        self._detected_for = wanted
        self.proxy.set_detected(None)
        self._detect.start(lambda _progress: system_proxy.detected(*wanted))

    def proxy_detected(self, label: str) -> None:
        self.proxy.set_detected(label)

    def offer_proxy(self, label: str) -> None:
        """Back from the test: the system settings' proxy when they name one, else an HTTP
        proxy of the tunnel's own to type in; the focus on the proxy field."""
        self._touched.add("proxy")
        if label:
            self.proxy.choose(Choice.SYSTEM)
            self.proxy.combo.setFocus()
        else:
            self.proxy.choose(Choice.HTTP)
            self.proxy.host.setFocus()

    def _profiles_read(self, profiles: Any) -> None:
        editing = self.draft.editing
        self._others = [p for p in profiles.values() if editing is None or p.name != editing.name]
        self._field_changed()

    # --- QWizardPage --------------------------------------------------------------------

    def initializePage(self) -> None:
        service = self.draft.services.profiles
        self._profiles.start(lambda _progress: service.load())
        on_shown(self, self._field_changed)
        self.detect_proxy()

    def cleanupPage(self) -> None:
        clear_next(self)  # Back: the Key page's Next has nothing to explain

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
        self._split_jumphost()
        self.draft.endpoint = values
        self.draft.proxy_password = self.proxy.value()[1]
        clear_next(self)
        return True
