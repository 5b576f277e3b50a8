"""Settings → Alerts: where alerts about the app's tunnels go, added, removed and tested."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any

import shiboken6
from PySide6.QtCore import Qt
from PySide6.QtGui import QBrush, QColor, QPalette
from PySide6.QtWidgets import (
    QAbstractItemView,
    QDialog,
    QDialogButtonBox,
    QHBoxLayout,
    QHeaderView,
    QLabel,
    QMessageBox,
    QPushButton,
    QTreeWidget,
    QTreeWidgetItem,
    QVBoxLayout,
    QWidget,
)

from app.services.alerts import AlertService
from app.ui import jobs
from app.ui.alerts.forms import AlertForm, EmailForm, WebhookForm
from app.ui.alerts.words import (
    added_sentence,
    answer_sentence,
    password_problem,
    receiver_cell,
    removed_sentence,
    security_words,
    sign_in_cell,
    tunnel_cell,
)
from app.ui.icons import app_icon
from app.ui.palette import readable
from app.ui.wizard.widgets import GREEN, GREY, RED, Note, message_of

INTRO = (
    "A message goes to each receiver below when a tunnel this app runs has been down for "
    "longer than the alert's time, or needs you, and one more when it is back. Tunnels "
    "started with “tunnelkeeper run” use the same alerts; the system service keeps its own "
    "(“tunnelkeeper service install --system --alerts” copies these into it)."
)
COLUMNS = ("ID", "Sends to", "About", "After", "Signs in as")
NONE_YET = "No alerts yet: add a webhook or an email address."

Row = tuple[dict[str, Any], bool | None]  # a rule, and whether its SMTP password is kept


def rules_with_passwords(alerts: AlertService) -> list[Row]:
    """Every rule, and for one that signs in whether its password is kept (may block)."""
    rows: list[Row] = []
    for rule in alerts.list():
        kept = alerts.has_password(rule["id"]) if rule.get("user") else None
        rows.append((rule, kept))
    return rows


def rules_table() -> QTreeWidget:
    """One row per rule, "Sends to" taking the room the other columns leave."""
    table = QTreeWidget()
    table.setHeaderLabels(list(COLUMNS))
    table.setRootIsDecorated(False)
    table.setUniformRowHeights(True)
    table.setAllColumnsShowFocus(True)
    table.setSelectionMode(QAbstractItemView.SelectionMode.SingleSelection)
    table.setAccessibleName("Alerts")
    header = table.header()
    header.setStretchLastSection(False)
    for column in range(len(COLUMNS)):
        header.setSectionResizeMode(column, QHeaderView.ResizeMode.ResizeToContents)
    header.setSectionResizeMode(1, QHeaderView.ResizeMode.Stretch)
    return table


class AlertsDialog(QDialog):
    """The rules in a list; Add webhook…, Add email…, Remove and Send test (the selected
    rule's receiver, or every receiver). Every AlertService call runs on a worker thread,
    which never touches a widget: its result comes back as a signal."""

    def __init__(
        self,
        alerts: AlertService,
        tunnels: Callable[[], Sequence[str]] = tuple,
        parent: QWidget | None = None,
    ) -> None:
        super().__init__(parent)
        self.alerts = alerts
        self._tunnels = tunnels
        self.working = False  # a remove or a test under way
        self.rules: list[Row] = []
        self.loaded = False  # the rules were read at least once
        self._reading = 0  # the latest read asked for: an older one's answer is stale
        self.form: AlertForm | None = None
        self.confirm: QMessageBox | None = None
        self._select_next: str | None = None  # the rule just added, once listed
        self.setWindowTitle("Alerts")
        self.setWindowIcon(app_icon())
        self.resize(820, 440)
        intro = QLabel(INTRO)
        intro.setWordWrap(True)
        intro.setTextFormat(Qt.TextFormat.PlainText)
        self.table = rules_table()
        self.table.itemSelectionChanged.connect(self._update)
        self.empty = Note(GREY)
        self.add_webhook = QPushButton("Add &webhook…")
        self.add_webhook.clicked.connect(lambda: self.open_form(WebhookForm))
        self.add_email = QPushButton("Add &email…")
        self.add_email.clicked.connect(lambda: self.open_form(EmailForm))
        self.remove = QPushButton("&Remove…")
        self.remove.clicked.connect(self.confirm_remove)
        self.send_test = QPushButton()
        self.send_test.clicked.connect(self.start_test)
        actions = QHBoxLayout()
        for button in (self.add_webhook, self.add_email, self.remove):
            actions.addWidget(button)
        actions.addStretch(1)
        actions.addWidget(self.send_test)
        self.outcome = Note(GREY)  # what the last action did
        self.answers = QVBoxLayout()  # one sentence per receiver tested, under the outcome
        self.answers.setSpacing(2)
        said = QVBoxLayout()
        said.setSpacing(2)
        said.addWidget(self.outcome)
        said.addLayout(self.answers)
        buttons = QDialogButtonBox(QDialogButtonBox.StandardButton.Close)
        buttons.rejected.connect(self.reject)
        layout = QVBoxLayout(self)
        layout.addWidget(intro)
        layout.addWidget(self.table, 1)
        layout.addWidget(self.empty)
        layout.addLayout(actions)
        layout.addLayout(said)
        layout.addWidget(buttons)
        self._update()
        self.refresh()

    # --- the list -------------------------------------------------------------------------

    def refresh(self) -> None:
        """Read the rules again (off the GUI thread)."""
        self._reading += 1
        reading, alerts = self._reading, self.alerts
        jobs.start(
            "alerts-list",
            lambda _progress: (reading, rules_with_passwords(alerts)),
            self._listed,
            self._unreadable,
        )

    def _alive(self) -> bool:
        return shiboken6.isValid(self)

    def _listed(self, answer: tuple[int, list[Row]]) -> None:
        reading, rows = answer
        if not self._alive() or reading != self._reading:
            return
        chosen = self._select_next or self.selected()
        self._select_next = None
        self.rules, self.loaded = rows, True
        self.table.clear()
        problem = QBrush(readable(QColor(RED), self.palette().color(QPalette.ColorRole.Base)))
        for rule, kept in rows:
            sign_in, bad = sign_in_cell(rule, kept)
            cells = [rule["id"], receiver_cell(rule), tunnel_cell(rule), rule["after_text"]]
            item = QTreeWidgetItem([*cells, sign_in])
            item.setData(0, Qt.ItemDataRole.UserRole, rule["id"])
            item.setToolTip(1, f"{receiver_cell(rule)}, {security_words(rule)}")
            if bad:
                item.setForeground(4, problem)
                item.setToolTip(4, "The keychain holds no password: this alert cannot sign in.")
            self.table.addTopLevelItem(item)
            if rule["id"] == chosen:
                item.setSelected(True)
        self.empty.say("" if rows else NONE_YET, GREY)
        self._update()

    def _unreadable(self, exc: Exception) -> None:
        if self._alive():
            self.loaded = True
            self.empty.say(message_of(exc), RED)

    def selected(self) -> str | None:
        items = self.table.selectedItems()
        return str(items[0].data(0, Qt.ItemDataRole.UserRole)) if items else None

    def select(self, rule_id: str) -> None:
        for i in range(self.table.topLevelItemCount()):
            item = self.table.topLevelItem(i)
            if item is not None:
                item.setSelected(item.data(0, Qt.ItemDataRole.UserRole) == rule_id)

    def _update(self) -> None:
        chosen = self.selected()
        self.send_test.setText("Send &test" if chosen else "Send &test to all")
        self.send_test.setToolTip(
            "Send a test message to the selected alert's receiver, and show its answer"
            if chosen
            else "Send a test message to every receiver, and show each answer"
        )
        idle = not self.working
        self.remove.setEnabled(idle and chosen is not None)
        self.send_test.setEnabled(idle and bool(self.rules))
        for button in (self.add_webhook, self.add_email):
            button.setEnabled(idle)

    # --- adding ---------------------------------------------------------------------------

    def open_form(self, kind: type[WebhookForm] | type[EmailForm]) -> AlertForm:
        """Open an Add form (one at a time, without a nested event loop)."""
        if self.form is not None and shiboken6.isValid(self.form) and self.form.isVisible():
            self.form.raise_()
            return self.form
        form = kind(self.alerts, list(self._tunnels()), self)
        form.setAttribute(Qt.WidgetAttribute.WA_DeleteOnClose)
        form.added.connect(self._added)
        self.form = form
        form.open()
        return form

    def _added(self, rule: dict[str, Any]) -> None:
        self._clear_answers()
        if rule.get("password_stored") is False:
            self.outcome.say(f"{added_sentence(rule)} {password_problem(rule)}", RED)
        else:
            self.outcome.say(added_sentence(rule), GREEN)
        self._select_next = rule["id"]
        self.refresh()

    # --- removing -------------------------------------------------------------------------

    def confirm_remove(self) -> None:
        rule_id = self.selected()
        if rule_id is None or self.working:
            return
        rule = next(r for r, _kept in self.rules if r["id"] == rule_id)
        box = QMessageBox(
            QMessageBox.Icon.Question,
            "Remove alert",
            f"Stop sending alerts to {receiver_cell(rule)}? Its SMTP password leaves the "
            "keychain too, unless another alert uses it."
            if rule.get("user")
            else f"Stop sending alerts to {receiver_cell(rule)}?",
            QMessageBox.StandardButton.Cancel,
            self,
        )
        yes = box.addButton("Remove", QMessageBox.ButtonRole.DestructiveRole)
        box.setDefaultButton(QMessageBox.StandardButton.Cancel)
        box.finished.connect(lambda _code: self._answered(box, yes, rule_id))
        self.confirm = box
        box.open()

    def _answered(self, box: QMessageBox, yes: QPushButton, rule_id: str) -> None:
        self.confirm = None
        if box.clickedButton() is yes:
            self.remove_rule(rule_id)
        box.deleteLater()

    def remove_rule(self, rule_id: str) -> None:
        self._working(f"Removing alert {rule_id}…")
        alerts = self.alerts
        jobs.start(
            "alerts-remove", lambda _progress: alerts.remove(rule_id), self._removed,
            self._failed,
        )  # fmt: skip

    def _removed(self, rule: dict[str, Any]) -> None:
        if not self._alive():
            return
        self._idle()
        self.outcome.say(removed_sentence(rule), GREEN)
        self.refresh()

    # --- testing --------------------------------------------------------------------------

    def start_test(self) -> None:
        if self.working or not self.rules:
            return
        rule_id = self.selected()
        count = 1 if rule_id else len(self.rules)
        receivers = "its receiver" if count == 1 else f"{count} receivers"
        self._working(f"Sending a test message to {receivers}…")
        alerts = self.alerts
        jobs.start(
            "alerts-test", lambda _progress: alerts.test(rule_id), self._tested, self._failed
        )

    def _tested(self, results: list[dict[str, Any]]) -> None:
        if not self._alive():
            return
        self._idle()
        failed = sum(not r["ok"] for r in results)
        if not failed:
            self.outcome.say("The test reached every receiver:" if len(results) > 1 else "")
        else:
            self.outcome.say(
                f"The test did not reach {failed} of {len(results)} receivers:"
                if len(results) > 1
                else "",
                RED,
            )
        for result in results:
            note = Note(GREEN if result["ok"] else RED)
            note.say(answer_sentence(result))
            self.answers.addWidget(note)

    # --- shared ---------------------------------------------------------------------------

    def _working(self, said: str) -> None:
        self.working = True
        self._clear_answers()
        self.outcome.say(said, GREY)
        self._update()

    def _idle(self) -> None:
        self.working = False
        self._update()

    def _failed(self, exc: Exception) -> None:
        if not self._alive():
            return
        self._idle()
        self.outcome.say(message_of(exc), RED)
        self.refresh()  # what is listed may be gone (removed elsewhere)

    def _clear_answers(self) -> None:
        while self.answers.count():
            item = self.answers.takeAt(0)
            widget = item.widget() if item is not None else None
            if widget is not None:
                widget.deleteLater()

    def answer_texts(self) -> list[str]:
        """The sentences the last test showed, in order."""
        found = []
        for i in range(self.answers.count()):
            item = self.answers.itemAt(i)
            widget = item.widget() if item is not None else None
            if isinstance(widget, Note):
                found.append(widget.text())
        return found
