"""The Finish page: the name is checked inline, the profile is saved, completed is emitted;
an edit that would drop live connections asks first."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import pytest
from PySide6.QtWidgets import QWizard

from app.core.profile import Profile
from app.storage.paths import AppPaths
from app.storage.store import ProfileStore
from app.ui.wizard.finish import dropping, free_name
from app.ui.wizard.wizard import Page
from tests.app.ui.wizard.driver import Driver, reach
from tests.app.ui.wizard.editing import edit_to_finish
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


def test_dropping_counts_connections() -> None:
    assert dropping(1) == "This will drop 1 active connection. Apply now?"
    assert dropping(3) == "This will drop 3 active connections. Apply now?"


def saved_db(paths: AppPaths, host: Jumphost, target_port: int) -> Profile:
    host.pin(paths)
    profile = host.profile(target_port, name="db")
    ProfileStore(paths.profiles_file).add(profile)
    return profile


def test_finish_with_nothing_changed_says_so_and_asks_nothing(
    make_wizard: Callable[..., Driver], jumphost: Jumphost, tk_home: AppPaths
) -> None:
    with tcp_server(echo_handler) as target:
        profile = saved_db(tk_home, jumphost, target.port)
        driver = make_wizard(profile=profile, connections=lambda name: 1)
        edit_to_finish(driver)
        driver.finish()  # no question: nothing is dropped
    assert driver.wizard.finish_page.drop_box is None
    outcome = driver.wizard.outcome
    assert outcome is not None
    assert (outcome.name, outcome.old_name, outcome.changes) == ("db", "db", frozenset())
    assert ProfileStore(tk_home.profiles_file).get("db") == profile


def test_an_edit_that_drops_live_connections_asks_first(
    make_wizard: Callable[..., Driver], jumphost: Jumphost, tk_home: AppPaths
) -> None:
    with tcp_server(echo_handler) as old_target, tcp_server(echo_handler) as new_target:
        profile = saved_db(tk_home, jumphost, old_target.port)
        driver = make_wizard(profile=profile, connections=lambda name: 1)
        edit_to_finish(driver, target_port=new_target.port)
        page = driver.wizard.finish_page
        finish = driver.button(QWizard.WizardButton.FinishButton)
        driver.click(finish)
        box = page.drop_box
        assert box is not None
        driver.wait(box.isVisible)
        assert box.text() == "This will drop 1 active connection. Apply now?"
        assert "target port" in box.informativeText()
        driver.click(box.escapeButton())  # Cancel: back to the wizard, nothing saved
        driver.wait(lambda: not box.isVisible())
        assert driver.wizard.isVisible() and driver.page_id is Page.FINISH
        assert ProfileStore(tk_home.profiles_file).get("db").target_port == old_target.port

        driver.click(finish)
        again = page.drop_box
        assert again is not None
        driver.wait(again.isVisible)
        assert page.apply_now is not None
        driver.click(page.apply_now)
        driver.wait(lambda: not driver.wizard.isVisible())
    assert ProfileStore(tk_home.profiles_file).get("db").target_port == new_target.port
    outcome = driver.wizard.outcome
    assert outcome is not None and outcome.changes == frozenset({"target_port"})


def test_an_edit_with_no_live_connections_applies_without_asking(
    make_wizard: Callable[..., Driver], jumphost: Jumphost, tk_home: AppPaths
) -> None:
    with tcp_server(echo_handler) as old_target, tcp_server(echo_handler) as new_target:
        profile = saved_db(tk_home, jumphost, old_target.port)
        driver = make_wizard(profile=profile, connections=lambda name: 0)
        edit_to_finish(driver, target_port=new_target.port)
        driver.finish()
    assert driver.wizard.finish_page.drop_box is None
    assert ProfileStore(tk_home.profiles_file).get("db").target_port == new_target.port
