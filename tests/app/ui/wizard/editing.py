"""Driving the wizard through an edit of a saved tunnel, as a person does."""

from __future__ import annotations

from app.ui.wizard.wizard import Page
from tests.app.ui.wizard.driver import Driver


def edit_to_finish(driver: Driver, target_port: int | None = None) -> None:
    """Click through an edit to the Finish page, changing the target port if given."""
    wizard = driver.wizard
    driver.next(Page.KEY)
    driver.wait(lambda: wizard.key_page.key_box.line() != "")
    driver.next(Page.ENDPOINT)
    driver.next(Page.TARGET)
    if target_port is not None:
        driver.set_text(wizard.target_page.port, str(target_port))
    driver.next(Page.HOST_KEY)
    driver.fetched()
    driver.next(Page.TEST)
    driver.checks_done()
    driver.next(Page.FINISH)
    driver.wait(lambda: wizard.finish_page.taken is not None)
