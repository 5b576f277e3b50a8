"""The "Add webhook…" and "Add email…" forms: fields, a sentence beside each, added off-thread."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any

import shiboken6
from PySide6.QtCore import Qt, Signal
from PySide6.QtWidgets import (
    QComboBox,
    QDialog,
    QDialogButtonBox,
    QFormLayout,
    QHBoxLayout,
    QLabel,
    QLineEdit,
    QVBoxLayout,
    QWidget,
)

from app.errors import InvalidField
from app.services.alerts import AlertService
from app.ui import jobs
from app.ui.alerts.words import EVERY_TUNNEL, field_message, field_name
from app.ui.icons import app_icon
from app.ui.wizard.widgets import GREY, RED, Note, message_of, with_note

AFTER_HINT = "of being down (90s, 1m30s and 1h work too)"
TLS_CHOICES = (
    ("Automatic: TLS on port 465, STARTTLS elsewhere", None),
    ("STARTTLS", "starttls"),
    ("TLS from the start", "tls"),
    ("None: unencrypted (only to this machine when signing in)", "none"),
)

Adding = Callable[[], dict[str, Any]]  # the service call, with the fields as they were read


class AlertForm(QDialog):
    """One alert to add: the fields of its kind, then which tunnel and after how long. Add
    checks and keeps it on a worker thread; a mistake is said beside its field and nothing
    is kept; ``added`` carries the new rule (as :meth:`AlertService.list` shows it)."""

    added = Signal(object)

    def __init__(
        self, alerts: AlertService, tunnels: Sequence[str], title: str, parent: QWidget | None
    ) -> None:
        super().__init__(parent)
        self.alerts = alerts
        self.working = False
        self.setWindowTitle(title)
        self.setWindowIcon(app_icon())
        self.setMinimumWidth(520)
        self.fields: dict[str, QWidget] = {}
        self.notes: dict[str, Note] = {}
        self.form = QFormLayout()
        self.form.setFieldGrowthPolicy(QFormLayout.FieldGrowthPolicy.AllNonFixedFieldsGrow)
        self.intro = QLabel()
        self.intro.setWordWrap(True)
        self.intro.setTextFormat(Qt.TextFormat.PlainText)
        self.tunnel = QComboBox()
        self.tunnel.addItem(EVERY_TUNNEL, None)
        for name in tunnels:
            self.tunnel.addItem(name, name)
        self.after = QLineEdit("2m")
        self.after.setMaximumWidth(self.after.fontMetrics().horizontalAdvance("0" * 10) + 16)
        self.problem = Note(RED)  # what no single field explains
        self.buttons = QDialogButtonBox(QDialogButtonBox.StandardButton.Cancel)
        self.add_button = self.buttons.addButton("&Add", QDialogButtonBox.ButtonRole.AcceptRole)
        self.add_button.setDefault(True)
        self.buttons.accepted.connect(self.submit)
        self.buttons.rejected.connect(self.reject)
        self.build()
        self.row("&Tunnel:", "tunnel", self.tunnel)
        after_row = QWidget()
        after_layout = QHBoxLayout(after_row)
        after_layout.setContentsMargins(0, 0, 0, 0)
        after_layout.addWidget(self.after)
        after_layout.addWidget(QLabel(AFTER_HINT), 1)
        after_row.setFocusProxy(self.after)
        self.row("Alert &after:", "after", after_row)
        layout = QVBoxLayout(self)
        layout.addWidget(self.intro)
        layout.addSpacing(4)
        layout.addLayout(self.form)
        layout.addWidget(self.problem)
        layout.addStretch(1)
        layout.addWidget(self.buttons)

    def build(self) -> None:
        """The kind's own fields (with ``row``) and intro."""
        raise NotImplementedError

    def adding(self) -> Adding:
        """The service call with the fields read now; raises InvalidField for a mistake the
        form sees by itself."""
        raise NotImplementedError

    def row(self, label: str, name: str, field: QWidget) -> None:
        self.fields[name] = field
        self.notes[name] = Note(RED)
        self.form.addRow(label, with_note(field, self.notes[name]))

    def text(self, name: str) -> str:
        field = self.fields[name]
        return field.text().strip() if isinstance(field, QLineEdit) else ""

    def chosen_tunnel(self) -> str | None:
        data = self.tunnel.currentData()
        return str(data) if data else None

    # --- adding ---------------------------------------------------------------------------

    def submit(self) -> None:
        if self.working:
            return
        for note in (*self.notes.values(), self.problem):
            note.say("")
        try:
            call = self.adding()
        except InvalidField as exc:
            self._said(exc)
            return
        self._busy(True)
        self.problem.say("Checking and adding…", GREY)
        jobs.start("add-alert", lambda _progress: call(), self._done, self._failed)

    def _busy(self, on: bool) -> None:
        self.working = on
        for widget in (*self.fields.values(), self.add_button):
            widget.setEnabled(not on)
        self.buttons.button(QDialogButtonBox.StandardButton.Cancel).setEnabled(not on)

    def _alive(self) -> bool:
        return shiboken6.isValid(self)

    def _done(self, rule: dict[str, Any]) -> None:
        if not self._alive():
            return
        self._busy(False)
        self.forget_secrets()
        self.added.emit(rule)
        self.accept()

    def _failed(self, exc: Exception) -> None:
        if not self._alive():
            return
        self._busy(False)
        self.problem.say("")
        self._said(exc)

    def _said(self, exc: Exception) -> None:
        """A field's mistake beside the field (focused); anything else under the form."""
        name = field_name(exc) if isinstance(exc, InvalidField) else ""
        if isinstance(exc, InvalidField) and name in self.notes:
            self.notes[name].say(field_message(exc), RED)
            self.fields[name].setFocus()
            return
        self.problem.say(message_of(exc), RED)

    def forget_secrets(self) -> None:
        """Clear what must not stay in a widget once handed over (a password)."""

    def reject(self) -> None:
        """Not while adding: its outcome is said here."""
        if not self.working:
            self.forget_secrets()
            super().reject()


class WebhookForm(AlertForm):
    """Add webhook…: the address to POST to."""

    def __init__(
        self, alerts: AlertService, tunnels: Sequence[str], parent: QWidget | None = None
    ) -> None:
        super().__init__(alerts, tunnels, "Add a webhook alert", parent)

    def build(self) -> None:
        self.intro.setText(
            "Tunnelkeeper POSTs a JSON message to this address; Slack and Microsoft Teams "
            "incoming webhooks show its text as it is. The address holds the webhook's "
            "secret: it is kept in alerts.toml (yours alone) and shown only as its host."
        )
        url = QLineEdit()
        url.setPlaceholderText("https://hooks.slack.com/services/…")
        self.row("&Webhook URL:", "url", url)
        url.setFocus()

    def adding(self) -> Adding:
        url, tunnel, after = self.text("url"), self.chosen_tunnel(), self.after.text().strip()
        if not url:
            raise InvalidField("url", "give the webhook's address (https://…).")
        alerts = self.alerts
        return lambda: alerts.add_webhook(url, tunnel, after)


class EmailForm(AlertForm):
    """Add email…: the address, the mail server and how to sign in to it."""

    def __init__(
        self, alerts: AlertService, tunnels: Sequence[str], parent: QWidget | None = None
    ) -> None:
        super().__init__(alerts, tunnels, "Add an email alert", parent)

    def build(self) -> None:
        self.intro.setText(
            "Tunnelkeeper sends the alert through your mail server. The password is kept in "
            "the system keychain only, never in a file, and is not shown again."
        )
        self.tls = QComboBox()
        for label, mode in TLS_CHOICES:
            self.tls.addItem(label, mode)
        self.password = QLineEdit()
        self.password.setEchoMode(QLineEdit.EchoMode.Password)
        for name, label, hint in (
            ("address", "&Send to:", "ops@example.com"),
            ("smtp", "&Mail server:", "smtp.example.com:587"),
        ):
            edit = QLineEdit()
            edit.setPlaceholderText(hint)
            self.row(label, name, edit)
        self.row("Se&curity:", "tls", self.tls)
        user = QLineEdit()
        user.setPlaceholderText("empty: the server takes mail without signing in")
        self.row("&User:", "user", user)
        self.password.setPlaceholderText("kept in the system keychain")
        self.row("&Password:", "password", self.password)
        sender = QLineEdit()
        sender.setPlaceholderText("empty: the user, else tunnelkeeper@this machine")
        self.row("&From:", "from", sender)
        self.fields["address"].setFocus()

    def adding(self) -> Adding:
        address, smtp, user = self.text("address"), self.text("smtp"), self.text("user")
        sender, password = self.text("from"), self.password.text()
        if not address:
            raise InvalidField("address", "give the address alerts go to.")
        if not smtp:
            raise InvalidField("smtp", "give the mail server as HOST:PORT.")
        if password and not user:
            raise InvalidField("user", "a password needs the user it signs in as.")
        tls, tunnel, after = self.tls.currentData(), self.chosen_tunnel(), self.after.text()
        alerts = self.alerts
        return lambda: alerts.add_email(
            address, smtp, user=user or None, password=password or None, tls=tls,
            sender=sender or None, tunnel=tunnel, after=after.strip(),
        )  # fmt: skip

    def forget_secrets(self) -> None:
        self.password.clear()
