"""Wizard fixtures: a shown wizard with its driver, a jumphost that permits end-to-end
delivery, and every wizard job joined after each test."""

from __future__ import annotations

import os
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
from pytestqt.qtbot import QtBot

from app.storage.paths import AppPaths
from app.ui import jobs
from app.ui.wizard import SetupWizard
from tests.app.ui.wizard.driver import Driver, no_keychain
from tests.conftest import Jumphost, start_jumphost

os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")


@pytest.fixture(autouse=True)
def _wizard_jobs_end() -> Iterator[None]:
    """Every job a wizard started has ended before the next test (connection tests take
    longest: up to their own 10 s timeouts)."""
    yield
    assert jobs.wait_all(60.0), "a wizard job was still running 60 s after the test"


@pytest.fixture
def make_wizard(qtbot: QtBot, tk_home: AppPaths) -> Callable[..., Driver]:
    """A shown wizard on the test's home (no keychain unless ``keychain=`` says so)."""

    def make(**options: Any) -> Driver:
        options.setdefault("keychain", no_keychain)
        wizard = SetupWizard(tk_home, **options)
        qtbot.addWidget(wizard)
        wizard.show()
        qtbot.waitExposed(wizard)
        return Driver(qtbot, wizard)

    return make


@pytest.fixture
def open_jumphost(tmp_path: Path, client_key: Path) -> Iterator[Jumphost]:
    """A jumphost that also lets an authorized key connect to its own allocated port, so
    the test's end-to-end check can run (most vendors forbid it)."""
    host = start_jumphost(tmp_path / "open-jumphost", client_key)
    try:
        host.sshd.authorized_keys.write_text("")
        host.sshd.config.write_text(
            host.sshd.config.read_text().replace(
                "AllowTcpForwarding remote", "AllowTcpForwarding yes"
            )
        )
        host.sshd.restart()
        yield host
    finally:
        host.sshd.stop()
