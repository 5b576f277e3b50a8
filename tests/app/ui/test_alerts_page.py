"""Settings → Alerts: rules added through the forms land in alerts.toml (a password in the
keychain only), are removed, and Send test shows what real receivers on loopback answered,
the GUI thread never waiting for them."""

from __future__ import annotations

import itertools
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
import shiboken6
from PySide6.QtCore import QTimer
from PySide6.QtWidgets import QMessageBox
from pytestqt.qtbot import QtBot

from app.errors import KeyringUnavailable
from app.platform.autostart import XdgAutostart
from app.platform.keychain import NullKeychain
from app.services.api import Services
from app.storage.paths import AppPaths
from app.ui.alerts import AlertsDialog
from app.ui.alerts.forms import EmailForm, WebhookForm
from app.ui.application import Shell
from tests.app.services.conftest import MemoryKeychain
from tests.app.ui.test_application import quit_and_wait
from tests.app.ui.test_tray import action
from tests.support.net import free_port
from tests.support.receivers import SECRET_PATH, WebhookReceiver, webhook

__all__ = ["webhook"]  # the fixture, used by name

PASSWORD = "smtp-Pw-93kq"
URL = "https://hooks.example.com/services/T0/B0/sEcReT"
WAIT_MS = 10_000


@pytest.fixture
def keychain() -> MemoryKeychain:
    return MemoryKeychain()


@pytest.fixture
def services(tk_home: AppPaths, keychain: MemoryKeychain) -> Services:
    return Services(tk_home, lambda: keychain)


def opened(qtbot: QtBot, services: Services) -> AlertsDialog:
    dialog = AlertsDialog(services.alerts, lambda: ["db", "crm"])
    qtbot.addWidget(dialog)
    dialog.show()
    listed(qtbot, dialog)
    return dialog


def listed(qtbot: QtBot, dialog: AlertsDialog) -> None:
    """Wait until the dialog lists what the file holds."""
    want = [rule["id"] for rule in dialog.alerts.list()]
    qtbot.waitUntil(lambda: dialog.loaded, timeout=WAIT_MS)
    qtbot.waitUntil(lambda: [r["id"] for r, _kept in dialog.rules] == want, timeout=WAIT_MS)
    qtbot.waitUntil(lambda: dialog.table.topLevelItemCount() == len(want), timeout=WAIT_MS)


def cells(dialog: AlertsDialog) -> list[list[str]]:
    table = dialog.table
    return [
        [table.topLevelItem(i).text(c) for c in range(table.columnCount())]
        for i in range(table.topLevelItemCount())
    ]


def add_through(qtbot: QtBot, form: WebhookForm | EmailForm) -> None:
    """Click Add and wait until the form closed (added) or said why not."""
    form.add_button.click()
    qtbot.waitUntil(lambda: not form.working, timeout=WAIT_MS)


@pytest.fixture
def slow_webhook() -> Iterator[WebhookReceiver]:
    with WebhookReceiver() as receiver:
        receiver.delay = 2.0
        yield receiver


def test_a_webhook_added_through_the_form_is_in_alerts_toml(
    qtbot: QtBot, services: Services
) -> None:
    dialog = opened(qtbot, services)
    assert dialog.empty.text() == "No alerts yet: add a webhook or an email address."
    assert not dialog.send_test.isEnabled() and not dialog.remove.isEnabled()
    form = dialog.open_form(WebhookForm)
    assert [form.tunnel.itemText(i) for i in range(form.tunnel.count())] == [
        "Every tunnel", "db", "crm",
    ]  # fmt: skip
    form.fields["url"].setText(URL)
    form.tunnel.setCurrentText("db")
    form.after.setText("5m")
    add_through(qtbot, form)
    qtbot.waitUntil(lambda: dialog.table.topLevelItemCount() == 1, timeout=WAIT_MS)
    qtbot.waitUntil(lambda: not shiboken6.isValid(form), timeout=WAIT_MS)  # closed, gone
    text = services.paths.alerts_file.read_text()
    assert URL in text and 'tunnel = "db"' in text and "after = 300" in text
    assert cells(dialog) == [["1", "Webhook https://hooks.example.com/…", "db", "5m", "—"]]
    assert dialog.outcome.text() == (
        "Alert 1 added: the webhook https://hooks.example.com/…, about tunnel db once down 5m. "
        "Send a test to see that it arrives."
    )
    assert dialog.selected() == "1" and dialog.send_test.text() == "Send &test"
    assert dialog.empty.isHidden()


def test_a_bad_address_is_a_sentence_beside_its_field_and_nothing_is_saved(
    qtbot: QtBot, services: Services
) -> None:
    dialog = opened(qtbot, services)
    form = dialog.open_form(WebhookForm)
    form.fields["url"].setText("hooks.example.com/services/T0/B0/sEcReT")
    add_through(qtbot, form)
    assert form.isVisible()
    assert form.notes["url"].text() == "Give an https:// (or http://) address."
    assert form.notes["url"].isVisible() and "sEcReT" not in form.notes["url"].text()
    assert not services.paths.alerts_file.exists()
    form.fields["url"].setText(URL)
    form.after.setText("soon")
    add_through(qtbot, form)
    assert form.notes["url"].text() == "" and not form.notes["url"].isVisible()
    assert form.notes["after"].text().startswith("'soon' is not a length of time")
    assert not services.paths.alerts_file.exists()
    form.reject()
    email = dialog.open_form(EmailForm)
    email.fields["address"].setText("ops@example.com")
    email.fields["smtp"].setText("smtp.example.com:587")
    email.password.setText(PASSWORD)  # but no user to sign in as
    add_through(qtbot, email)
    assert email.notes["user"].text() == "A password needs the user it signs in as."
    email.fields["user"].setText("alice")
    email.tls.setCurrentIndex(email.tls.findData("none"))
    add_through(qtbot, email)
    assert email.notes["tls"].text() == (
        "A password is never sent unencrypted to another machine: choose STARTTLS or TLS "
        "as Security."
    )
    assert not services.paths.alerts_file.exists()
    assert dialog.table.topLevelItemCount() == 0


def test_an_email_password_goes_to_the_keychain_and_not_the_file(
    qtbot: QtBot, services: Services, keychain: MemoryKeychain
) -> None:
    dialog = opened(qtbot, services)
    form = dialog.open_form(EmailForm)
    form.fields["address"].setText("ops@example.com")
    form.fields["smtp"].setText("smtp.example.com:587")
    form.fields["user"].setText("alice")
    form.password.setText(PASSWORD)
    add_through(qtbot, form)
    password = form.password
    qtbot.waitUntil(lambda: dialog.table.topLevelItemCount() == 1, timeout=WAIT_MS)
    # not kept in a widget once handed over: cleared, and the form is gone
    qtbot.waitUntil(lambda: not shiboken6.isValid(password), timeout=WAIT_MS)
    assert keychain.entries == {"smtp:alice@smtp.example.com:587": PASSWORD}
    text = services.paths.alerts_file.read_text()
    assert 'to = "ops@example.com"' in text and PASSWORD not in text
    assert cells(dialog) == [[
        "1", "Email to ops@example.com (through smtp.example.com:587)", "Every tunnel", "2m",
        "alice",
    ]]  # fmt: skip
    assert dialog.outcome.text().startswith("Alert 1 added: ops@example.com")


def test_a_password_the_keychain_could_not_keep_is_said(qtbot: QtBot, tk_home: AppPaths) -> None:
    keyless = Services(tk_home, lambda: NullKeychain(KeyringUnavailable("no keychain here")))
    dialog = opened(qtbot, keyless)
    form = dialog.open_form(EmailForm)
    form.fields["address"].setText("ops@example.com")
    form.fields["smtp"].setText("smtp.example.com:587")
    form.fields["user"].setText("alice")
    form.password.setText(PASSWORD)
    add_through(qtbot, form)
    qtbot.waitUntil(lambda: dialog.table.topLevelItemCount() == 1, timeout=WAIT_MS)
    said = dialog.outcome.text()
    assert "The SMTP password was not kept (" in said and "alert 1 cannot sign in" in said
    assert PASSWORD not in said and PASSWORD not in keyless.paths.alerts_file.read_text()
    assert cells(dialog)[0][4] == "alice: no password kept"


def test_remove_asks_then_removes_the_selected_rule(qtbot: QtBot, services: Services) -> None:
    services.alerts.add_webhook(URL)
    services.alerts.add_email("ops@example.com", "smtp.example.com:587", user="alice")
    dialog = opened(qtbot, services)
    dialog.select("1")
    assert dialog.remove.isEnabled()
    dialog.remove.click()
    box = dialog.confirm
    assert isinstance(box, QMessageBox) and box.isVisible()
    assert box.text() == "Stop sending alerts to Webhook https://hooks.example.com/…?"
    (remove,) = [b for b in box.buttons() if b.text() == "Remove"]
    remove.click()
    qtbot.waitUntil(lambda: dialog.table.topLevelItemCount() == 1, timeout=WAIT_MS)
    assert [rule["id"] for rule in services.alerts.list()] == ["2"]
    assert dialog.outcome.text() == (
        "Alert 1 removed: the webhook https://hooks.example.com/… gets no more alerts."
    )
    assert URL not in services.paths.alerts_file.read_text()


def test_send_test_shows_what_a_real_receiver_answered(
    qtbot: QtBot, services: Services, webhook: WebhookReceiver
) -> None:
    services.alerts.add_webhook(webhook.url)
    dialog = opened(qtbot, services)
    assert dialog.send_test.text() == "Send &test to all"
    dialog.send_test.click()
    qtbot.waitUntil(lambda: bool(dialog.answer_texts()), timeout=WAIT_MS)
    (said,) = dialog.answer_texts()
    hook = f"http://127.0.0.1:{webhook.port}/…"
    assert said == f"Alert 1: the webhook {hook} answered HTTP 200 OK: ok"
    assert SECRET_PATH not in said
    (post,) = webhook.wait_for(1, 5)
    assert post.body["kind"] == "test" and post.path.startswith(SECRET_PATH)


def test_send_test_to_a_receiver_that_is_down_says_why(qtbot: QtBot, services: Services) -> None:
    port = free_port()
    services.alerts.add_webhook(f"http://127.0.0.1:{port}/hook", tunnel="db")
    services.alerts.add_webhook(f"http://127.0.0.1:{free_port()}/other")
    dialog = opened(qtbot, services)
    dialog.select("1")
    assert dialog.send_test.text() == "Send &test"  # the selected rule's receiver only
    dialog.send_test.click()
    qtbot.waitUntil(lambda: bool(dialog.answer_texts()), timeout=WAIT_MS)
    assert dialog.answer_texts() == [
        f"Alert 1: the test did not reach the webhook http://127.0.0.1:{port}/…: it could "
        "not be reached: Connection refused."
    ]
    assert dialog.send_test.isEnabled()


def test_the_gui_thread_never_waits_for_a_slow_receiver(
    qtbot: QtBot, services: Services, slow_webhook: WebhookReceiver
) -> None:
    services.alerts.add_webhook(slow_webhook.url)
    dialog = opened(qtbot, services)
    started = time.monotonic()
    dialog.send_test.click()
    assert time.monotonic() - started < 0.5  # the click returned at once
    assert dialog.outcome.text() == "Sending a test message to its receiver…"
    assert not dialog.send_test.isEnabled()
    ticks: list[float] = []
    timer = QTimer()
    timer.timeout.connect(lambda: ticks.append(time.monotonic()))
    timer.start(50)
    try:
        qtbot.waitUntil(lambda: len(ticks) >= 10, timeout=1_500)  # events kept flowing
        assert dialog.answer_texts() == []  # while the receiver still holds its answer
        dialog.resize(dialog.width() + 10, dialog.height())  # and the dialog still works
        qtbot.waitUntil(lambda: bool(dialog.answer_texts()), timeout=WAIT_MS)
    finally:
        timer.stop()
    waited = time.monotonic() - started
    assert waited >= 1.9
    assert "answered HTTP 200 OK" in dialog.answer_texts()[0]
    gaps = [b - a for a, b in itertools.pairwise(ticks)]
    assert max(gaps) < 0.5, max(gaps)  # never a stall while the receiver held on


def test_the_tray_entry_opens_one_alerts_dialog(
    qtbot: QtBot, tk_home: AppPaths, tmp_path: Path, keychain: MemoryKeychain
) -> None:
    shell = Shell(
        tk_home,
        autostart=XdgAutostart(tmp_path),
        tray_available=lambda: True,
        keychain=lambda: keychain,
    )
    shell.start(quiet=True)
    try:
        entry = action(shell.tray.menu, "Alerts…")
        entry.trigger()
        entry.trigger()  # the same dialog, brought forward
        (dialog,) = [d for d in shell.dialogs if isinstance(d, AlertsDialog)]
        assert dialog.isVisible() and dialog.alerts is shell.services.alerts
        qtbot.waitUntil(dialog.empty.isVisible, timeout=WAIT_MS)
        dialog.reject()
        assert not any(isinstance(d, AlertsDialog) for d in shell.dialogs)
    finally:
        quit_and_wait(qtbot, shell)
