"""Changing one part of a saved tunnel: its page first, the test only when the connection
changes, then Finish; the other fields stay as they were."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import replace
from pathlib import Path

import pytest
from PySide6.QtWidgets import QWizard

from app.core.profile import Profile
from app.ssh.keys import load_private_key
from app.storage.paths import AppPaths
from app.storage.store import ProfileStore
from app.ui.wizard import SetupWizard
from app.ui.wizard.route import Part
from app.ui.wizard.wizard import Page
from tests.app.ui.wizard.driver import Driver, encrypted_key
from tests.conftest import Jumphost
from tests.support.net import echo_handler, tcp_server

pytestmark = pytest.mark.integration


def saved_db(paths: AppPaths, host: Jumphost, target_port: int) -> Profile:
    host.pin(paths)
    profile = host.profile(target_port, name="db", keepalive_interval=30)  # not a default
    ProfileStore(paths.profiles_file).add(profile)
    return profile


def press(driver: Driver, which: QWizard.WizardButton, expect: Page) -> None:
    """Click Next or Back once it is enabled; wait until the wizard shows ``expect``."""
    button = driver.button(which)
    driver.wait(button.isEnabled)
    driver.click(button)
    driver.wait(lambda: driver.page_id is expect)


def opens_on(driver: Driver, page: Page) -> None:
    assert driver.page_id is page
    assert not driver.button(QWizard.WizardButton.BackButton).isVisible()  # nothing before it


def test_the_target_part_opens_on_its_page_and_saves_only_a_tested_change(
    make_wizard: Callable[..., Driver], jumphost: Jumphost, tk_home: AppPaths
) -> None:
    with tcp_server(echo_handler) as old_target, tcp_server(echo_handler) as new_target:
        profile = saved_db(tk_home, jumphost, old_target.port)
        driver = make_wizard(profile=profile, part="target", connections=lambda name: 0)
        wizard = driver.wizard
        opens_on(driver, Page.TARGET)
        page = wizard.target_page
        assert (page.host.text(), page.port.text()) == ("127.0.0.1", str(old_target.port))
        assert "target" in wizard.windowTitle()

        driver.set_text(page.port, str(new_target.port))
        press(driver, QWizard.WizardButton.NextButton, Page.TEST)  # the connection changes
        driver.checks_done()
        assert wizard.checks_page.ready(), wizard.checks_page.summary.text()
        press(driver, QWizard.WizardButton.BackButton, Page.TARGET)  # Back: the part's page
        assert page.port.text() == str(new_target.port)
        press(driver, QWizard.WizardButton.NextButton, Page.TEST)
        driver.checks_done()
        press(driver, QWizard.WizardButton.NextButton, Page.FINISH)
        driver.wait(lambda: wizard.finish_page.taken is not None)
        assert wizard.visitedIds() == [Page.TARGET, Page.TEST, Page.FINISH]
        assert wizard.finish_page.name.text() == "db"
        driver.finish()
    assert ProfileStore(tk_home.profiles_file).load() == {
        "db": replace(profile, target_port=new_target.port)
    }
    assert ProfileStore(tk_home.profiles_file).get("db").keepalive_interval == 30  # untouched
    outcome = wizard.outcome
    assert outcome is not None
    assert (outcome.name, outcome.old_name, outcome.changes) == (
        "db",
        "db",
        frozenset({"target_port"}),
    )


@pytest.mark.parametrize(
    ("part", "page"),
    [
        (Part.KEY, Page.KEY),
        (Part.ENDPOINT, Page.ENDPOINT),
        (Part.TARGET, Page.TARGET),
        (Part.HOST_KEY, Page.HOST_KEY),
    ],
)
def test_a_part_left_as_it_was_goes_straight_to_finish_and_changes_nothing(
    make_wizard: Callable[..., Driver],
    jumphost: Jumphost,
    tk_home: AppPaths,
    part: Part,
    page: Page,
) -> None:
    profile = saved_db(tk_home, jumphost, 5432)
    driver = make_wizard(profile=profile, part=part, connections=lambda name: 1)
    wizard = driver.wizard
    opens_on(driver, page)
    if part is Part.KEY:
        driver.wait(lambda: wizard.key_page.key_box.line() != "")  # the current key, read
    if part is Part.HOST_KEY:
        driver.fetched()
        assert "already trusted" in wizard.hostkey_page.verdict.text()
    press(driver, QWizard.WizardButton.NextButton, Page.FINISH)  # no test: nothing changed
    driver.wait(lambda: wizard.finish_page.taken is not None)
    driver.finish()  # no question: nothing is dropped
    assert wizard.finish_page.drop_box is None
    assert wizard.visitedIds() == [page, Page.FINISH]
    outcome = wizard.outcome
    assert outcome is not None and outcome.changes == frozenset()
    assert ProfileStore(tk_home.profiles_file).load() == {"db": profile}


def test_the_options_part_renames_on_the_finish_page_alone(
    make_wizard: Callable[..., Driver], jumphost: Jumphost, tk_home: AppPaths
) -> None:
    profile = saved_db(tk_home, jumphost, 5432)
    completed: list[tuple[str, bool, bool]] = []
    driver = make_wizard(profile=profile, part="options", connections=lambda name: 1)
    wizard = driver.wizard
    wizard.completed.connect(lambda *args: completed.append(args))
    opens_on(driver, Page.FINISH)
    page = wizard.finish_page
    driver.wait(lambda: page.taken is not None)
    assert page.name.text() == "db"
    assert f"127.0.0.1:{jumphost.port}" in page.summary.text()  # as the tunnel is now
    assert driver.button(QWizard.WizardButton.FinishButton).isVisible()
    driver.set_text(page.name, "warehouse")
    driver.finish()  # a rename drops nothing: no question
    assert page.drop_box is None
    assert ProfileStore(tk_home.profiles_file).load() == {
        "warehouse": replace(profile, name="warehouse")
    }
    outcome = wizard.outcome
    assert outcome is not None
    assert (outcome.name, outcome.old_name, outcome.changes) == ("warehouse", "db", frozenset())
    assert completed == [("warehouse", True, True)]


def test_a_new_jumphost_is_checked_on_the_host_key_page_before_the_test(
    make_wizard: Callable[..., Driver], jumphost: Jumphost, tk_home: AppPaths
) -> None:
    profile = saved_db(tk_home, jumphost, 5432)
    driver = make_wizard(profile=profile, part="endpoint")
    wizard = driver.wizard
    opens_on(driver, Page.ENDPOINT)
    edits = wizard.endpoint_page.edits
    assert edits["ssh_port"].text() == str(jumphost.port) and edits["remote_bind"].text() == ""
    driver.set_text(edits["jumphost"], "localhost")  # the same sshd, another name
    press(driver, QWizard.WizardButton.NextButton, Page.HOST_KEY)
    driver.fetched()
    assert wizard.hostkey_page.confirm.isVisible()  # not trusted for this name yet
    press(driver, QWizard.WizardButton.BackButton, Page.ENDPOINT)
    driver.set_text(edits["jumphost"], "127.0.0.1")  # changed my mind
    press(driver, QWizard.WizardButton.NextButton, Page.FINISH)
    assert wizard.visitedIds() == [Page.ENDPOINT, Page.FINISH]


def test_the_test_uses_the_key_the_app_holds_open_instead_of_asking(
    make_wizard: Callable[..., Driver], jumphost: Jumphost, tk_home: AppPaths, tmp_path: Path
) -> None:
    """A key with a passphrase (not in a keychain) that the running tunnel has open: changing
    the target tests with it, as the Key page (which would ask) is not shown."""
    locked = encrypted_key(tmp_path / "locked", "right horse")
    jumphost.sshd.authorize_tunnel(locked, f"localhost:{jumphost.remote_port}")
    jumphost.pin(tk_home)
    profile = jumphost.profile(5432, name="db", key_path=str(locked))
    ProfileStore(tk_home.profiles_file).add(profile)
    opened = load_private_key(str(locked), "right horse", name="db")
    held = {str(locked): opened}
    with tcp_server(echo_handler) as target:
        driver = make_wizard(profile=profile, part=Part.TARGET, held_key=held.get)
        driver.set_text(driver.wizard.target_page.port, str(target.port))
        press(driver, QWizard.WizardButton.NextButton, Page.TEST)
        driver.checks_done()
        page = driver.wizard.checks_page
        assert page.ready(), page.summary.text()


def test_a_part_needs_a_saved_tunnel(tk_home: AppPaths) -> None:
    with pytest.raises(ValueError, match="saved tunnel"):
        SetupWizard(tk_home, part="target")
