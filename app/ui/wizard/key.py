"""Page 2: create an ed25519 key or bring an existing one, and show its public line."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from PySide6.QtWidgets import (
    QButtonGroup,
    QCheckBox,
    QFileDialog,
    QFormLayout,
    QHBoxLayout,
    QLabel,
    QLineEdit,
    QPushButton,
    QRadioButton,
    QVBoxLayout,
    QWidget,
    QWizardPage,
)

from app.errors import KeyPassphraseNeeded, KeyPassphraseWrong
from app.services.keys import private_twin, public_half
from app.ui.wizard import keying, vendorkey
from app.ui.wizard.discard import DiscardQuestion, discard_question
from app.ui.wizard.draft import Draft
from app.ui.wizard.hints import on_shown
from app.ui.wizard.keying import Choice
from app.ui.wizard.task import PageTask
from app.ui.wizard.widgets import (
    AMBER,
    GREEN,
    GREY,
    RED,
    KeyBox,
    Note,
    choose_file,
    message_of,
    with_note,
)

_ACTION = {
    Choice.CURRENT: "&Unlock key",
    Choice.NEW: "Crea&te key",
    Choice.EXISTING: "&Use this key",
}


class KeyPage(QWizardPage):
    def __init__(self, draft: Draft) -> None:
        super().__init__()
        self.setObjectName("key")
        self.draft = draft
        self.setTitle("Your tunnel key")
        self.setSubTitle("The vendor's jumphost recognises this computer by its SSH key.")
        self.ready: dict[Choice, keying.KeyReady] = {}
        self._typed: dict[Choice, str | None] = {}
        self._needs_passphrase: set[Choice] = set()
        self._task = PageTask(self, "key", self._key_ready, self._key_failed)
        self._probe = PageTask(self, "keychain", self._keychain_answer, self._keychain_answer)
        self._probed = False
        self._busy_choice = Choice.NEW
        self._source: Path | None = None  # the file the running import copies
        self.copies: dict[str, str] = {}  # copy written in the keys folder -> its original
        self._offered = ""  # the vendor's key file last offered
        self._keychain_problem: str | None = None  # None: not known yet; "": it works
        self.file_dialog: QFileDialog | None = None
        self._build()
        self.choices.button(Choice.CURRENT if draft.editing else Choice.NEW).setChecked(True)
        self._choice_changed()

    # --- layout -------------------------------------------------------------------------

    def _build(self) -> None:
        editing = self.draft.editing
        self.current_option = QRadioButton("&Keep the current key")
        if editing is not None:  # a long path would widen the window: show its end
            shown = (
                editing.key_path if len(editing.key_path) <= 60 else "…" + editing.key_path[-58:]
            )
            self.current_option.setText(f"&Keep the current key ({shown})")
            self.current_option.setToolTip(editing.key_path)
        self.current_option.setVisible(editing is not None)
        self.new_option = QRadioButton("Create a ne&w key (ed25519, recommended)")
        self.existing_option = QRadioButton("Use an &existing private key file")
        self.choices = QButtonGroup(self)
        for choice, button in (
            (Choice.CURRENT, self.current_option),
            (Choice.NEW, self.new_option),
            (Choice.EXISTING, self.existing_option),
        ):
            self.choices.addButton(button, choice)
        self.choices.idToggled.connect(self._choice_toggled)
        self._build_form()
        self.key_box = KeyBox()
        self.key_label = QLabel("Paste this into your vendor's SSH public key field:")
        self.key_label.setBuddy(self.key_box.text)
        self.fingerprint = Note(GREY)
        self.note = Note()
        self.vendor_note = Note(AMBER)  # the key file the vendor's command names

        layout = QVBoxLayout(self)
        layout.addWidget(self.vendor_note)
        for button in (self.current_option, self.new_option, self.existing_option):
            layout.addWidget(button)
        layout.addLayout(self.form)
        layout.addSpacing(6)
        layout.addWidget(self.key_label)
        layout.addWidget(self.key_box)
        layout.addWidget(self.fingerprint)
        layout.addWidget(self.note)
        layout.addStretch(1)

    def _build_form(self) -> None:
        self.path = QLineEdit()
        self.path.setPlaceholderText("for example ~/.ssh/id_ed25519")
        self.path.textEdited.connect(self._path_edited)
        self.path.returnPressed.connect(self._act)
        self.browse = QPushButton("Br&owse…")
        self.browse.clicked.connect(self._browse)
        path_row = QWidget()
        row = QHBoxLayout(path_row)
        row.setContentsMargins(0, 0, 0, 0)
        row.addWidget(self.path, 1)
        row.addWidget(self.browse)

        self.passphrase = QLineEdit()
        self.passphrase.setEchoMode(QLineEdit.EchoMode.Password)
        self.passphrase.textChanged.connect(self._update_action)
        self.passphrase.textChanged.connect(self._show_remember)
        self.repeat = QLineEdit()
        self.repeat.setEchoMode(QLineEdit.EchoMode.Password)
        self.repeat.textChanged.connect(self._update_action)
        self.repeat_note = Note()
        self.remember = QCheckBox("Remember the passphrase in the system keyc&hain")
        self.remember.setChecked(True)
        self.keychain_note = Note(AMBER)
        self.action = QPushButton()
        self.action.clicked.connect(self._act)

        self.form = QFormLayout()
        path_row.setFocusPolicy(self.path.focusPolicy())
        path_row.setFocusProxy(self.path)
        self.form.addRow("Key fi&le:", path_row)
        self.form.addRow("&Passphrase:", self.passphrase)
        self.form.addRow("&Repeat:", with_note(self.repeat, self.repeat_note))
        self.form.addRow("", with_note(self.remember, self.keychain_note))
        action_row = QHBoxLayout()
        action_row.addWidget(self.action)
        action_row.addStretch(1)
        self.form.addRow("", action_row)

    @property
    def choice(self) -> Choice:
        return Choice(self.choices.checkedId())

    def _choice_toggled(self, _id: int, checked: bool) -> None:
        if checked:
            self._choice_changed()

    def _choice_changed(self) -> None:
        """Show what the chosen way needs; a way already done shows its key."""
        choice = self.choice
        done = choice in self.ready
        asks = choice is Choice.NEW or choice in self._needs_passphrase
        self.form.setRowVisible(0, choice is Choice.EXISTING)
        self.form.setRowVisible(1, asks)
        self.form.setRowVisible(2, choice is Choice.NEW)
        self.form.setRowVisible(3, asks)
        self.form.setRowVisible(4, not (choice is Choice.CURRENT and not asks))
        for widget in (self.passphrase, self.repeat, self.remember):
            widget.setEnabled(not done)
        self._show_remember()
        self.path.setEnabled(not self._task.running)
        self.action.setText("Key created" if done and choice is Choice.NEW else _ACTION[choice])
        self.note.say("")
        self._show_key()
        self._update_action()
        self.completeChanged.emit()

    def _show_key(self) -> None:
        ready = self.ready.get(self.choice)
        self.key_box.set_line(ready.public_line if ready else "")
        self.key_label.setEnabled(ready is not None)
        where = f" · {ready.path}" if ready else ""
        self.fingerprint.say(f"{ready.fingerprint}{where}" if ready else "")
        if ready is not None and ready.note:
            self.keychain_note.say(ready.note, GREEN if ready.stored else AMBER)

    def _update_action(self) -> None:
        choice = self.choice
        mismatch = choice is Choice.NEW and self.passphrase.text() != self.repeat.text()
        if not mismatch:
            self.repeat_note.say("")
        elif self.repeat.text():
            self.repeat_note.say("the two passphrases differ.", RED)
        else:
            self.repeat_note.say("type the passphrase again to confirm it.", GREY)
        blocked = (
            self._task.running
            or choice in self.ready
            or mismatch
            or (choice is Choice.EXISTING and not self.path.text().strip())
            or (choice in self._needs_passphrase and not self.passphrase.text())
        )
        self.action.setEnabled(not blocked)

    def _path_edited(self) -> None:
        self.ready.pop(Choice.EXISTING, None)
        self._needs_passphrase.discard(Choice.EXISTING)
        self._choice_changed()

    def _browse(self) -> None:
        start = self.path.text().strip() or str(Path.home() / ".ssh")
        self.file_dialog = choose_file(self, "Choose your private key", start, self._browsed)

    def _browsed(self, chosen: str) -> None:
        self.path.setText(chosen)
        self._path_edited()
        self._public_half()

    def _public_half(self) -> bool:
        """The file named is the public half of a pair: pick the private key next to it if it
        is there, else say which file to choose. True when nothing is to be imported now."""
        source = Path(self.path.text().strip()).expanduser()
        why = public_half(source)
        if not why:
            return False
        twin = private_twin(source)
        if twin is not None and twin.is_file():
            self.path.setText(str(twin))
            self._path_edited()
            self.note.say(
                f"That is the public half ({source.name}); the private key file next to it "
                f"({twin.name}) is chosen instead: press Use this key to import it.",
                AMBER,
            )
        else:
            missing = f", which is not in {source.parent}" if twin is not None else ""
            self.note.say(f"{why}{missing}.", RED)
        return True

    def _offer_vendor_key(self) -> None:
        """The vendor's command names a key file (ssh -i): offer it for import, once."""
        given = vendorkey.given_key(self.draft.paste)
        if not given or given == self._offered or self._task.running:
            return
        self._offered = given
        vendor = vendorkey.look(given, self.draft.key_path)
        if vendor.chosen:
            self._vendor_used(given)
            return
        if vendor.exists:  # pre-selected; a file that is not here is only spoken of
            self.existing_option.setChecked(True)
            if self.path.text().strip() != str(vendor.path):
                self.path.setText(str(vendor.path))
                self._path_edited()
        self.vendor_note.say(vendorkey.key_page_sentence(vendor), AMBER)

    # --- the work -----------------------------------------------------------------------

    def initializePage(self) -> None:
        on_shown(self, self._offer_vendor_key)  # also when the person comes Back after a paste
        self._offer_vendor_key()
        if not self._probed:
            self._probed = True
            keychain = self.draft.services.keys
            self._probe.start(lambda _progress: keying.keychain_problem(keychain))
            if self.draft.editing is not None:
                self._act()  # the kept key: read its public line (and see if it is locked)

    def _keychain_answer(self, problem: object) -> None:
        self._keychain_problem = str(problem or "")
        self._show_remember()

    def _show_remember(self) -> None:
        """ "Remember" off and disabled without a keychain (the tooltip says why); the
        warning that the passphrase is asked for each time only for a key that has one."""
        box = keying.remember_box(self._keychain_problem, self.passphrase.text())
        if not box.usable:
            self.remember.setChecked(False)
            self.remember.setEnabled(False)
        self.remember.setToolTip(box.tooltip)
        ready = self.ready.get(self.choice)
        if ready is not None and ready.note:
            return  # the ready key's own note (kept in the keychain, or not) stands
        # Hidden, the note keeps the room of what it says once a passphrase is typed
        # (keep_room): typing the first letter does not push the fields below down.
        typed = keying.remember_box(self._keychain_problem, "typed")
        self.keychain_note.say(typed.note, AMBER)
        self.keychain_note.setVisible(bool(box.note))

    def _act(self) -> None:
        choice = self.choice
        typed = self.passphrase.text() or None
        if self._task.running or choice in self.ready:
            return
        if choice is Choice.NEW and typed != (self.repeat.text() or None):
            return
        if choice is Choice.EXISTING and self._public_half():
            return
        self._typed[choice] = typed
        source = Path(self.path.text().strip())
        self._source = source.expanduser().absolute()
        keep = self.remember.isChecked()
        self._task.start(keying.key_job(choice, self.draft, typed, keep, source))
        self._working(choice)

    def _working(self, choice: Choice) -> None:
        self.note.say("Working…", GREY)
        self._busy_choice = choice
        for button in self.choices.buttons():
            button.setEnabled(False)
        self._update_action()
        self.completeChanged.emit()

    def _settle(self) -> Choice:
        for button in self.choices.buttons():
            button.setEnabled(True)
        return self._busy_choice

    def _key_ready(self, result: Any) -> None:
        choice = self._settle()
        ready: keying.KeyReady = result
        self.ready[choice] = ready
        self._needs_passphrase.discard(choice)
        if choice is Choice.EXISTING and self._source is not None:
            self._copied(ready, self._source)
        elif ready.created is not None:
            self.draft.created.append(ready.created)
        if ready.stored:
            self.draft.remembered.append(ready.path)
        self._choice_changed()

    def _copied(self, ready: keying.KeyReady, source: Path) -> None:
        """The person's key file was copied in: Cancel may offer to delete the copy (named
        as one), never the file itself."""
        created = ready.created
        if created is not None and not _same_file(created.private, source):
            self.copies[str(created.private)] = str(source)
            self.draft.created.append(created)
        if self._offered and _same_file(vendorkey.locate(self._offered), source):
            self._vendor_used(self._offered)

    def _key_failed(self, exc: Exception) -> None:
        choice = self._settle()
        if isinstance(exc, KeyPassphraseNeeded):
            self._needs_passphrase.add(choice)
        self._choice_changed()
        if isinstance(exc, KeyPassphraseNeeded):
            self.note.say("This key is protected by a passphrase: enter it above.", AMBER)
            self.passphrase.setFocus()
            return
        if isinstance(exc, KeyPassphraseWrong):
            self.passphrase.selectAll()
        self.note.say(message_of(exc))

    def _vendor_used(self, given: str) -> None:
        self.vendor_note.say(
            f"The vendor's command uses the key file {given}: this tunnel uses it.", GREY
        )

    def discard_question(self) -> DiscardQuestion:
        """What Cancel asks about the keys this run wrote: new keys, and copies of yours."""
        return discard_question(self.draft.created, self.copies)

    # --- QWizardPage --------------------------------------------------------------------

    def isComplete(self) -> bool:
        return self.choice in self.ready and not self._task.running

    def validatePage(self) -> bool:
        ready = self.ready.get(self.choice)
        if ready is None:
            return False
        draft = self.draft
        draft.key_path, draft.key_name = ready.path, ready.name
        draft.public_line = ready.public_line
        draft.passphrase = self._typed.get(self.choice)
        return True


def _same_file(first: Path, second: Path) -> bool:
    try:
        return first.resolve() == second.resolve()
    except OSError:
        return False
