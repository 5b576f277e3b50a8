"""Driving the wizard in tests as a person does: clicks, keys and waits with deadlines."""

from __future__ import annotations

import subprocess
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

from keyring.backends import fail
from PySide6.QtCore import QObject, QPoint, Qt, QTimer
from PySide6.QtWidgets import QAbstractButton, QApplication, QWizard
from pytestqt.qtbot import QtBot

from app.platform.keychain import Keychain, open_keychain
from app.ui.wizard import SetupWizard
from app.ui.wizard.wizard import Page
from tests.conftest import Jumphost
from tests.support.sshd import ssh_keygen

DEADLINE_MS = 30_000  # generous: a loaded 2-core CI machine runs sshd, paramiko and Qt


def no_keychain() -> Keychain:
    """keyring's own backend for "no keychain here": every call is refused."""
    return open_keychain(fail.Keyring())


class Driver:
    """Clicks through a wizard the way a person does, waiting (with deadlines) for work."""

    def __init__(self, qtbot: QtBot, wizard: SetupWizard) -> None:
        self.qtbot = qtbot
        self.wizard = wizard

    @property
    def page_id(self) -> Page:
        return Page(self.wizard.currentId())

    def button(self, which: QWizard.WizardButton) -> QAbstractButton:
        return self.wizard.button(which)

    def next_enabled(self) -> bool:
        return self.button(QWizard.WizardButton.NextButton).isEnabled()

    def click(self, button: QAbstractButton) -> None:
        self.qtbot.mouseClick(button, Qt.MouseButton.LeftButton)

    def tick(self, box: QAbstractButton) -> None:
        """Click a check box or radio button on its indicator (its centre may be empty)."""
        self.qtbot.mouseClick(box, Qt.MouseButton.LeftButton, pos=QPoint(8, box.height() // 2))

    def activate(self) -> None:
        """Make the wizard the active window, so keyboard shortcuts reach it."""
        self.wizard.windowHandle().requestActivate()
        self.wait(lambda: QApplication.activeWindow() is self.wizard, 5_000)

    def press(
        self, key: Qt.Key, modifier: Qt.KeyboardModifier = Qt.KeyboardModifier.NoModifier
    ) -> None:
        """A key press where the keyboard focus is, as a person's would land."""
        self.qtbot.keyClick(QApplication.focusWidget() or self.wizard, key, modifier)

    def alt(self, key: Qt.Key) -> None:
        """Alt + a mnemonic (the underlined letter of a label or button)."""
        self.press(key, Qt.KeyboardModifier.AltModifier)

    def type(self, text: str) -> None:
        self.qtbot.keyClicks(QApplication.focusWidget(), text)

    def wait(self, predicate: Callable[[], Any], timeout_ms: int = DEADLINE_MS) -> None:
        self.qtbot.waitUntil(lambda: bool(predicate()), timeout=timeout_ms)

    def next(self, expect: Page | None = None) -> None:
        """Click Next once it is enabled; wait until the wizard shows ``expect``."""
        start = self.page_id
        self.wait(self.next_enabled)
        self.click(self.button(QWizard.WizardButton.NextButton))
        wanted = expect if expect is not None else Page(start + 1)
        self.wait(lambda: self.page_id is wanted)

    def back(self) -> None:
        start = self.page_id
        self.click(self.button(QWizard.WizardButton.BackButton))
        self.wait(lambda: self.page_id is Page(start - 1))

    def finish(self) -> None:
        button = self.button(QWizard.WizardButton.FinishButton)
        self.wait(button.isEnabled)
        self.click(button)
        self.wait(lambda: not self.wizard.isVisible())

    # --- page by page -------------------------------------------------------------------

    def create_key(self, passphrase: str = "") -> None:
        page = self.wizard.key_page
        page.new_option.setChecked(True)
        self.qtbot.keyClicks(page.passphrase, passphrase)
        self.qtbot.keyClicks(page.repeat, passphrase)
        self.click(page.action)
        self.wait(lambda: page.key_box.line().startswith("ssh-ed25519 "))

    def use_key(self, path: Path, passphrase: str | None = None) -> None:
        page = self.wizard.key_page
        page.existing_option.setChecked(True)
        page.path.clear()
        self.qtbot.keyClicks(page.path, str(path))
        self.click(page.action)
        if passphrase is not None:
            self.wait(page.passphrase.isVisible)
            self.qtbot.keyClicks(page.passphrase, passphrase)
            self.click(page.action)
        self.wait(lambda: page.key_box.line().startswith("ssh-"))

    def paste(self, text: str) -> None:
        """Paste as a person does (all at once), then wait for the parse to fill the fields."""
        page = self.wizard.endpoint_page
        page.paste.setPlainText(text)
        self.wait(lambda: not page.parsing)

    def set_text(self, edit: Any, text: str) -> None:
        """Replace a field's text by typing, so textEdited fires as it does for people."""
        edit.selectAll()
        if text:
            self.qtbot.keyClicks(edit, text)
        else:
            self.qtbot.keyClick(edit, Qt.Key.Key_Delete)

    def target(self, host: str, port: int) -> None:
        page = self.wizard.target_page
        self.set_text(page.host, host)
        self.set_text(page.port, str(port))

    def fetched(self) -> None:
        page = self.wizard.hostkey_page
        self.wait(lambda: not page.busy)

    def trust(self) -> None:
        self.fetched()
        page = self.wizard.hostkey_page
        if page.confirm.isVisible():
            self.tick(page.confirm)

    def checks_done(self, timeout_ms: int = 60_000) -> None:
        page = self.wizard.checks_page
        self.wait(lambda: not page.testing and page.again.isEnabled(), timeout_ms)


def vendor_command(host: Jumphost, target: str = "localhost:3306") -> str:
    """The line a vendor's setup page shows for this jumphost and allocated port."""
    return (
        f"ssh -NR {host.remote_port}:{target} {host.sshd.user}@127.0.0.1 -p {host.port} "
        '-i ~/.ssh/vendor_reverse -o "ExitOnForwardFailure yes" -o ServerAliveInterval=10'
    )


def authorize(host: Jumphost, key_path: str, end_to_end: bool = False) -> None:
    """What the vendor does with the public key the user pasted into their page."""
    listen = f"localhost:{host.remote_port}"
    options = f'restrict,port-forwarding,permitlisten="{listen}"'
    if end_to_end:
        options += f',permitopen="{listen}"'
    host.sshd.authorize(Path(key_path), options)


class StallMeter(QObject):
    """Ticks every 10 ms on the GUI thread; the longest gap between ticks is the longest
    time the event loop was blocked."""

    def __init__(self, interval_ms: int = 10) -> None:
        super().__init__()
        self.longest = 0.0  # seconds
        self.ticks = 0
        self._last = 0.0
        self._timer = QTimer(self)
        self._timer.setTimerType(Qt.TimerType.PreciseTimer)
        self._timer.setInterval(interval_ms)
        self._timer.timeout.connect(self._tick)

    def _tick(self) -> None:
        now = time.perf_counter()
        self.longest = max(self.longest, now - self._last)
        self._last = now
        self.ticks += 1

    def __enter__(self) -> StallMeter:
        self._last = time.perf_counter()
        self._timer.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._timer.stop()


def reach(
    driver: Driver,
    until: Page,
    *,
    key: Path,
    host: Jumphost,
    target_port: int,
    key_passphrase: str | None = None,
) -> None:
    """Click through to ``until`` with an existing key, the vendor's command for ``host``
    and the target 127.0.0.1:``target_port``; the host key is trusted on the way."""
    driver.next(Page.KEY)
    driver.use_key(key, key_passphrase)
    steps = [
        (Page.ENDPOINT, lambda: driver.paste(vendor_command(host))),
        (Page.TARGET, lambda: driver.target("127.0.0.1", target_port)),
        (Page.HOST_KEY, driver.trust),
        (Page.TEST, driver.checks_done),
        (Page.FINISH, lambda: None),
    ]
    for page, fill in steps:
        driver.next(page)
        if page is until:
            return
        fill()


def encrypted_key(path: Path, passphrase: str) -> Path:
    ssh_keygen(path)
    subprocess.run(
        ["ssh-keygen", "-q", "-p", "-N", passphrase, "-P", "", "-f", str(path)],
        check=True,
        capture_output=True,
    )
    return path
