"""The setup wizard (one module per page); the app opens it to add or edit a tunnel."""

from app.ui.wizard.draft import WizardPrefill
from app.ui.wizard.wizard import SetupWizard

__all__ = ["SetupWizard", "WizardPrefill"]
