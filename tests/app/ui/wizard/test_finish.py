"""The Finish page: the name is checked inline, the profile is saved, completed is emitted."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import pytest
from PySide6.QtWidgets import QWizard

from app.storage.paths import AppPaths
from app.storage.store import ProfileStore
from app.ui.wizard.finish import free_name
from app.ui.wizard.wizard import Page
from tests.app.ui.wizard.driver import Driver, reach
from tests.conftest import Jumphost
from tests.support.net import echo_handler, tcp_server


@pytest.fixture
def finish(make_wizard: Callable[..., Driver], client_key: Path, jumphost: Jumphost) -> Driver:
    with tcp_server(echo_handler) as target:
        driver = make_wizard()
        reach(driver, Page.FINISH, key=client_key, host=jumphost, target_port=target.port)
    driver.wait(lambda: driver.wizard.finish_page.taken is not None)
    return driver


def finish_enabled(driver: Driver) -> bool:
    return driver.button(QWizard.WizardButton.FinishButton).isEnabled()


@pytest.mark.parametrize(
    ("name", "message"),
    [
        ("", "A tunnel needs a name."),
        ("my tunnel", "'my tunnel' is not a valid tunnel name; use 1–64 letters"),  # noqa: RUF001
        ("con", "'con' is a name Windows reserves; choose another."),
    ],
)
def test_a_bad_name_is_explained_under_the_field(finish: Driver, name: str, message: str) -> None:
    page = finish.wizard.finish_page
    finish.set_text(page.name, name)
    assert page.name_note.isVisible() and page.name_note.text().startswith(message)
    assert not finish_enabled(finish)
    finish.set_text(page.name, "fine_name-1")
    assert not page.name_note.isVisible() and finish_enabled(finish)


def test_defaults_and_what_finish_saves_and_says(finish: Driver, tk_home: AppPaths) -> None:
    page = finish.wizard.finish_page
    assert page.name.text() == "tunnel"
    assert page.connect_now.isChecked() and page.at_login.isChecked()
    assert "will listen on <b>localhost:" in page.summary.text()
    completed: list[tuple[str, bool, bool]] = []
    finish.wizard.completed.connect(lambda *args: completed.append(args))
    finish.tick(page.connect_now)
    finish.finish()
    assert completed == [("tunnel", False, True)]
    assert finish.wizard.result() == QWizard.DialogCode.Accepted
    assert "tunnel" in ProfileStore(tk_home.profiles_file).load()


def test_the_suggested_name_avoids_existing_tunnels(
    make_wizard: Callable[..., Driver], client_key: Path, jumphost: Jumphost, tk_home: AppPaths
) -> None:
    store = ProfileStore(tk_home.profiles_file)
    store.add(jumphost.profile(1, name="tunnel"))
    with tcp_server(echo_handler) as target:
        driver = make_wizard()
        reach(driver, Page.FINISH, key=client_key, host=jumphost, target_port=target.port)
    page = driver.wizard.finish_page
    driver.wait(lambda: page.taken is not None)
    assert page.name.text() == "tunnel-2"
    driver.set_text(page.name, "tunnel")
    assert page.name_note.text() == ("A tunnel named 'tunnel' already exists; choose another name.")
    assert not finish_enabled(driver)


def test_an_unreadable_profiles_file_is_reported_and_nothing_is_saved(
    make_wizard: Callable[..., Driver], client_key: Path, jumphost: Jumphost, tk_home: AppPaths
) -> None:
    tk_home.profiles_file.write_text("this is [ not toml\n")
    with tcp_server(echo_handler) as target:
        driver = make_wizard()
        reach(driver, Page.FINISH, key=client_key, host=jumphost, target_port=target.port)
    page = driver.wizard.finish_page
    driver.wait(page.note.isVisible)
    assert "could not be read" in page.note.text() and "tunnelkeeper repair" in page.note.text()
    assert not finish_enabled(driver)
    assert tk_home.profiles_file.read_text() == "this is [ not toml\n"


def test_free_name() -> None:
    assert free_name("db", set(), None) == "db"
    assert free_name("db", {"db", "db-2"}, None) == "db-3"
    assert free_name("db", {"db"}, "db") == "db"  # editing: its own name is free
