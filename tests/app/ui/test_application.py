"""The app as a whole: first run, no-tray fallback, start at login, Quit, a second launch."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

from PySide6.QtCore import QObject, QUrl, Slot
from PySide6.QtGui import QDesktopServices
from PySide6.QtWidgets import QApplication
from pytestqt.qtbot import QtBot

from app.core.events import State
from app.platform.autostart import XdgAutostart
from app.ssh import keys
from app.storage.paths import AppPaths
from app.ui.application import NO_TRAY, Shell
from app.ui.passphrase_dialog import PassphraseDialog
from tests.app.ui.conftest import DEADLINE_MS, add, no_keychain
from tests.conftest import Jumphost
from tests.support.cli import ROOT
from tests.support.net import TcpServer, wait_until


def make_shell(paths: AppPaths, home: Path, tray: list[bool]) -> Shell:
    return Shell(paths, autostart=XdgAutostart(home), tray_available=lambda: tray[0])


def quit_and_wait(qtbot: QtBot, shell: Shell) -> float:
    started = time.monotonic()
    with qtbot.waitSignal(shell.hub.stopped_all, timeout=7_000):
        shell.quit()
    return time.monotonic() - started


def test_first_run_opens_the_wizard_and_the_window_when_there_is_no_tray(
    qtbot: QtBot, tk_home: AppPaths, tmp_path: Path
) -> None:
    tray = [False]
    shell = make_shell(tk_home, tmp_path, tray)
    shell.start()
    try:
        assert shell.wizard is not None and shell.wizard.isVisible()
        assert shell.window.isVisible()  # no tray: the window stands in for it
        assert NO_TRAY in shell.window.banner.text()
        # the tray appears later (the panel started after us): the app moves there
        tray[0] = True
        qtbot.waitUntil(lambda: shell.tray.visible, timeout=10_000)
        assert not shell.window.banner.isVisible()
    finally:
        shell.wizard.close() if shell.wizard is not None else None
        quit_and_wait(qtbot, shell)


def test_start_connects_the_tunnels_and_quit_stops_them_within_five_seconds(
    qtbot: QtBot, tk_home: AppPaths, tmp_path: Path, jumphost: Jumphost, echo: TcpServer
) -> None:
    add(tk_home, jumphost, echo.port)
    shell = make_shell(tk_home, tmp_path, [True])
    shell.start(quiet=True)
    assert shell.wizard is None  # there is a tunnel already: no wizard
    assert not shell.window.isVisible()  # the tray is there: no window forced on the user
    qtbot.waitUntil(lambda: shell.hub.states()["db"] is State.CONNECTED, timeout=DEADLINE_MS)
    assert quit_and_wait(qtbot, shell) < 5.5
    assert not shell.hub.is_running("db")


def test_a_tunnel_the_user_disconnected_stays_off_at_the_next_start(
    qtbot: QtBot, tk_home: AppPaths, tmp_path: Path, jumphost: Jumphost, echo: TcpServer
) -> None:
    add(tk_home, jumphost, echo.port)
    shell = make_shell(tk_home, tmp_path, [True])
    shell.start(quiet=True)
    qtbot.waitUntil(lambda: shell.hub.states()["db"] is State.CONNECTED, timeout=DEADLINE_MS)
    shell.hub.disconnect_tunnel("db")
    qtbot.waitUntil(lambda: not shell.hub.is_running("db"), timeout=DEADLINE_MS)
    settings = tk_home.config_dir / "app.json"
    qtbot.waitUntil(settings.exists, timeout=DEADLINE_MS)  # written off the GUI thread
    assert json.loads(settings.read_text())["left_off"] == ["db"]
    quit_and_wait(qtbot, shell)

    again = make_shell(tk_home, tmp_path, [True])
    again.start(quiet=True)
    assert not again.hub.is_running("db")
    quit_and_wait(qtbot, again)


def test_start_at_login_toggles_the_autostart_entry(
    qtbot: QtBot, tk_home: AppPaths, tmp_path: Path
) -> None:
    shell = make_shell(tk_home, tmp_path, [True])
    shell.start(quiet=True)
    entry = tmp_path / ".config" / "autostart" / "tunnelkeeper.desktop"
    assert not shell.tray.autostart_action.isChecked()
    shell.tray.autostart_action.trigger()
    assert entry.exists() and "--autostart" in entry.read_text()
    shell.tray.autostart_action.trigger()
    assert not entry.exists()
    quit_and_wait(qtbot, shell)


def test_a_broken_settings_file_is_reported_and_kept(
    qtbot: QtBot, tk_home: AppPaths, tmp_path: Path
) -> None:
    broken = tk_home.config_dir / "app.json"
    broken.parent.mkdir(parents=True, exist_ok=True)
    broken.write_text('{"notifications": tru')
    shell = make_shell(tk_home, tmp_path, [True])
    shell.start(quiet=True)
    assert "app.json could not be read" in shell.window.banner.text()
    shell.tray.notify_action.trigger()  # a change cannot be saved over the broken file
    assert broken.read_text() == '{"notifications": tru'
    quit_and_wait(qtbot, shell)


def test_a_deeply_nested_settings_file_is_reported_and_kept(
    qtbot: QtBot, tk_home: AppPaths, tmp_path: Path
) -> None:
    """A 100,000-deep app.json raised RecursionError out of the app's start."""
    deep = "[" * 100_000 + "]" * 100_000
    broken = tk_home.config_dir / "app.json"
    broken.parent.mkdir(parents=True, exist_ok=True)
    broken.write_text(deep)
    shell = make_shell(tk_home, tmp_path, [True])
    shell.start(quiet=True)
    assert "app.json could not be read" in shell.window.banner.text()
    assert "nested more than" in shell.window.banner.text()
    assert broken.read_text() == deep
    quit_and_wait(qtbot, shell)


def _launch(env: dict[str, str]) -> subprocess.Popen[str]:
    return subprocess.Popen(
        [sys.executable, "-m", "app"],
        cwd=ROOT,
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )


def test_no_arguments_starts_the_app_once_and_sigterm_quits_it(tk_home: AppPaths) -> None:
    env = {
        **os.environ,
        "QT_QPA_PLATFORM": "offscreen",
        "TUNNELKEEPER_HOME": str(tk_home.config_dir),
    }
    first = _launch(env)
    try:
        log = tk_home.log_file
        assert wait_until(lambda: log.exists() and "desktop app started" in log.read_text(), 30)
        second = subprocess.run(
            [sys.executable, "-m", "app"],
            cwd=ROOT,
            env=env,
            capture_output=True,
            text=True,
            timeout=30,
        )
        assert second.returncode == 0, second.stderr
        assert "already running" in second.stdout
        assert first.poll() is None
        first.send_signal(signal.SIGTERM)
        _, err = first.communicate(timeout=10)
        assert first.returncode == 0, err
        assert "Traceback" not in err
    finally:
        if first.poll() is None:
            first.kill()
            first.communicate(timeout=5)


def test_an_encrypted_key_is_asked_for_in_a_dialog_and_the_tunnel_connects(
    qtbot: QtBot, tk_home: AppPaths, tmp_path: Path, jumphost: Jumphost, echo: TcpServer
) -> None:
    files = keys.key_files(tk_home.keys_dir, "locked")
    keys.generate(files, "locked", "right horse")
    jumphost.sshd.authorize_tunnel(files.private, f"localhost:{jumphost.remote_port}")
    add(tk_home, jumphost, echo.port, key_path=str(files.private))
    shell = Shell(
        tk_home,
        autostart=XdgAutostart(tmp_path),
        tray_available=lambda: True,
        keychain=no_keychain,
    )
    shell.start(quiet=True)

    def dialogs() -> list[PassphraseDialog]:
        return [d for d in shell.dialogs if isinstance(d, PassphraseDialog)]

    qtbot.waitUntil(lambda: len(dialogs()) == 1, timeout=DEADLINE_MS)
    dialog = dialogs()[0]
    assert dialog.isVisible() and "db" in dialog.windowTitle()
    qtbot.keyClicks(dialog.field, "wrong horse")
    dialog.accept()
    qtbot.waitUntil(lambda: any(d.problem.isVisible() for d in dialogs()), timeout=DEADLINE_MS)
    again = dialogs()[-1]
    assert again is not dialog and "not right" in again.problem.text()
    qtbot.keyClicks(again.field, "right horse")
    again.accept()
    assert again.field.text() == ""  # not kept in the widget
    qtbot.waitUntil(lambda: shell.hub.states()["db"] is State.CONNECTED, timeout=DEADLINE_MS)
    quit_and_wait(qtbot, shell)
    assert "horse" not in (tk_home.log_file.read_text() if tk_home.log_file.exists() else "")


def test_copy_public_key_puts_the_key_line_on_the_clipboard(
    qtbot: QtBot, tk_home: AppPaths, tmp_path: Path, jumphost: Jumphost, echo: TcpServer
) -> None:
    add(tk_home, jumphost, echo.port)
    shell = make_shell(tk_home, tmp_path, [True])
    shell.start(quiet=True)
    shell.tray.copy_key_requested.emit("db")
    assert QApplication.clipboard().text() == Path(f"{jumphost.key}.pub").read_text().strip()
    quit_and_wait(qtbot, shell)


class _FileManager(QObject):
    """Stands in for the desktop's file manager (Qt's own hook for URL handlers)."""

    def __init__(self) -> None:
        super().__init__()
        self.opened: list[str] = []

    @Slot(QUrl)
    def open(self, url: QUrl) -> None:
        self.opened.append(url.toLocalFile())


def test_open_logs_folder_says_where_it_is_when_nothing_opens_it(
    qtbot: QtBot, tk_home: AppPaths, tmp_path: Path
) -> None:
    shell = make_shell(tk_home, tmp_path, [True])
    try:
        manager = _FileManager()
        QDesktopServices.setUrlHandler("file", manager, "open")
        try:
            assert shell.open_logs() is True
        finally:
            QDesktopServices.unsetUrlHandler("file")
        assert manager.opened == [str(tk_home.log_dir)]
        assert not shell.window.banner.isVisible()

        assert shell.open_logs() is False  # the offscreen platform has no file manager
        assert str(tk_home.log_dir) in shell.window.banner.text()
        assert QApplication.clipboard().text() == str(tk_home.log_dir)
        assert shell.window.isVisible() and shell.window.tabs.tabText(2) == "&Log"
        assert shell.window.tabs.currentIndex() == 2
    finally:
        quit_and_wait(qtbot, shell)
