"""Settings → keep tunnels running when logged out: the chosen tunnels move into the system
service (installed under a test root: as root the move is done directly, nothing started)."""

from __future__ import annotations

import shutil
import stat
import subprocess
from pathlib import Path

import pytest
from PySide6.QtCore import Qt
from pytestqt.qtbot import QtBot

from app.core.events import State
from app.errors import KeyPassphraseNeeded
from app.platform.autostart import XdgAutostart
from app.platform.service_install import ROOT_ENV, ServiceStepFailed
from app.storage.paths import AppPaths
from app.storage.store import ProfileStore
from app.ui.application import Shell
from app.ui.hub import TunnelHub
from app.ui.keep_running import KeepRunningDialog, failure_sentence, success_sentence
from app.ui.wizard.widgets import GREEN, RED
from tests.app.ui.conftest import DEADLINE_MS, add
from tests.app.ui.test_application import quit_and_wait
from tests.app.ui.test_tray import action
from tests.conftest import Jumphost
from tests.support.net import TcpServer, port_is_listening


@pytest.fixture
def system_root(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    root = tmp_path / "system"
    root.mkdir()
    monkeypatch.setenv(ROOT_ENV, str(root))
    return root


def tick(dialog: KeepRunningDialog, name: str) -> None:
    for i in range(dialog.tunnels.count()):
        item = dialog.tunnels.item(i)
        if item.data(Qt.ItemDataRole.UserRole) == name:
            item.setCheckState(Qt.CheckState.Checked)
            return
    raise AssertionError(f"{name} is not listed")


def colour(dialog: KeepRunningDialog) -> str:
    return dialog.outcome.styleSheet()


def test_sentences_say_what_happened_and_what_to_do_instead() -> None:
    said = failure_sentence(KeyPassphraseNeeded("/home/u/.ssh/k"), ["db", "crm"])
    assert said.startswith("The private key /home/u/.ssh/k is protected by a passphrase")
    assert "“Remember in the system keychain” ticked" in said
    assert said.endswith("tunnelkeeper service install --system --move db crm")
    failed = failure_sentence(ServiceStepFailed("pkexec is not installed: pkexec …"), ["db"])
    assert "Nothing was moved: your tunnels stay as they were." in failed
    assert success_sentence(["db"], []).startswith("Done: db now runs in the service")
    both = success_sentence(["db", "crm"], ["crm: gone"])
    assert both.startswith("Done: db, crm now run in the service and keep running when")
    assert both.endswith("Could not stop here: crm: gone")


def test_the_tray_entry_opens_one_such_dialog(
    qtbot: QtBot, tk_home: AppPaths, tmp_path: Path
) -> None:
    shell = Shell(tk_home, autostart=XdgAutostart(tmp_path), tray_available=lambda: True)
    shell.start(quiet=True)
    try:
        entry = action(shell.tray.menu, "Keep tunnels running when logged out…")
        entry.trigger()
        entry.trigger()  # the same dialog, brought forward
        (dialog,) = [d for d in shell.dialogs if isinstance(d, KeepRunningDialog)]
        assert dialog.isVisible() and dialog.tunnels.count() == 0
        assert dialog.outcome.text() == "You have no tunnels of your own to move."
        assert not dialog.install.isEnabled()
        shell.open_wizard("crm")  # not one of the user's (the service's): no wizard
        assert shell.wizard is None
        dialog.reject()
        assert not any(isinstance(d, KeepRunningDialog) for d in shell.dialogs)
    finally:
        quit_and_wait(qtbot, shell)


@pytest.mark.integration
def test_installing_moves_the_ticked_tunnel_into_the_service_and_stops_it_here(
    qtbot: QtBot,
    hub: TunnelHub,
    tk_home: AppPaths,
    jumphost: Jumphost,
    echo: TcpServer,
    system_root: Path,
) -> None:
    add(tk_home, jumphost, echo.port)
    hub.reload()
    hub.connect_tunnel("db")
    qtbot.waitUntil(lambda: hub.states()["db"] is State.CONNECTED, timeout=DEADLINE_MS)
    assert port_is_listening(jumphost.remote_port)

    dialog = KeepRunningDialog(hub, run_as="root")  # no service account made in a test
    qtbot.addWidget(dialog)
    dialog.show()
    assert dialog.tunnels.count() == 1 and not dialog.install.isEnabled()
    tick(dialog, "db")
    assert dialog.install.isEnabled()
    dialog.install.click()
    assert dialog.working and not dialog.install.isEnabled()
    dialog.reject()  # not while installing: the outcome is said in the dialog
    assert dialog.isVisible()
    qtbot.waitUntil(lambda: not dialog.working, timeout=DEADLINE_MS)

    assert dialog.outcome.text().startswith("Done: db now runs in the service"), (
        dialog.outcome.text()
    )
    assert GREEN in colour(dialog)
    config = system_root / "etc/tunnelkeeper"
    assert "[tunnels.db]" in (config / "profiles.toml").read_text()
    assert (config / "known_hosts").read_text().startswith(f"[127.0.0.1]:{jumphost.port} ")
    key = config / "keys" / f"db-{jumphost.key.name}"
    assert stat.S_IMODE(key.stat().st_mode) == 0o600
    assert key.read_bytes() == jumphost.key.read_bytes()
    assert (system_root / "etc/systemd/system/tunnelkeeper.service").exists()
    assert "db" not in ProfileStore(tk_home.profiles_file).load()  # the user's copy is gone
    qtbot.waitUntil(lambda: "db" not in hub.profiles, timeout=DEADLINE_MS)
    qtbot.waitUntil(lambda: not port_is_listening(jumphost.remote_port), timeout=DEADLINE_MS)
    assert not hub.is_running("db")
    assert dialog.tunnels.count() == 0 and not dialog.install.isEnabled()
    dialog.reject()
    assert not dialog.isVisible()


@pytest.mark.integration
def test_a_key_whose_passphrase_the_keychain_lacks_is_said_and_nothing_moves(
    qtbot: QtBot,
    hub: TunnelHub,
    tk_home: AppPaths,
    jumphost: Jumphost,
    echo: TcpServer,
    system_root: Path,
    tmp_path: Path,
) -> None:
    locked = tmp_path / "locked_key"
    shutil.copy(jumphost.key, locked)
    subprocess.run(
        ["ssh-keygen", "-q", "-p", "-P", "", "-N", "hunter2-long", "-f", str(locked)], check=True
    )
    add(tk_home, jumphost, echo.port, key_path=str(locked))
    hub.reload()
    dialog = KeepRunningDialog(hub, run_as="root")
    qtbot.addWidget(dialog)
    tick(dialog, "db")
    dialog.install.click()
    qtbot.waitUntil(lambda: not dialog.working, timeout=DEADLINE_MS)

    said = dialog.outcome.text()
    assert "is protected by a passphrase" in said and "Remember in the system keychain" in said
    assert said.endswith("tunnelkeeper service install --system --move db")
    assert RED in colour(dialog)
    assert "db" in hub.profiles and "db" in ProfileStore(tk_home.profiles_file).load()
    assert not (system_root / "etc").exists()  # nothing installed
    assert dialog.install.isEnabled()  # it may be tried again
