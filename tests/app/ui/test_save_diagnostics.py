"""The status window's "Save diagnostics…": where to save, the zip made off the GUI thread."""

from __future__ import annotations

import json
import zipfile
from pathlib import Path

import pytest
from pytestqt.qtbot import QtBot

from app.storage.paths import AppPaths
from app.ui.hub import TunnelHub
from app.ui.status_window import StatusWindow
from tests.app.ui.conftest import DEADLINE_MS, add, wait_connected
from tests.conftest import Jumphost
from tests.support.net import TcpServer


def answering(path: Path, asked: list[str]) -> object:
    """The file dialog's seam: note the suggested path, choose ``path``."""

    def choose(parent: object, suggested: str, chosen: object) -> None:
        asked.append(suggested)
        chosen(str(path))  # type: ignore[operator]

    return choose


@pytest.mark.integration
def test_save_diagnostics_of_the_selected_tunnel(
    qtbot: QtBot,
    hub: TunnelHub,
    tk_home: AppPaths,
    jumphost: Jumphost,
    echo: TcpServer,
    tmp_path: Path,
) -> None:
    add(tk_home, jumphost, echo.port)
    hub.reload()
    window = StatusWindow(hub)
    qtbot.addWidget(window)
    window.show()
    hub.connect_tunnel("db")
    wait_connected(qtbot, hub)  # its events go in the bundle
    target = tmp_path / "for-support.zip"
    asked: list[str] = []
    window.saver.choose = answering(target, asked)  # type: ignore[assignment]

    window.save_diagnostics_button.click()

    assert not window.save_diagnostics_button.isEnabled()  # one bundle at a time
    qtbot.waitUntil(
        lambda: window.banner.text().startswith("Diagnostics saved to"), timeout=2 * DEADLINE_MS
    )
    assert str(target) in window.banner.text()
    assert window.save_diagnostics_button.isEnabled()
    suggested = Path(asked[0])
    assert suggested.parent == Path.home()
    assert suggested.name.startswith("tunnelkeeper-diagnostics-") and suggested.suffix == ".zip"
    with zipfile.ZipFile(target) as archive:
        files = {name: archive.read(name).decode() for name in archive.namelist()}
    status = json.loads(files["tunnels/db/status.json"])
    assert status["from"] == "the desktop app"
    assert status["tunnels"][0]["state"] == "connected"
    assert '"state": "connected"' in files["tunnels/db/events.jsonl"]
    test = json.loads(files["tunnels/db/connection-test.json"])
    assert test["run"] and test["checks"][0]["status"] == "pass"
    assert test["negotiated"]["host_key"] == "ssh-ed25519"
    assert json.loads(files["versions.json"])["qt"].startswith("PySide6 ")
    assert str(jumphost.key) not in "".join(files.values())


def test_a_place_that_cannot_be_written_is_said(
    qtbot: QtBot, hub: TunnelHub, tmp_path: Path
) -> None:
    hub.reload()
    window = StatusWindow(hub)
    qtbot.addWidget(window)
    target = tmp_path / "missing" / "d.zip"
    window.saver.choose = answering(target, [])  # type: ignore[assignment]
    window.save_diagnostics()
    qtbot.waitUntil(lambda: "not saved" in window.banner.text(), timeout=DEADLINE_MS)
    assert window.banner.text() == (
        f"Diagnostics not saved: cannot save the diagnostics as {target}: "
        f"{target.parent} does not exist."
    )
    assert window.save_diagnostics_button.isEnabled()
    assert not target.parent.exists()
