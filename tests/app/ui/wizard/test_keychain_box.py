"""The Key page without a keychain: "Remember" is off and disabled, saying why, and the
"asked for each time" warning is only for a key that has a passphrase."""

from __future__ import annotations

from collections.abc import Callable

from app.ui.wizard.wizard import Page
from tests.app.ui.wizard.driver import Driver


def test_without_a_keychain_remember_is_off_and_no_warning_without_a_passphrase(
    make_wizard: Callable[..., Driver],
) -> None:
    driver = make_wizard()  # no keychain on this machine
    driver.next(Page.KEY)
    page = driver.wizard.key_page
    driver.wait(lambda: not page.remember.isEnabled(), 10_000)
    assert not page.remember.isChecked()
    assert page.remember.toolTip().startswith("No system keychain is available")
    assert page.keychain_note.isHidden()  # no passphrase typed: nothing is asked each time

    driver.qtbot.keyClicks(page.passphrase, "pw")
    assert page.keychain_note.isVisible()
    assert "asked for each time" in page.keychain_note.text()
    driver.set_text(page.passphrase, "")
    assert page.keychain_note.isHidden()

    driver.create_key()  # a key without a passphrase
    assert page.keychain_note.isHidden() and not page.remember.isChecked()
