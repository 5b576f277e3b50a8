"""The detail pane's Jump hosts row: the chain (or "none"), and its Change…."""

from __future__ import annotations

from dataclasses import replace

from pytestqt.qtbot import QtBot

from app.storage.paths import AppPaths
from app.ui.rows import Row, stopped_status
from tests.app.ui.test_detail_pane import PROFILE, pane


def row_with(jump: str | None) -> Row:
    profile = replace(PROFILE, jump=jump)
    return Row(profile, stopped_status(profile, ""), running=False)


def test_no_jump_host_reads_none(qtbot: QtBot, tk_home: AppPaths) -> None:
    detail = pane(qtbot, tk_home)
    detail.show_row(row_with(None))
    assert detail.fields["Jump hosts"].text() == "none"


def test_a_chain_is_shown_first_dialled_first(qtbot: QtBot, tk_home: AppPaths) -> None:
    detail = pane(qtbot, tk_home)
    detail.show_row(row_with("ops@bastion.corp:22,[2001:db8::7]:2222"))
    assert detail.fields["Jump hosts"].text() == "ops@bastion.corp:22, then [2001:db8::7]:2222"
    detail.show_row(row_with(None))  # another tunnel selected: the row follows it
    assert detail.fields["Jump hosts"].text() == "none"


def test_change_opens_the_jumphost_part(qtbot: QtBot, tk_home: AppPaths) -> None:
    detail = pane(qtbot, tk_home)
    detail.show_row(row_with("bastion.corp:22"))
    button = detail.changes["Jump hosts"]
    assert button.isVisible() and button.isEnabled()
    assert button.accessibleName() == "Change the jump hosts on the way to the jumphost"
    with qtbot.waitSignal(detail.edit_part, timeout=2000) as asked:
        button.click()
    assert asked.args == ["db", "endpoint"]
