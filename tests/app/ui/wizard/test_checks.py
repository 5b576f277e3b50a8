"""The Test page: a row per check, remedies under failures, Run again, and when Next opens."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

from PySide6.QtWidgets import QApplication, QWizard

from app.storage.paths import AppPaths
from app.storage.store import ProfileStore
from app.ui.wizard.widgets import AMBER, Mark
from app.ui.wizard.wizard import Page
from tests.app.ui.wizard.driver import Driver, reach
from tests.conftest import Jumphost
from tests.support.net import TcpServer, echo_handler, free_port, tcp_server


def marks(driver: Driver) -> list[Mark]:
    return [row.mark for row in driver.wizard.checks_page.rows.values()]


def test_a_stopped_target_is_a_red_cross_with_its_remedy_and_next_stays_off(
    make_wizard: Callable[..., Driver], client_key: Path, jumphost: Jumphost
) -> None:
    port = free_port()  # the target is down
    driver = make_wizard()
    reach(driver, Page.TEST, key=client_key, host=jumphost, target_port=port)
    driver.checks_done()
    page = driver.wizard.checks_page
    assert marks(driver) == [Mark.PASS] * 5 + [Mark.FAIL, Mark.SKIPPED]
    row = page.rows[6]
    assert "did not accept a TCP connection" in row.text.text()
    assert row.remedy.isVisible()
    assert row.remedy.text() == (
        "→ Start the database (or service), or fix the target host and port."
    )
    assert not page.rows[7].remedy.isVisible()
    assert page.summary.text().startswith("1 of 7 checks failed")
    assert not driver.next_enabled()
    assert page.key_actions.isHidden()  # only a key not accepted yet may be saved anyway

    # the person starts the database, then runs the test again
    server = TcpServer(echo_handler, port=port)
    try:
        driver.click(page.again)
        assert not page.again.isEnabled() and not driver.next_enabled()
        driver.checks_done()
    finally:
        server.stop()
    assert marks(driver) == [Mark.PASS] * 6 + [Mark.SKIPPED]
    assert not page.rows[6].remedy.isVisible()


def test_only_end_to_end_skipped_warns_and_lets_you_go_on(
    make_wizard: Callable[..., Driver], client_key: Path, jumphost: Jumphost
) -> None:
    with tcp_server(echo_handler) as target:
        driver = make_wizard()
        reach(driver, Page.TEST, key=client_key, host=jumphost, target_port=target.port)
        driver.checks_done()
    page = driver.wizard.checks_page
    assert marks(driver) == [Mark.PASS] * 6 + [Mark.SKIPPED]
    summary = page.summary.text()
    assert "the end-to-end check was skipped" in summary and "test connection" in summary
    assert "vendors usually forbid it" in page.rows[7].text.text()
    assert AMBER[1:] in page.summary.styleSheet()  # amber, not red
    assert driver.next_enabled()


def to_test_with_a_new_key(driver: Driver, host: Jumphost, target_port: int) -> None:
    """A key made here and never pasted at the vendor, to the Test page's result."""
    driver.next(Page.KEY)
    driver.create_key()
    driver.next()
    driver.paste(
        f"ssh -R {host.remote_port}:127.0.0.1:{target_port} "
        f"{host.sshd.user}@127.0.0.1 -p {host.port}"
    )
    driver.next()
    driver.next()
    driver.trust()
    driver.next(Page.TEST)
    driver.checks_done()


def test_a_key_the_vendor_has_not_added_fails_authentication(
    make_wizard: Callable[..., Driver], jumphost: Jumphost
) -> None:
    with tcp_server(echo_handler) as target:
        driver = make_wizard()
        to_test_with_a_new_key(driver, jumphost, target.port)
    assert marks(driver) == [Mark.PASS] * 3 + [Mark.FAIL, Mark.SKIPPED, Mark.PASS, Mark.SKIPPED]
    remedy = driver.wizard.checks_page.rows[4].remedy.text()
    assert remedy.startswith("→ Paste the public key into the vendor's SSH public key field")


def test_a_key_not_added_yet_can_be_copied_and_saved_to_keep_trying(
    make_wizard: Callable[..., Driver], jumphost: Jumphost, tk_home: AppPaths
) -> None:
    completed: list[tuple[str, bool, bool]] = []
    with tcp_server(echo_handler) as target:
        driver = make_wizard()
        driver.wizard.completed.connect(lambda *args: completed.append(args))
        to_test_with_a_new_key(driver, jumphost, target.port)
        page = driver.wizard.checks_page
        assert page.key_actions.isVisible()  # next to the authentication row
        assert "does not accept the key yet" in page.summary.text()
        assert not driver.next_enabled()  # Next stays off: only this button goes on
        driver.click(page.copy_key)
        assert QApplication.clipboard().text() == driver.wizard.key_page.key_box.line()
        assert page.copied.text() == "The public key is on the clipboard."

        driver.click(page.keep_trying)
        driver.wait(lambda: driver.page_id is Page.FINISH)
        finish = driver.wizard.finish_page
        assert "keeps trying until they add it" in finish.note.text()
        assert finish.connect_now.isChecked()
        finish_button = driver.button(QWizard.WizardButton.FinishButton)
        assert finish_button.text() == "&Save and keep trying"
        driver.wait(lambda: finish.taken is not None)
        driver.finish()
    assert completed == [("tunnel", True, True)]
    assert "tunnel" in ProfileStore(tk_home.profiles_file).load()


def test_a_tunnel_the_app_already_runs_is_reported_as_holding_the_port(
    make_wizard: Callable[..., Driver], client_key: Path, jumphost: Jumphost
) -> None:
    with tcp_server(echo_handler) as target:
        driver = make_wizard(running=lambda name: 4242 if name == "tunnel" else None)
        reach(driver, Page.TEST, key=client_key, host=jumphost, target_port=target.port)
        driver.checks_done()
    assert "held by this tunnel, running now (process 4242)" in (
        driver.wizard.checks_page.rows[5].text.text()
    )


def test_going_back_and_on_during_a_run_waits_for_it_then_runs_once_more(
    make_wizard: Callable[..., Driver], client_key: Path, jumphost: Jumphost
) -> None:
    with tcp_server(echo_handler) as target:
        driver = make_wizard()
        reach(driver, Page.TEST, key=client_key, host=jumphost, target_port=target.port)
        page = driver.wizard.checks_page
        assert page.testing
        driver.back()
        driver.fetched()
        driver.next(Page.TEST)
        driver.checks_done()
    # one set of results, from a run that did not fight the first for the port
    assert marks(driver) == [Mark.PASS] * 6 + [Mark.SKIPPED]
    assert driver.next_enabled()
