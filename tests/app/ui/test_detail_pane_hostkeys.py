"""The detail pane's host-key row through jump hosts: every hop's pinned key, jump hosts
first in hop order, each named by its host:port; a hop without a pin is "not trusted yet"."""

from __future__ import annotations

import os
from dataclasses import replace

from PySide6.QtGui import QFont
from pytestqt.qtbot import QtBot

from app.core import knownhosts
from app.storage import hostkeys
from app.storage.paths import AppPaths
from app.ui.detail_pane import DetailPane
from app.ui.rows import Row, stopped_status
from tests.app.ui.test_detail_pane import PROFILE, pane

ROW = "Jumphost's key"


def pin(paths: AppPaths, pattern: str) -> str:
    """Pin a made-up ed25519 key for ``pattern``; its "ssh-ed25519 SHA256:…"."""
    blob = b"\x00\x00\x00\x0bssh-ed25519\x00\x00\x00\x20" + os.urandom(32)
    hostkeys.pin_all(paths.known_hosts_file, pattern, [("ssh-ed25519", blob)])
    return f"ssh-ed25519 {knownhosts.blob_fingerprint(blob)}"


def row_with(jump: str | None) -> Row:
    profile = replace(PROFILE, jump=jump)
    return Row(profile, stopped_status(profile, ""), running=False)


def shown(qtbot: QtBot, detail: DetailPane) -> str:
    label = detail.fields[ROW]
    qtbot.waitUntil(lambda: label.text() != "…", timeout=10_000)
    return label.text()


def test_every_hop_is_listed_jump_hosts_first(qtbot: QtBot, tk_home: AppPaths) -> None:
    bastion = pin(tk_home, "bastion.corp")
    jumphost = pin(tk_home, "jump.example")
    detail = pane(qtbot, tk_home)
    detail.show_row(row_with(None))
    assert shown(qtbot, detail) == jumphost
    assert detail.labels[ROW].text() == "Jumphost's key:"

    detail.show_row(row_with("ops@bastion.corp:22,[2001:db8::7]:2222"))  # edited: read again
    assert shown(qtbot, detail).splitlines() == [
        f"Jump host 1, bastion.corp:22: {bastion}",
        "Jump host 2, [2001:db8::7]:2222: not trusted yet",
        f"Jumphost, jump.example:22: {jumphost}",
    ]
    assert detail.labels[ROW].text() == "Host keys:"


def test_a_jumphost_not_trusted_yet_is_said_so_beside_its_jump_host(
    qtbot: QtBot, tk_home: AppPaths
) -> None:
    bastion = pin(tk_home, "[bastion.corp]:2222")
    detail = pane(qtbot, tk_home)
    detail.show_row(row_with("bastion.corp:2222"))
    assert shown(qtbot, detail).splitlines() == [
        f"Jump host 1, bastion.corp:2222: {bastion}",
        "Jumphost, jump.example:22: not trusted yet",
    ]


def _clipped(detail: DetailPane) -> bool:
    label = detail.fields[ROW]
    return label.height() < label.heightForWidth(label.width())


def test_the_keys_are_not_clipped_at_100_and_200_percent(qtbot: QtBot, tk_home: AppPaths) -> None:
    pin(tk_home, "bastion.corp")
    pin(tk_home, "[hop2.corp]:2222")
    pin(tk_home, "jump.example")
    detail = pane(qtbot, tk_home)
    detail.show_row(row_with("bastion.corp:22,hop2.corp:2222"))
    assert len(shown(qtbot, detail).splitlines()) == 3
    # 200 %: the font and the width doubled, as QT_SCALE_FACTOR=2 shows it in pixels
    plain = QFont(detail.font())
    for width, scale in ((620, 1), (1240, 2)):
        font = QFont(plain)
        font.setPointSizeF(plain.pointSizeF() * scale)
        detail.setFont(font)
        detail.resize(width, 600 * scale)
        qtbot.waitUntil(lambda: not _clipped(detail), timeout=5_000)
        label = detail.fields[ROW]
        words = label.text().split()
        widest = max(label.fontMetrics().horizontalAdvance(word) for word in words)
        assert widest <= label.width(), (width, scale)  # no word runs past the edge
