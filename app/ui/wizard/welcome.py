"""Page 1: what a reverse tunnel is, and what to have ready from the vendor."""

from __future__ import annotations

from PySide6.QtWidgets import QVBoxLayout, QWizardPage

from app.ui.wizard.draft import Draft
from app.ui.wizard.widgets import intro

WHAT = (
    "A <b>reverse tunnel</b> lets your data vendor reach a database inside your network "
    "without opening any port in your firewall. Tunnelkeeper connects <i>out</i> from this "
    "computer to the vendor's SSH server (their <i>jumphost</i>) and keeps that connection "
    "open, so the vendor's connections come back through it to your database."
)
READY = (
    "<p>Have these ready from your vendor's setup page:</p><ul>"
    "<li>their jumphost's address and SSH port, or simply the <code>ssh</code> command or "
    "“tunnel endpoint” they show: you can paste it as it is;</li>"
    "<li>the SSH user name and the port they allocated to you;</li>"
    "<li>the field where you paste your SSH public key (Tunnelkeeper makes one for you "
    "on the next page).</li></ul>"
    "<p>And from your side: the host and port of the database or file share the vendor "
    "should reach.</p>"
)


class WelcomePage(QWizardPage):
    def __init__(self, draft: Draft) -> None:
        super().__init__()
        self.setObjectName("welcome")
        if draft.editing is None:
            self.setTitle("Set up a tunnel to your data vendor")
            self.setSubTitle("About five minutes, with the vendor's setup page open beside you.")
        else:
            self.setTitle(f"Edit the tunnel {draft.editing.name}")
            self.setSubTitle("Each page shows what is set now; change what you need.")
        layout = QVBoxLayout(self)
        layout.addWidget(intro(WHAT))
        layout.addSpacing(8)
        layout.addWidget(intro(READY))
        layout.addStretch(1)
