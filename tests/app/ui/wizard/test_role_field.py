"""The Target page's "Another machine runs this tunnel too" (issue 19): off for a new
tunnel, the role ticked or not is the profile's, an edit shows it, and Finish says it.
(On the Target page, not the Endpoint page: that one is full at the wizard's size.)"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import replace
from pathlib import Path

import pytest
from PySide6.QtCore import Qt

from app.core.profile import Profile, connection_changes
from app.storage.paths import AppPaths
from app.storage.store import ProfileStore
from app.ui.wizard.role_field import NOTE, role_line
from app.ui.wizard.wizard import Page, Part
from tests.app.ui.wizard.driver import Driver, reach, vendor_command
from tests.conftest import Jumphost
from tests.support.net import echo_handler, tcp_server

COMMAND = "ssh -NR 58115:localhost:3306 sshtunnel@tunnel.vendor.example -p 50683"
ROLE_LINE = "Role: redundant — another machine runs this tunnel too"


def redundant(key: Path) -> Profile:
    return Profile(
        name="db",
        jumphost="tunnel.vendor.example",
        user="sshtunnel",
        remote_port=58115,
        target_host="localhost",
        target_port=5432,
        key_path=str(key),
        role="redundant",
        fence_after=45,
    )


def test_a_new_tunnel_is_single_until_the_box_is_ticked(
    make_wizard: Callable[..., Driver], client_key: Path
) -> None:
    driver = make_wizard()
    driver.next(Page.KEY)
    driver.use_key(client_key)
    driver.next(Page.ENDPOINT)
    driver.paste(COMMAND)
    driver.next(Page.TARGET)
    page = driver.wizard.target_page
    box = page.role.box
    assert box.text() == "Another machine runs this tunnel &too" and not box.isChecked()
    assert page.role.note.isVisible() and page.role.note.text() == NOTE
    assert "stands by" in NOTE and "takes over" in NOTE and "same allocated port" in NOTE
    assert box.accessibleDescription() == NOTE
    assert page.role.role() == "single"
    driver.activate()
    driver.alt(Qt.Key.Key_T)  # its mnemonic (a check box clicks itself a moment later)
    driver.wait(box.isChecked, 5_000)
    assert page.validatePage()
    draft = driver.wizard.draft
    assert draft.role == "redundant"
    assert draft.profile("db").role == "redundant" and draft.profile("db").redundant
    driver.tick(box)
    assert page.validatePage()
    assert draft.profile("db").role == "single"


def test_editing_shows_the_role_and_a_change_of_role_reconnects(
    make_wizard: Callable[..., Driver], client_key: Path
) -> None:
    profile = redundant(client_key)
    driver = make_wizard(profile=profile, part=Part.TARGET)
    page = driver.wizard.target_page
    assert driver.page_id is Page.TARGET
    assert page.role.box.isChecked()
    assert driver.wizard.draft.fields()["role"] == "redundant"
    driver.tick(page.role.box)
    assert page.validatePage()
    changed = driver.wizard.draft.profile("db")
    assert changed.role == "single" and changed.fence_after == 45  # the rest as it was
    assert "role" in connection_changes(profile, changed)


def test_an_edit_of_a_single_tunnel_leaves_the_box_off(
    make_wizard: Callable[..., Driver], client_key: Path
) -> None:
    profile = replace(redundant(client_key), role="single", fence_after=30)
    driver = make_wizard(profile=profile, part=Part.TARGET)
    assert not driver.wizard.target_page.role.box.isChecked()
    assert driver.wizard.target_page.validatePage()
    assert driver.wizard.draft.profile("db") == profile


def test_finish_says_the_role_and_an_other_change_keeps_it(
    make_wizard: Callable[..., Driver], client_key: Path, tk_home: AppPaths
) -> None:
    profile = redundant(client_key)
    ProfileStore(tk_home.profiles_file).add(profile)
    driver = make_wizard(profile=profile, part="options", connections=lambda name: 0)
    page = driver.wizard.finish_page
    driver.wait(lambda: page.taken is not None)
    assert ROLE_LINE in page.summary.text()
    driver.set_text(page.name, "warehouse")
    driver.finish()
    saved = ProfileStore(tk_home.profiles_file).get("warehouse")
    assert (saved.role, saved.fence_after) == ("redundant", 45)
    assert role_line("single") == "" and role_line("redundant") == ROLE_LINE


@pytest.mark.integration
def test_a_new_redundant_tunnel_is_saved_as_one(
    make_wizard: Callable[..., Driver], client_key: Path, jumphost: Jumphost, tk_home: AppPaths
) -> None:
    with tcp_server(echo_handler) as target:
        driver = make_wizard()
        reach(driver, Page.ENDPOINT, key=client_key, host=jumphost, target_port=target.port)

        driver.paste(vendor_command(jumphost))
        driver.next(Page.TARGET)
        driver.target("127.0.0.1", target.port)
        driver.tick(driver.wizard.target_page.role.box)
        driver.next(Page.HOST_KEY)
        driver.trust()
        driver.next(Page.TEST)
        driver.checks_done()
        driver.next(Page.FINISH)
        page = driver.wizard.finish_page
        driver.wait(lambda: page.taken is not None)
        assert ROLE_LINE in page.summary.text()
        driver.tick(page.connect_now)  # saved only: nothing to start here
        driver.finish()
    saved = ProfileStore(tk_home.profiles_file).get("tunnel")
    assert saved.role == "redundant" and saved.redundant
