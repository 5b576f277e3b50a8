"""Settings → Metrics: whether and where the app serves Prometheus ``/metrics``, applied live."""

from __future__ import annotations

from PySide6.QtCore import Qt
from PySide6.QtWidgets import (
    QCheckBox,
    QDialog,
    QDialogButtonBox,
    QFormLayout,
    QLabel,
    QLineEdit,
    QVBoxLayout,
    QWidget,
)

from app.errors import TunnelkeeperError
from app.services.metrics import DEFAULT_ADDRESS, metrics_address
from app.ui.icons import app_icon
from app.ui.metrics import ServedMetrics
from app.ui.preferences import Preferences
from app.ui.wizard.widgets import AMBER, GREEN, GREY, RED, Note, message_of, with_note

INTRO = (
    "Prometheus can read the figures of the tunnels this app runs (up or down, bytes, "
    "connections, reconnects) from a web address on this computer."
)
ALLOW_BOX = "the “Allow other machines” box below"  # the remedy MetricsNotLoopback names
REMOTE_WARNING = (
    "No sign-in: anyone who can reach this port reads the tunnels' names and figures. "
    "Keep the port behind a firewall."
)
NOT_SERVING = "Not serving."


class MetricsDialog(QDialog):
    """The setting as app.json holds it; Apply checks the address, serves there at once
    (``served``: the app's endpoint) and saves the setting (``preferences``). A change that
    fails says why under the address and leaves both the endpoint and the setting as they
    were. Nothing here waits: binding a port is quick, and app.json is written off the GUI
    thread."""

    def __init__(
        self, served: ServedMetrics, preferences: Preferences, parent: QWidget | None = None
    ) -> None:
        super().__init__(parent)
        self.served, self.preferences = served, preferences
        settings = preferences.settings
        self.setWindowTitle("Metrics")
        self.setWindowIcon(app_icon())
        self.setMinimumWidth(500)
        intro = QLabel(INTRO)
        intro.setWordWrap(True)
        intro.setTextFormat(Qt.TextFormat.PlainText)
        self.serve_box = QCheckBox("&Serve Prometheus metrics")
        self.serve_box.setChecked(bool(settings.metrics))
        self.address = QLineEdit(settings.metrics or DEFAULT_ADDRESS)
        self.address.setPlaceholderText(DEFAULT_ADDRESS)
        self.address.setToolTip(
            "HOST:PORT; 127.0.0.1 for this computer only, 0.0.0.0 for every network"
        )
        self.address_note = Note(RED)
        self.remote_box = QCheckBox("Allow &other machines")
        self.remote_box.setChecked(settings.metrics_allow_remote)
        self.remote_note = Note(AMBER)
        self.remote_note.say(REMOTE_WARNING)
        self.now = Note(GREY)
        self.saved_note = Note(RED)
        self.buttons = QDialogButtonBox(
            QDialogButtonBox.StandardButton.Apply | QDialogButtonBox.StandardButton.Close
        )
        self.apply_button = self.buttons.button(QDialogButtonBox.StandardButton.Apply)
        self.apply_button.setDefault(True)  # Enter in the address applies, not closes
        self.apply_button.clicked.connect(self.apply)
        self.buttons.rejected.connect(self.reject)

        form = QFormLayout()
        form.setContentsMargins(24, 0, 0, 0)  # under the box that turns it on
        self.address_label = label = QLabel("&Address:")
        field = with_note(self.address, self.address_note)
        label.setBuddy(field)
        form.addRow(label, field)
        form.addRow(self.remote_box)
        form.addRow(self.remote_note)
        layout = QVBoxLayout(self)
        layout.addWidget(intro)
        layout.addSpacing(6)
        layout.addWidget(self.serve_box)
        layout.addLayout(form)
        layout.addSpacing(6)
        layout.addWidget(self.now)
        layout.addWidget(self.saved_note)
        layout.addStretch(1)
        layout.addWidget(self.buttons)

        self.serve_box.toggled.connect(lambda _on: self._update())
        self.remote_box.toggled.connect(lambda _on: self._update())
        self.address.textEdited.connect(lambda _text: self.address_note.say(""))
        self._update()
        self.show_now()

    def _update(self) -> None:
        on = self.serve_box.isChecked()
        self.address.setEnabled(on)
        self.address_label.setEnabled(on)
        self.remote_box.setEnabled(on)
        self.remote_note.setVisible(on and self.remote_box.isChecked())
        self.address_note.say("")

    def show_now(self) -> None:
        """What is served now: its address, or nothing and why."""
        endpoint = self.served.endpoint
        if endpoint is not None:
            self.now.say(f"Serving now at {endpoint.url}", GREEN)
        elif self.served.problem:
            self.now.say(f"Not serving: {self.served.problem}", RED)
        else:
            self.now.say(NOT_SERVING, GREY)

    def apply(self) -> None:
        """Serve as the dialog says (or stop), then save the setting; on failure, say why
        under the address and change nothing."""
        settings = self.preferences.settings
        if not self.serve_box.isChecked():
            self.served.stop()
            settings.metrics, settings.metrics_allow_remote = "", False
            self.remote_box.setChecked(False)
            self._save()
            return
        allow_remote = self.remote_box.isChecked()
        try:
            address = metrics_address(self.address.text(), allow_remote, ALLOW_BOX)
            self.served.serve(address.label, allow_remote, ALLOW_BOX)
        except TunnelkeeperError as exc:
            kept = " The setting before is kept." if settings.metrics else ""
            self.address_note.say(message_of(exc) + kept, RED)
            self.show_now()
            self.address.setFocus()
            return
        self.address.setText(address.label)
        settings.metrics, settings.metrics_allow_remote = address.label, allow_remote
        self._save()

    def _save(self) -> None:
        self.preferences.save()
        self.address_note.say("")
        self.show_now()
        problem = self.preferences.file.problem
        if problem is not None:  # served now, but not at the next start
            self.saved_note.say(f"Applied for now, not saved: {problem}", RED)
        else:
            self.saved_note.say("")
