"""The Welcome page: what a reverse tunnel is and what to have ready."""

from __future__ import annotations

from collections.abc import Callable

from PySide6.QtWidgets import QLabel, QWizard

from app.ui.wizard.wizard import Page
from tests.app.ui.wizard.driver import Driver
from tests.conftest import Jumphost


def test_welcome_explains_and_lists_what_to_have_ready(
    make_wizard: Callable[..., Driver],
) -> None:
    driver = make_wizard()
    page = driver.wizard.welcome_page
    assert driver.page_id is Page.WELCOME
    text = " ".join(label.text() for label in page.findChildren(QLabel))
    assert "reverse tunnel" in text
    for needed in ("jumphost", "SSH port", "user name", "allocated", "public key"):
        assert needed in text
    assert driver.next_enabled()
    assert not driver.button(QWizard.WizardButton.BackButton).isVisible()
    assert driver.wizard.minimumSize().width() >= 640
    assert driver.wizard.minimumSize().height() >= 480


def test_editing_says_which_tunnel(make_wizard: Callable[..., Driver], jumphost: Jumphost) -> None:
    driver = make_wizard(profile=jumphost.profile(5432, name="warehouse"))
    assert "warehouse" in driver.wizard.welcome_page.title()
    assert "warehouse" in driver.wizard.windowTitle()
