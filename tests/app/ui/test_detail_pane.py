"""The detail pane's Change… buttons: each asks for the one part of the tunnel it shows."""

from __future__ import annotations

from pytestqt.qtbot import QtBot

from app.core.profile import Profile
from app.services.api import Services
from app.storage.paths import AppPaths
from app.ui.detail_pane import DetailPane
from app.ui.rows import Row, stopped_status
from tests.app.ui.conftest import no_keychain

PROFILE = Profile(
    name="db",
    jumphost="jump.example",
    user="sshtunnel",
    remote_port=58115,
    target_host="localhost",
    target_port=5432,
    key_path="/nowhere/id_tunnel",
)


def row(keeper: str = "") -> Row:
    return Row(PROFILE, stopped_status(PROFILE, ""), running=False, keeper=keeper)


def pane(qtbot: QtBot, paths: AppPaths) -> DetailPane:
    made = DetailPane(Services(paths, no_keychain))
    qtbot.addWidget(made)
    made.show()
    return made


def test_each_change_button_asks_for_its_part(qtbot: QtBot, tk_home: AppPaths) -> None:
    detail = pane(qtbot, tk_home)
    detail.show_row(row())
    wanted = {
        "Name": "options",
        "Jumphost": "endpoint",
        "Vendor's port": "endpoint",
        "Proxy": "endpoint",
        "Jump hosts": "endpoint",
        "Forwards to": "target",
        "Key file": "key",
        "Jumphost's key": "hostkey",
    }
    assert set(detail.changes) == set(wanted)
    for where, part in wanted.items():
        button = detail.changes[where]
        assert button.isVisible() and button.isEnabled()
        assert button.text() == ("Rename…" if where == "Name" else "Change…")
        assert button.accessibleName().startswith("Change ")
        with qtbot.waitSignal(detail.edit_part, timeout=2000) as asked:
            button.click()
        assert asked.args == ["db", part], where


def test_a_tunnel_kept_elsewhere_offers_no_change(qtbot: QtBot, tk_home: AppPaths) -> None:
    detail = pane(qtbot, tk_home)
    detail.show_row(row(keeper="the service"))
    assert not any(button.isEnabled() for button in detail.changes.values())
    detail.show_row(row())
    assert all(button.isEnabled() for button in detail.changes.values())


def test_nothing_is_asked_with_nothing_selected(qtbot: QtBot, tk_home: AppPaths) -> None:
    detail = pane(qtbot, tk_home)
    asked: list[tuple[str, str]] = []
    detail.edit_part.connect(lambda name, part: asked.append((name, part)))
    detail.show_row(None)
    detail.changes["Forwards to"].click()
    assert asked == []
