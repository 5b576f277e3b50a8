"""The wizard's shared widgets: notes, the key box, status icons and check rows."""

from __future__ import annotations

from PySide6.QtGui import QFontInfo
from PySide6.QtWidgets import QWidget
from pytestqt.qtbot import QtBot

from app.errors import InvalidField, KeyPassphraseWrong
from app.ui.wizard.widgets import CheckRow, KeyBox, Mark, Note, StatusIcon, message_of, sentence


def test_sentences_start_with_a_capital() -> None:
    assert sentence("the key is wrong.") == "The key is wrong."
    assert sentence("") == ""
    assert message_of(InvalidField("user", "'a b' is not valid.")) == "'a b' is not valid."
    assert message_of(KeyPassphraseWrong("db")) == "The passphrase for key db is wrong."
    assert message_of(RuntimeError("boom")).startswith("Unexpected RuntimeError")


def test_a_note_takes_no_room_while_empty(qtbot: QtBot) -> None:
    form = QWidget()
    note = Note(parent=form)
    qtbot.addWidget(form)
    form.show()
    assert not note.isVisible()
    note.say("something is wrong.")
    assert note.isVisible() and note.text() == "Something is wrong."
    note.say("")
    assert not note.isVisible()


def test_key_box_is_read_only_monospace(qtbot: QtBot) -> None:
    box = KeyBox()
    qtbot.addWidget(box)
    assert box.text.isReadOnly()
    assert QFontInfo(box.text.font()).fixedPitch()
    assert not box.copy.isEnabled()
    box.set_line("ssh-ed25519 AAAA test")
    assert box.copy.isEnabled() and box.line() == "ssh-ed25519 AAAA test"


def test_icons_paint_every_mark(qtbot: QtBot) -> None:
    icon = StatusIcon()
    qtbot.addWidget(icon)
    images = {}
    for mark in Mark:
        icon.set_mark(mark)
        images[mark] = icon.grab().toImage()
    assert len({image.cacheKey() for image in images.values()}) == len(Mark)
    pass_colour = images[Mark.PASS].pixelColor(9, 4)
    fail_colour = images[Mark.FAIL].pixelColor(9, 4)
    assert pass_colour.green() > pass_colour.red() and fail_colour.red() > fail_colour.green()


def test_a_check_row_shows_the_remedy_under_a_failure_only(qtbot: QtBot) -> None:
    row = CheckRow(6, "target reachable")
    qtbot.addWidget(row)
    row.show()
    assert "6. Target reachable" in row.text.text()
    row.show_state(Mark.FAIL, "it refused <b>", "start the database.")
    assert "It refused &lt;b&gt;" in row.text.text()  # details are text, not markup
    assert row.remedy.isVisible() and row.remedy.text() == "→ Start the database."
    row.show_state(Mark.SKIPPED, "not run.", "use the vendor's button.")
    assert not row.remedy.isVisible()


def test_notes_read_at_4_5_to_1_on_light_and_dark_windows(qtbot: QtBot) -> None:
    import re

    from PySide6.QtGui import QColor, QPalette

    from app.ui.palette import MIN_CONTRAST, contrast
    from app.ui.wizard.widgets import AMBER, GREEN, GREY, RED, Note

    for window in ("#efefef", "#ffffff", "#2b2b2b", "#1e1e1e"):
        for hue in (RED, AMBER, GREEN, GREY):
            note = Note()
            qtbot.addWidget(note)
            palette = note.palette()
            palette.setColor(QPalette.ColorRole.Window, QColor(window))
            note.setPalette(palette)
            note.say("the port is taken", hue)
            shown = re.search(r"color: (#[0-9a-f]{6})", note.styleSheet())
            assert shown is not None
            assert contrast(QColor(shown.group(1)), QColor(window)) >= MIN_CONTRAST, (window, hue)
