"""A note appearing or going under a field never moves the fields below it."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

from PySide6.QtCore import QPoint
from PySide6.QtWidgets import QApplication, QWidget, QWizardPage

from app.core.profile import Profile
from app.storage.paths import AppPaths
from app.storage.store import ProfileStore
from app.ui.wizard.endpoint import EndpointPage
from app.ui.wizard.wizard import Page
from tests.app.ui.wizard.driver import Driver


def top(widget: QWidget, page: QWizardPage) -> int:
    """Where ``widget`` is on its page once every pending layout change has been applied."""
    for _ in range(3):
        QApplication.processEvents()
    return widget.mapTo(page, QPoint(0, 0)).y()


def saved(paths: AppPaths, key: Path) -> Profile:
    profile = Profile(
        name="db",
        jumphost="jump.example",
        user="sshtunnel",
        remote_port=58115,
        target_host="localhost",
        target_port=5432,
        key_path=str(key),
    )
    ProfileStore(paths.profiles_file).add(profile)
    return profile


def places(page: EndpointPage) -> dict[str, tuple[int, int]]:
    """Where each field of the endpoint page is (top, height), the paste box included: the
    paste box stretches, so a note could move the fields above it as well as below."""
    widgets: dict[str, QWidget] = {"paste": page.paste, **page.edits}
    return {name: (top(w, page), w.height()) for name, w in widgets.items()}


def test_the_endpoint_form_stays_put_as_notes_come_and_go(
    make_wizard: Callable[..., Driver], client_key: Path
) -> None:
    driver = make_wizard()
    driver.next(Page.KEY)
    driver.use_key(client_key)
    driver.next(Page.ENDPOINT)
    page = driver.wizard.endpoint_page
    driver.paste("Tunnel endpoint: jump.example:58115")
    driver.set_text(page.edits["user"], "sshtunnel")
    last = page.edits["remote_bind"]
    before, last_y = places(page), top(last, page)
    for field, wrong, right in (("ssh_port", "99999", "22"), ("user", "a b", "sshtunnel")):
        note = page.notes[field]
        assert not note.isVisible()
        driver.set_text(page.edits[field], wrong)
        assert note.isVisible(), field  # the note appeared…
        assert top(last, page) == last_y, field  # …and the last field did not move,
        assert places(page) == before, field  # nor any other
        driver.set_text(page.edits[field], right)
        assert not note.isVisible(), field
        assert top(last, page) == last_y and places(page) == before, field


def test_the_endpoint_form_stays_put_while_a_paste_is_read(
    make_wizard: Callable[..., Driver], client_key: Path
) -> None:
    driver = make_wizard()
    driver.next(Page.KEY)
    driver.use_key(client_key)
    driver.next(Page.ENDPOINT)
    page = driver.wizard.endpoint_page
    fields = {name: top(edit, page) for name, edit in page.edits.items()}
    driver.paste("ssh -NR 58115:localhost:3306 sshtunnel@jump.example -p 50683")
    assert page.paste_note.isVisible()  # what the paste gave: the paste box makes room
    assert {name: top(edit, page) for name, edit in page.edits.items()} == fields


def test_the_target_and_finish_fields_stay_put(
    make_wizard: Callable[..., Driver], client_key: Path, tk_home: AppPaths
) -> None:
    profile = saved(tk_home, client_key)
    driver = make_wizard(profile=profile, part="target")
    page = driver.wizard.target_page
    below = page.reach  # the reachable / refused line under the port
    before = top(below, page)
    driver.set_text(page.port, "port")
    assert page.port_note.isVisible() and top(below, page) == before
    driver.set_text(page.host, "no such host!")
    assert page.host_note.isVisible() and top(below, page) == before
    driver.set_text(page.host, "localhost")
    driver.set_text(page.port, "5432")
    assert not page.port_note.isVisible() and top(below, page) == before

    finish = make_wizard(profile=profile, part="options")
    page_f = finish.wizard.finish_page
    finish.wait(lambda: page_f.taken is not None)
    before = top(page_f.summary, page_f)
    finish.set_text(page_f.name, "no spaces")
    assert page_f.name_note.isVisible() and top(page_f.summary, page_f) == before


def test_the_key_form_stays_put_while_the_passphrase_is_repeated(
    make_wizard: Callable[..., Driver],
) -> None:
    driver = make_wizard()
    driver.next(Page.KEY)
    page = driver.wizard.key_page
    page.new_option.setChecked(True)
    driver.wait(lambda: page.keychain_note.text() != "")  # no keychain here: it will warn
    assert not page.keychain_note.isVisible()  # …once a passphrase is typed
    before = top(page.action, page)
    driver.qtbot.keyClicks(page.passphrase, "secret")
    assert page.repeat_note.isVisible()  # "type the passphrase again"
    assert page.keychain_note.isVisible()  # "asked for each time"
    assert top(page.action, page) == before
    driver.qtbot.keyClicks(page.repeat, "secret")
    assert not page.repeat_note.isVisible() and top(page.action, page) == before
