"""The Key page: new keys, existing keys, passphrases and the keychain."""

from __future__ import annotations

import stat
from collections.abc import Callable
from pathlib import Path

from keyring.backends import SecretService
from PySide6.QtGui import QGuiApplication
from PySide6.QtWidgets import QWizard

from app import ssh
from app.platform.keychain import open_keychain
from app.storage.paths import AppPaths
from app.ui.wizard import WizardPrefill
from app.ui.wizard.keying import Choice
from app.ui.wizard.widgets import RED
from app.ui.wizard.wizard import Page
from tests.app.ui.wizard.driver import Driver, encrypted_key
from tests.support.secret_service import (
    PrivateSecretService,
    secret_service_fixture,  # noqa: F401  (registers the `secret_service` fixture)
)
from tests.support.sshd import ssh_keygen


def test_next_waits_for_a_key_and_a_new_key_is_shown_with_copy(
    make_wizard: Callable[..., Driver], tk_home: AppPaths
) -> None:
    driver = make_wizard()
    driver.next(Page.KEY)
    page = driver.wizard.key_page
    assert page.new_option.isChecked() and not page.current_option.isVisible()
    assert not driver.next_enabled()
    assert not page.key_box.copy.isEnabled()
    driver.create_key()
    private = tk_home.keys_dir / "tunnel"  # no name suggested: the default
    assert stat.S_IMODE(private.stat().st_mode) == 0o600
    line = page.key_box.line()
    assert line == Path(f"{private}.pub").read_text().strip()
    assert line.startswith("ssh-ed25519 ") and "tunnelkeeper-tunnel@" in line
    assert page.key_box.text.isReadOnly()
    assert "vendor's SSH public key field" in page.key_label.text()
    key = ssh.load_private_key(private)
    assert page.fingerprint.text().startswith(ssh.fingerprint(key))
    driver.click(page.key_box.copy)
    assert QGuiApplication.clipboard().text() == line
    assert driver.next_enabled()
    assert not page.action.isEnabled()  # one new key per run


def test_a_taken_key_name_gets_a_number(
    make_wizard: Callable[..., Driver], tk_home: AppPaths
) -> None:
    from app.ssh.keys import generate, key_files

    generate(key_files(tk_home.keys_dir, "db"), "db", None)
    generate(key_files(tk_home.keys_dir, "db-2"), "db-2", None)
    driver = make_wizard(prefill=WizardPrefill(name="db"))
    driver.next(Page.KEY)
    driver.create_key()
    assert driver.wizard.key_page.ready[Choice.NEW].path == str(tk_home.keys_dir / "db-3")


def test_passphrases_must_match_before_a_key_is_made(make_wizard: Callable[..., Driver]) -> None:
    driver = make_wizard()
    driver.next(Page.KEY)
    page = driver.wizard.key_page
    driver.qtbot.keyClicks(page.passphrase, "one")
    assert "again" in page.repeat_note.text()
    assert not page.action.isEnabled()
    driver.qtbot.keyClicks(page.repeat, "two")
    assert page.repeat_note.text() == "The two passphrases differ."
    assert page.repeat_note.isVisible()
    assert not page.action.isEnabled()
    driver.set_text(page.repeat, "one")
    assert not page.repeat_note.isVisible()
    assert page.action.isEnabled()


def test_without_a_keychain_a_note_says_so_and_the_key_is_still_made(
    make_wizard: Callable[..., Driver], tk_home: AppPaths
) -> None:
    driver = make_wizard()
    driver.next(Page.KEY)
    page = driver.wizard.key_page
    # the page asks the keychain when it opens, off the GUI thread
    driver.wait(lambda: not page.remember.isEnabled())
    assert not page.remember.isChecked()
    assert page.keychain_note.isHidden()  # no passphrase typed: nothing to warn of yet
    driver.qtbot.keyClicks(page.passphrase, "p")
    assert page.keychain_note.text().startswith("The system keychain is not available")
    driver.set_text(page.passphrase, "")
    driver.create_key(passphrase="pass phrase")
    assert "asked for each time" in page.keychain_note.text()
    private = tk_home.keys_dir / "tunnel"
    assert ssh.load_private_key(private, "pass phrase") is not None
    assert driver.next_enabled()
    driver.next()
    assert driver.wizard.draft.passphrase == "pass phrase"  # held for the test page
    assert "pass phrase" not in repr(driver.wizard.draft)


def test_remembered_passphrase_goes_into_a_real_keychain(
    make_wizard: Callable[..., Driver],
    tk_home: AppPaths,
    secret_service: PrivateSecretService,
) -> None:
    driver = make_wizard(keychain=lambda: open_keychain(SecretService.Keyring()))
    driver.next(Page.KEY)
    driver.create_key(passphrase="kept in the keychain")
    page = driver.wizard.key_page
    driver.wait(page.keychain_note.isVisible)
    assert page.keychain_note.text() == "The passphrase is stored in the system keychain."
    key_path = str(tk_home.keys_dir / "tunnel")
    entry = {"service": "Tunnelkeeper", "username": key_path}
    assert secret_service.secret_of(entry) == "kept in the keychain"


def test_unticking_remember_stores_nothing(
    make_wizard: Callable[..., Driver],
    tk_home: AppPaths,
    secret_service: PrivateSecretService,
) -> None:
    driver = make_wizard(keychain=lambda: open_keychain(SecretService.Keyring()))
    driver.next(Page.KEY)
    driver.tick(driver.wizard.key_page.remember)
    driver.create_key(passphrase="not kept")
    entry = {"service": "Tunnelkeeper", "username": str(tk_home.keys_dir / "tunnel")}
    assert secret_service.secret_of(entry) is None


def test_an_existing_key_is_copied_in(
    make_wizard: Callable[..., Driver], client_key: Path, tk_home: AppPaths
) -> None:
    driver = make_wizard()
    driver.next(Page.KEY)
    page = driver.wizard.key_page
    assert not page.path.isVisible()
    page.existing_option.setChecked(True)
    assert page.path.isVisible() and not page.repeat.isVisible()
    assert not page.action.isEnabled()  # no file named yet
    driver.use_key(client_key)
    copied = tk_home.keys_dir / "tunnel"
    assert copied.read_bytes() == client_key.read_bytes()
    assert stat.S_IMODE(copied.stat().st_mode) == 0o600
    # the comment of the key's own .pub is kept, as `tunnelkeeper import-key` does
    assert page.key_box.line() == Path(f"{client_key}.pub").read_text().strip()
    driver.next()
    assert driver.wizard.draft.key_path == str(copied)


def test_an_encrypted_existing_key_asks_for_its_passphrase(
    make_wizard: Callable[..., Driver], tmp_path: Path
) -> None:
    source = encrypted_key(tmp_path / "locked", "open sesame")
    driver = make_wizard()
    driver.next(Page.KEY)
    page = driver.wizard.key_page
    page.existing_option.setChecked(True)
    assert not page.passphrase.isVisible()  # asked for only once the key turns out locked
    driver.use_key(source, passphrase="open sesame")
    assert page.key_box.line().startswith("ssh-ed25519 ")
    driver.next()
    assert driver.wizard.draft.passphrase == "open sesame"


def test_a_wrong_passphrase_or_a_bad_file_is_said_in_words(
    make_wizard: Callable[..., Driver], tmp_path: Path
) -> None:
    source = encrypted_key(tmp_path / "locked", "right")
    driver = make_wizard()
    driver.next(Page.KEY)
    page = driver.wizard.key_page
    page.existing_option.setChecked(True)
    driver.qtbot.keyClicks(page.path, str(tmp_path / "missing"))
    driver.click(page.action)
    driver.wait(lambda: "does not exist" in page.note.text())
    assert "Traceback" not in page.note.text()
    driver.set_text(page.path, str(source))
    driver.click(page.action)
    driver.wait(page.passphrase.isVisible)
    driver.qtbot.keyClicks(page.passphrase, "wrong")
    driver.click(page.action)
    driver.wait(lambda: "is wrong" in page.note.text())
    assert not driver.next_enabled()


def test_switching_choice_shows_that_choice_s_key(
    make_wizard: Callable[..., Driver], client_key: Path
) -> None:
    driver = make_wizard()
    driver.next(Page.KEY)
    page = driver.wizard.key_page
    driver.create_key()
    made = page.key_box.line()
    page.existing_option.setChecked(True)
    assert page.key_box.line() == "" and not driver.next_enabled()
    page.new_option.setChecked(True)
    assert page.key_box.line() == made and driver.next_enabled()


def test_browse_opens_a_chooser_without_blocking_and_takes_the_chosen_file(
    make_wizard: Callable[..., Driver], client_key: Path, tk_home: AppPaths
) -> None:
    driver = make_wizard()
    driver.next(Page.KEY)
    page = driver.wizard.key_page
    driver.tick(page.existing_option)
    assert page.existing_option.isChecked()
    driver.click(page.browse)  # returns at once: the dialog is open, not exec()'d
    dialog = page.file_dialog
    assert dialog is not None
    driver.wait(dialog.isVisible)
    dialog.selectFile(str(client_key))
    dialog.accept()
    assert page.path.text() == str(client_key)
    driver.click(page.action)
    driver.wait(driver.next_enabled)
    assert (tk_home.keys_dir / "tunnel").read_bytes() == client_key.read_bytes()


# --- the public half, a copy of your key, and the vendor's key file (issue 16) ----------------


def test_choosing_the_public_half_picks_the_private_key_next_to_it(
    make_wizard: Callable[..., Driver], client_key: Path, tk_home: AppPaths
) -> None:
    driver = make_wizard()
    driver.next(Page.KEY)
    page = driver.wizard.key_page
    page.existing_option.setChecked(True)
    driver.qtbot.keyClicks(page.path, f"{client_key}.pub")
    driver.click(page.action)
    assert page.path.text() == str(client_key)
    assert page.note.text() == (
        f"That is the public half ({client_key.name}.pub); the private key file next to it "
        f"({client_key.name}) is chosen instead: press Use this key to import it."
    )
    assert not (tk_home.keys_dir / "tunnel").exists()  # nothing imported behind its back
    driver.click(page.action)
    driver.wait(driver.next_enabled)
    assert (tk_home.keys_dir / "tunnel").read_bytes() == client_key.read_bytes()


def test_a_public_half_alone_says_which_file_to_choose(
    make_wizard: Callable[..., Driver], client_key: Path, tmp_path: Path
) -> None:
    lonely = tmp_path / "elsewhere" / "id_ed25519.pub"
    lonely.parent.mkdir()
    lonely.write_text(Path(f"{client_key}.pub").read_text())
    driver = make_wizard()
    driver.next(Page.KEY)
    page = driver.wizard.key_page
    driver.tick(page.existing_option)
    driver.click(page.browse)
    dialog = page.file_dialog
    assert dialog is not None
    driver.wait(dialog.isVisible)
    dialog.selectFile(str(lonely))
    dialog.accept()
    assert page.note.text() == (
        "That is the public half (id_ed25519.pub); choose the private key file next to it "
        f"(id_ed25519), which is not in {lonely.parent}."
    )
    assert RED[1:] in page.note.styleSheet()
    assert page.path.text() == str(lonely)
    assert not driver.next_enabled()


def test_cancel_after_using_an_existing_key_calls_it_a_copy_and_spares_the_original(
    make_wizard: Callable[..., Driver], client_key: Path, tk_home: AppPaths
) -> None:
    original = client_key.read_bytes()
    driver = make_wizard()
    driver.next(Page.KEY)
    driver.use_key(client_key)
    copy = tk_home.keys_dir / "tunnel"
    driver.click(driver.button(QWizard.WizardButton.CancelButton))
    box = driver.wizard.discard_box
    assert box is not None
    driver.wait(box.isVisible)
    words = " ".join([box.windowTitle(), box.text(), box.informativeText()])
    assert "created" not in words  # the person made this key, not the setup
    assert box.windowTitle() == "Keep the copy of your key?"
    assert box.text() == (
        "This setup made a copy of your key, which no tunnel uses yet. Delete the copy, or keep it?"
    )
    assert f"{copy}\n(a copy of {client_key})" in box.informativeText()
    assert "Your own key file stays where it is either way" in box.informativeText()
    assert driver.wizard.delete_key is not None
    assert driver.wizard.delete_key.text() == "&Delete copy"
    driver.click(driver.wizard.delete_key)
    driver.wait(lambda: not copy.exists())
    assert client_key.read_bytes() == original
    assert Path(f"{client_key}.pub").exists()


def test_cancel_after_a_new_key_and_a_copy_names_each(
    make_wizard: Callable[..., Driver], client_key: Path, tk_home: AppPaths
) -> None:
    driver = make_wizard()
    driver.next(Page.KEY)
    driver.create_key()
    driver.use_key(client_key)
    driver.click(driver.button(QWizard.WizardButton.CancelButton))
    box = driver.wizard.discard_box
    assert box is not None
    driver.wait(box.isVisible)
    details = box.informativeText()
    assert f"{tk_home.keys_dir / 'tunnel'}\n(a new key)" in details
    assert f"{tk_home.keys_dir / 'tunnel-2'}\n(a copy of {client_key})" in details
    assert driver.wizard.keep_key is not None
    driver.click(driver.wizard.keep_key)
    assert (tk_home.keys_dir / "tunnel-2").exists() and client_key.exists()


def test_the_vendors_key_file_is_offered_for_import_when_coming_back(
    make_wizard: Callable[..., Driver], client_key: Path, tmp_path: Path, tk_home: AppPaths
) -> None:
    vendor_key = ssh_keygen(tmp_path / "vendor_reverse")
    driver = make_wizard()
    driver.next(Page.KEY)
    driver.create_key()
    driver.next(Page.ENDPOINT)
    endpoint = driver.wizard.endpoint_page
    driver.paste(f"ssh -NR 58115:localhost:3306 me@jump.example -i {vendor_key}")
    assert endpoint.key_note.text().startswith(
        f"The vendor's command uses the key file {vendor_key}, but this tunnel uses the key "
        "chosen on the Key page."
    )
    driver.back()
    page = driver.wizard.key_page
    assert page.existing_option.isChecked()
    assert page.path.text() == str(vendor_key)
    assert page.vendor_note.text() == (
        f"The vendor's command uses the key file {vendor_key}: it is chosen below; press Use "
        "this key to import it."
    )
    driver.click(page.action)
    driver.wait(driver.next_enabled)
    assert page.vendor_note.text() == (
        f"The vendor's command uses the key file {vendor_key}: this tunnel uses it."
    )
    driver.next(Page.ENDPOINT)
    driver.paste(f"ssh -NR 58115:localhost:3306 me@jump.example -i {vendor_key} ")
    assert endpoint.key_note.text() == (
        f"The vendor's command uses the key file {vendor_key}: this tunnel uses that key "
        "(copied in on the Key page)."
    )
    assert RED[1:] not in endpoint.key_note.styleSheet()


def test_a_vendor_key_file_that_is_not_here_is_asked_for(
    make_wizard: Callable[..., Driver], tmp_path: Path
) -> None:
    missing = tmp_path / "Downloads" / "key.pem"
    driver = make_wizard(prefill=WizardPrefill(paste=f"ssh -R 1:h:2 -i {missing} u@j.example"))
    endpoint = driver.wizard.endpoint_page
    driver.wait(lambda: not endpoint.parsing)
    driver.next(Page.KEY)
    page = driver.wizard.key_page
    assert page.new_option.isChecked()  # nothing to pre-select: the choice stays
    assert page.vendor_note.text() == (
        f"The vendor's command uses the key file {missing}: choose it below to import it, "
        "under Use an existing private key file (it is not on this computer)."
    )
