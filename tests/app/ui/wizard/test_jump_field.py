"""The Endpoint page's Jump host field: filled by a pasted -J / ProxyJump / ProxyCommand
ssh -W, checked as it is typed, pre-filled when editing, and kept in the profile."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import pytest

from app.core.profile import Profile
from app.ui.wizard.endpoint import EndpointPage
from app.ui.wizard.wizard import Page, Part
from tests.app.ui.wizard.driver import Driver

COMMAND = "ssh -NR 58115:localhost:3306 sshtunnel@tunnel.vendor.example -p 50683"


def endpoint_page(make_wizard: Callable[..., Driver], client_key: Path) -> Driver:
    driver = make_wizard()
    driver.next(Page.KEY)
    driver.use_key(client_key)
    driver.next(Page.ENDPOINT)
    return driver


@pytest.mark.parametrize(
    ("paste", "chain"),
    [
        (f"ssh -J ops@bastion.corp:2222 {COMMAND[4:]}", "ops@bastion.corp:2222"),
        (f"{COMMAND} -o ProxyJump=a.corp,ops@b.corp:2200", "a.corp:22,ops@b.corp:2200"),
        (f"{COMMAND} -o 'ProxyCommand ssh -W %h:%p ops@bastion.corp'", "ops@bastion.corp:22"),
    ],
)
def test_a_pasted_jump_fills_the_field_and_the_profile(
    make_wizard: Callable[..., Driver], client_key: Path, paste: str, chain: str
) -> None:
    driver = endpoint_page(make_wizard, client_key)
    page = driver.wizard.endpoint_page
    driver.paste(paste)
    assert page.edits["jump"].text() == chain
    assert "jump hosts" in page.paste_note.text()
    assert driver.next_enabled()
    assert page.validatePage()
    assert driver.wizard.draft.fields()["jump"] == chain  # the canonical form
    # a paste without one clears what the last paste put there
    driver.paste(COMMAND)
    assert page.edits["jump"].text() == ""
    assert page.values()["jump"] is None  # type: ignore[index]


def test_an_invalid_jump_shows_its_note_and_disables_next(
    make_wizard: Callable[..., Driver], client_key: Path
) -> None:
    driver = endpoint_page(make_wizard, client_key)
    page: EndpointPage = driver.wizard.endpoint_page
    driver.paste(COMMAND)
    assert driver.next_enabled()
    note = page.notes["jump"]
    assert note.isHidden() and note.sizePolicy().retainSizeWhenHidden()  # keeps its room
    driver.set_text(page.edits["jump"], "ops@bastion.corp:99999")
    driver.wait(lambda: not driver.next_enabled())
    assert note.isVisible()
    assert "bastion.corp:99999" in note.text() and "user@host[:port]" in note.text()
    assert not page.isComplete()
    driver.set_text(page.edits["jump"], "ops@bastion.corp:2222, 10.0.0.9")
    driver.wait(driver.next_enabled)
    assert note.isHidden()
    assert page.values()["jump"] == "ops@bastion.corp:2222,10.0.0.9:22"  # type: ignore[index]
    driver.set_text(page.edits["jump"], "")  # optional: empty is no jump host
    driver.wait(driver.next_enabled)
    assert page.values()["jump"] is None  # type: ignore[index]


def test_editing_prefills_the_jump_hosts(
    make_wizard: Callable[..., Driver], client_key: Path
) -> None:
    profile = Profile(
        name="db",
        jumphost="tunnel.vendor.example",
        user="sshtunnel",
        remote_port=58115,
        target_host="localhost",
        target_port=5432,
        key_path=str(client_key),
        jump="ops@bastion.corp:22",
    )
    driver = make_wizard(profile=profile, part=Part.ENDPOINT)
    page = driver.wizard.endpoint_page
    assert driver.page_id is Page.ENDPOINT
    assert page.edits["jump"].text() == "ops@bastion.corp:22"
    assert driver.wizard.draft.fields()["jump"] == "ops@bastion.corp:22"
    # another chain: a new host key to trust comes next
    driver.set_text(page.edits["jump"], "ops@other.corp")
    assert page.validatePage()
    assert driver.wizard.draft.new_jumphost()
