"""The whole wizard against a real sshd: a run end to end, Cancel, Back and editing."""

from __future__ import annotations

import stat
from collections.abc import Callable
from pathlib import Path

from PySide6.QtCore import Qt
from PySide6.QtWidgets import QApplication, QWizard

from app import ssh
from app.core import knownhosts
from app.storage.paths import AppPaths
from app.storage.store import ProfileStore
from app.ui.wizard import WizardPrefill
from app.ui.wizard.widgets import Mark
from app.ui.wizard.wizard import Page
from tests.app.ui.wizard.driver import (
    Driver,
    StallMeter,
    authorize,
    encrypted_key,
    vendor_command,
)
from tests.conftest import Jumphost
from tests.support.net import echo_handler, tcp_server, wait_until

STALL_LIMIT = 0.25  # seconds; the bar is 0.1, the rest absorbs a noisy 2-core CI machine


def test_full_run_makes_the_key_profile_and_pinned_host_key_without_blocking_the_gui(
    make_wizard: Callable[..., Driver], open_jumphost: Jumphost, tk_home: AppPaths
) -> None:
    host = open_jumphost
    completed: list[tuple[str, bool, bool]] = []
    with tcp_server(echo_handler) as target:
        driver = make_wizard(prefill=WizardPrefill(name="warehouse"))
        wizard = driver.wizard
        wizard.completed.connect(lambda *args: completed.append(args))
        with StallMeter() as meter:
            driver.next(Page.KEY)
            driver.create_key(passphrase="correct horse battery")
            key_page = wizard.key_page
            assert "not available" in key_page.keychain_note.text()  # no keychain here
            public_line = key_page.key_box.line()
            # the user pastes the public key at the vendor, who authorizes it
            authorize(host, str(tk_home.keys_dir / "warehouse"), end_to_end=True)
            driver.next()

            driver.paste(vendor_command(host))
            edits = wizard.endpoint_page.edits
            assert edits["jumphost"].text() == "127.0.0.1"
            assert edits["ssh_port"].text() == str(host.port)
            assert edits["remote_port"].text() == str(host.remote_port)
            driver.next()

            assert wizard.target_page.host.text() == "localhost"  # from the command
            driver.target("127.0.0.1", target.port)
            driver.wait(lambda: wizard.target_page.light.mark is Mark.PASS)
            driver.next()

            driver.trust()
            assert wizard.hostkey_page.fingerprint.text().startswith("SHA256:")
            driver.next()  # trusted: pinned on Finish, with the profile
            assert not tk_home.known_hosts_file.exists()

            driver.checks_done(timeout_ms=60_000)
            rows = wizard.checks_page.rows
            assert [row.mark for row in rows.values()] == [Mark.PASS] * 7, [
                row.text.text() for row in rows.values()
            ]
            assert wizard.checks_page.summary.text() == "All checks passed."
            driver.next()

            driver.wait(lambda: wizard.finish_page.taken is not None)
            assert wizard.finish_page.name.text() == "warehouse"
            driver.finish()
        print(
            f"\nlongest GUI-thread stall during the wizard run: {meter.longest * 1000:.0f} ms "
            f"({meter.ticks} ticks of 10 ms)"
        )
    assert meter.longest < STALL_LIMIT

    private = tk_home.keys_dir / "warehouse"
    assert stat.S_IMODE(private.stat().st_mode) == 0o600
    assert Path(f"{private}.pub").read_text().strip() == public_line
    profile = ProfileStore(tk_home.profiles_file).get("warehouse")
    assert (profile.jumphost, profile.ssh_port, profile.user) == (
        "127.0.0.1",
        host.port,
        host.sshd.user,
    )
    assert (profile.remote_port, profile.target_host, profile.target_port) == (
        host.remote_port,
        "127.0.0.1",
        target.port,
    )
    assert profile.key_path == str(private)
    assert profile.keepalive_interval == 10  # ServerAliveInterval=10 from the command
    pinned = knownhosts.parse(tk_home.known_hosts_file.read_text()).entries
    host_pub = Path(f"{host.sshd.host_key}.pub").read_text().split()
    assert [(e.patterns, e.key_type) for e in pinned] == [
        ((f"[127.0.0.1]:{host.port}",), host_pub[0])
    ]
    assert ssh.fingerprint_of_blob(pinned[0].key_blob) == wizard.hostkey_page.fingerprint.text()
    assert completed == [("warehouse", True, True)]
    for written in (tk_home.profiles_file, tk_home.known_hosts_file):
        assert "correct horse" not in written.read_text()


def test_back_keeps_what_was_entered(
    make_wizard: Callable[..., Driver], client_key: Path, jumphost: Jumphost
) -> None:
    driver = make_wizard()
    wizard = driver.wizard
    driver.next(Page.KEY)
    driver.use_key(client_key)
    line = wizard.key_page.key_box.line()
    driver.next()
    driver.paste(vendor_command(jumphost))
    driver.set_text(wizard.endpoint_page.edits["remote_bind"], "*")
    driver.next()
    driver.target("127.0.0.1", 5432)
    driver.back()
    driver.back()
    assert wizard.key_page.existing_option.isChecked()
    assert wizard.key_page.key_box.line() == line
    assert driver.next_enabled()
    driver.next()
    assert wizard.endpoint_page.edits["remote_bind"].text() == "*"
    assert wizard.endpoint_page.edits["user"].text() == jumphost.sshd.user
    driver.next()
    assert (wizard.target_page.host.text(), wizard.target_page.port.text()) == (
        "127.0.0.1",
        "5432",
    )


def test_cancel_without_a_new_key_closes_at_once(make_wizard: Callable[..., Driver]) -> None:
    driver = make_wizard()
    driver.next(Page.KEY)
    driver.click(driver.button(QWizard.WizardButton.CancelButton))
    assert not driver.wizard.isVisible()
    assert driver.wizard.discard_box is None


def _cancel_with_new_key(driver: Driver) -> Path:
    driver.next(Page.KEY)
    driver.create_key()
    private = Path(driver.wizard.key_page.ready[driver.wizard.key_page.choice].path)
    assert private.exists()
    driver.click(driver.button(QWizard.WizardButton.CancelButton))
    box = driver.wizard.discard_box
    assert box is not None
    driver.wait(box.isVisible)
    assert str(private) in box.informativeText()
    return private


def test_cancel_after_making_a_key_can_delete_it(make_wizard: Callable[..., Driver]) -> None:
    driver = make_wizard()
    private = _cancel_with_new_key(driver)
    assert driver.wizard.delete_key is not None
    driver.click(driver.wizard.delete_key)
    assert not driver.wizard.isVisible()
    assert wait_until(lambda: not private.exists(), timeout=10)
    assert not Path(f"{private}.pub").exists()


def test_cancel_after_making_a_key_can_keep_it(make_wizard: Callable[..., Driver]) -> None:
    driver = make_wizard()
    private = _cancel_with_new_key(driver)
    assert driver.wizard.keep_key is not None
    driver.click(driver.wizard.keep_key)
    assert not driver.wizard.isVisible()
    assert private.exists() and Path(f"{private}.pub").exists()


def test_cancelling_the_question_returns_to_the_wizard(
    make_wizard: Callable[..., Driver],
) -> None:
    driver = make_wizard()
    private = _cancel_with_new_key(driver)
    box = driver.wizard.discard_box
    assert box is not None
    driver.click(box.escapeButton())
    driver.wait(lambda: not box.isVisible())
    assert driver.wizard.isVisible()
    assert driver.page_id is Page.KEY
    assert private.exists()


def test_editing_a_profile_shows_it_and_a_rename_replaces_it(
    make_wizard: Callable[..., Driver], jumphost: Jumphost, tk_home: AppPaths, tmp_path: Path
) -> None:
    with tcp_server(echo_handler) as target:
        jumphost.pin(tk_home)
        original = jumphost.profile(target.port, name="db", remote_bind="*")
        store = ProfileStore(tk_home.profiles_file)
        store.add(original)
        store.add(jumphost.profile(target.port, name="other"))
        completed: list[tuple[str, bool, bool]] = []
        driver = make_wizard(profile=original)
        wizard = driver.wizard
        wizard.completed.connect(lambda *args: completed.append(args))
        assert "db" in wizard.welcome_page.title()
        driver.next(Page.KEY)
        key_page = wizard.key_page
        assert key_page.current_option.isChecked() and key_page.current_option.isVisible()
        driver.wait(lambda: key_page.key_box.line() != "")
        assert key_page.key_box.line() == Path(f"{original.key_path}.pub").read_text().strip()
        driver.next()
        edits = wizard.endpoint_page.edits
        assert {name: edit.text() for name, edit in edits.items()} == {
            "jumphost": "127.0.0.1",
            "ssh_port": str(jumphost.port),
            "user": jumphost.sshd.user,
            "remote_port": str(jumphost.remote_port),
            "remote_bind": "*",
            "jump": "",
        }
        driver.set_text(edits["remote_bind"], "")  # back to the default, localhost
        driver.next()
        assert wizard.target_page.port.text() == str(target.port)
        driver.next()
        driver.fetched()
        assert "already trusted" in wizard.hostkey_page.verdict.text()
        assert not wizard.hostkey_page.confirm.isVisible()
        driver.next()
        driver.checks_done()
        driver.next()
        finish = wizard.finish_page
        driver.wait(lambda: finish.taken is not None)
        assert finish.name.text() == "db"  # its own name is not "taken"
        driver.set_text(finish.name, "other")
        assert "already exists" in finish.name_note.text()
        assert not wizard.button(QWizard.WizardButton.FinishButton).isEnabled()
        driver.set_text(finish.name, "warehouse")
        driver.tick(finish.at_login)
        driver.finish()
    profiles = ProfileStore(tk_home.profiles_file).load()
    assert sorted(profiles) == ["other", "warehouse"]
    renamed = profiles["warehouse"]
    assert renamed.key_path == original.key_path  # the same key was kept
    assert renamed.remote_bind is None
    assert (renamed.jumphost, renamed.remote_port) == (original.jumphost, original.remote_port)
    assert completed == [("warehouse", True, False)]


def test_editing_a_profile_whose_key_needs_a_passphrase_asks_for_it(
    make_wizard: Callable[..., Driver], jumphost: Jumphost, tk_home: AppPaths, tmp_path: Path
) -> None:
    locked = encrypted_key(tmp_path / "locked", "s3cret")
    profile = jumphost.profile(5432, name="db", key_path=str(locked))
    driver = make_wizard(profile=profile)
    driver.next(Page.KEY)
    page = driver.wizard.key_page
    driver.wait(page.passphrase.isVisible)
    assert "protected by a passphrase" in page.note.text()
    assert not driver.next_enabled()
    driver.qtbot.keyClicks(page.passphrase, "wrong")
    driver.click(page.action)
    driver.wait(lambda: "is wrong" in page.note.text())
    driver.set_text(page.passphrase, "s3cret")
    driver.click(page.action)
    driver.wait(driver.next_enabled)
    assert page.key_box.line() == Path(f"{locked}.pub").read_text().strip()


def test_every_page_works_from_the_keyboard(
    make_wizard: Callable[..., Driver], jumphost: Jumphost, tk_home: AppPaths
) -> None:
    """Mnemonics (Alt + the underlined letter), Tab, typing, Space and Return only."""
    with tcp_server(echo_handler) as target:
        driver = make_wizard(prefill=WizardPrefill(name="kbd"))
        wizard = driver.wizard
        driver.activate()
        driver.alt(Qt.Key.Key_N)  # Next
        driver.wait(lambda: driver.page_id is Page.KEY)
        driver.alt(Qt.Key.Key_P)  # Passphrase: left empty; Tab past Repeat and the keychain box
        driver.alt(Qt.Key.Key_T)  # Create key
        driver.wait(driver.next_enabled)
        authorize(jumphost, str(tk_home.keys_dir / "kbd"))
        driver.alt(Qt.Key.Key_N)
        driver.wait(lambda: driver.page_id is Page.ENDPOINT)

        driver.alt(Qt.Key.Key_P)  # the paste box
        assert QApplication.focusWidget() is wizard.endpoint_page.paste
        driver.type(vendor_command(jumphost, target=f"127.0.0.1:{target.port}"))
        driver.press(Qt.Key.Key_Tab)  # Tab leaves the paste box instead of typing a tab
        assert QApplication.focusWidget() is not wizard.endpoint_page.paste
        driver.wait(lambda: wizard.endpoint_page.edits["remote_port"].text() != "")
        driver.alt(Qt.Key.Key_I)  # Bind address
        assert QApplication.focusWidget() is wizard.endpoint_page.edits["remote_bind"]
        driver.alt(Qt.Key.Key_N)
        driver.wait(lambda: driver.page_id is Page.TARGET)

        assert wizard.target_page.port.text() == str(target.port)  # from the paste
        driver.alt(Qt.Key.Key_S)  # the preset list: arrow keys pick a service
        assert QApplication.focusWidget() is wizard.target_page.preset
        driver.press(Qt.Key.Key_Home)
        assert wizard.target_page.port.text() == "3306"  # MySQL / MariaDB
        driver.alt(Qt.Key.Key_R)  # Port
        driver.press(Qt.Key.Key_A, Qt.KeyboardModifier.ControlModifier)
        driver.type("5432")
        assert wizard.target_page.preset.currentText().startswith("PostgreSQL")
        driver.press(Qt.Key.Key_A, Qt.KeyboardModifier.ControlModifier)
        driver.type(str(target.port))
        driver.wait(lambda: wizard.target_page.light.mark is Mark.PASS)
        driver.alt(Qt.Key.Key_N)
        driver.wait(lambda: driver.page_id is Page.HOST_KEY)

        driver.fetched()
        assert not driver.next_enabled()
        driver.alt(Qt.Key.Key_C)  # I compared the fingerprint: trust this key
        driver.wait(driver.next_enabled)
        driver.alt(Qt.Key.Key_N)
        driver.wait(lambda: driver.page_id is Page.TEST)

        driver.checks_done()
        assert "end-to-end check was skipped" in wizard.checks_page.summary.text()
        driver.alt(Qt.Key.Key_N)
        driver.wait(lambda: driver.page_id is Page.FINISH)

        driver.wait(lambda: wizard.finish_page.taken is not None)
        driver.alt(Qt.Key.Key_L)  # Start at login: mnemonic toggles it
        driver.wait(lambda: not wizard.finish_page.at_login.isChecked())
        driver.alt(Qt.Key.Key_M)  # the name field
        driver.press(Qt.Key.Key_A, Qt.KeyboardModifier.ControlModifier)
        driver.type("by-keyboard")
        driver.press(Qt.Key.Key_Return)  # Finish is the default button
        driver.wait(lambda: not wizard.isVisible())
    assert "by-keyboard" in ProfileStore(tk_home.profiles_file).load()
