"""Next's tooltip saying why it is disabled, and a page hearing it is shown again."""

from __future__ import annotations

from collections.abc import Callable

from PySide6.QtWidgets import QWizard, QWizardPage


def explain_next(page: QWizardPage, problems: list[str]) -> None:
    """Set Next's tooltip to ``problems`` (sentences), or clear it when there are none; only
    while ``page`` is the one shown (Next belongs to whichever page is)."""
    wizard = page.wizard()
    if wizard is None or wizard.currentPage() is not page:
        return
    text = ""
    if problems:
        text = "Next is not available yet:\n" + "\n".join(f"• {p}" for p in problems)
    wizard.button(QWizard.WizardButton.NextButton).setToolTip(text)


def clear_next(page: QWizardPage) -> None:
    """Leave Next's tooltip empty for the page shown next."""
    wizard = page.wizard()
    if wizard is not None:
        wizard.button(QWizard.WizardButton.NextButton).setToolTip("")


def on_shown(page: QWizardPage, call: Callable[[], None]) -> None:
    """Call ``call`` each time ``page`` becomes the one shown, Back included (set it up from
    initializePage: the wizard makes a page current only after initialising it)."""
    wizard = page.wizard()
    if wizard is None or page.property("calls_on_shown"):
        return
    page.setProperty("calls_on_shown", True)

    def shown(_page_id: int) -> None:
        if wizard.currentPage() is page:
            call()

    wizard.currentIdChanged.connect(shown)
