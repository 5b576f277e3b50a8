"""The Host key page: fetch, show and confirm the jumphost's key; it is pinned on Finish."""

from __future__ import annotations

import subprocess
from collections.abc import Callable
from pathlib import Path

from PySide6.QtWidgets import QWizard

from app.core import knownhosts
from app.storage.paths import AppPaths
from app.ui.wizard.widgets import RED, Mark
from app.ui.wizard.wizard import Page
from tests.app.ui.wizard.driver import Driver, reach
from tests.conftest import Jumphost
from tests.support.net import echo_handler, tcp_server
from tests.support.sshd import Sshd


def keygen_line(pub: Path) -> list[str]:
    """``ssh-keygen -lf``: bits, fingerprint, comment, (TYPE)."""
    out = subprocess.run(["ssh-keygen", "-lf", str(pub)], capture_output=True, text=True)
    return out.stdout.split()


def to_host_key(driver: Driver, key: Path, host: Jumphost, target_port: int = 5432) -> None:
    reach(driver, Page.HOST_KEY, key=key, host=host, target_port=target_port)
    driver.fetched()


def pinned(paths: AppPaths) -> list[knownhosts.Entry]:
    return list(knownhosts.parse(paths.known_hosts_file.read_text()).entries)


def test_a_first_key_is_shown_confirmed_and_pinned_on_finish(
    make_wizard: Callable[..., Driver], client_key: Path, jumphost: Jumphost, tk_home: AppPaths
) -> None:
    with tcp_server(echo_handler) as target:
        driver = make_wizard()
        to_host_key(driver, client_key, jumphost, target.port)
        page = driver.wizard.hostkey_page
        bits, fingerprint, _comment, kind = keygen_line(Path(f"{jumphost.sshd.host_key}.pub"))
        assert page.fingerprint.text() == fingerprint
        assert page.kind.text() == f"{kind.strip('()')}, {bits} bits"
        assert page.host.text() == f"[127.0.0.1]:{jumphost.port}"
        assert "not been trusted before" in page.verdict.text()
        assert page.light.mark is Mark.PASS
        assert not driver.next_enabled()  # not before the person confirms
        driver.tick(page.confirm)
        assert "when you press Finish" in page.when.text()
        driver.next(Page.TEST)
        driver.checks_done()
        # the test used the key the person trusted; nothing is written before Finish
        assert driver.wizard.checks_page.rows[3].mark is Mark.PASS
        assert not tk_home.known_hosts_file.exists()
        driver.back()
        assert page.confirm.isChecked() and driver.next_enabled()
        driver.next(Page.TEST)
        driver.checks_done()
        driver.next(Page.FINISH)
        driver.finish()
    entries = pinned(tk_home)
    assert [e.patterns for e in entries] == [(f"[127.0.0.1]:{jumphost.port}",)]


def trusted_before(paths: AppPaths, client_key: Path, host: Jumphost) -> bytes:
    """Pin another key for ``host`` (as if the vendor changed theirs since); the file's bytes."""
    old_type, old_blob = Path(f"{client_key}.pub").read_text().split()[:2]
    pattern = f"[127.0.0.1]:{host.port}"
    paths.known_hosts_file.write_text(f"{pattern} {old_type} {old_blob}\n")
    return paths.known_hosts_file.read_bytes()


def test_a_changed_key_is_a_warning_with_both_fingerprints(
    make_wizard: Callable[..., Driver], client_key: Path, jumphost: Jumphost, tk_home: AppPaths
) -> None:
    trusted_before(tk_home, client_key, jumphost)
    old_fingerprint = keygen_line(Path(f"{client_key}.pub"))[1]
    driver = make_wizard()
    to_host_key(driver, client_key, jumphost)
    page = driver.wizard.hostkey_page
    warning = page.verdict.text()
    assert warning.startswith("Warning: this key differs from the one trusted before")
    assert old_fingerprint in warning and "intercepting" in warning
    assert RED[1:] in page.verdict.styleSheet()
    assert page.light.mark is Mark.FAIL
    assert "replace the trusted one" in page.confirm.text()
    assert not driver.next_enabled()


def test_replacing_a_changed_key_waits_for_finish(
    make_wizard: Callable[..., Driver], client_key: Path, jumphost: Jumphost, tk_home: AppPaths
) -> None:
    """Ticking "replace the trusted one" changes nothing a running tunnel could see (it
    reconnects when known_hosts changes): the new key is pinned on Finish."""
    before = trusted_before(tk_home, client_key, jumphost)
    with tcp_server(echo_handler) as target:
        driver = make_wizard()
        to_host_key(driver, client_key, jumphost, target.port)
        page = driver.wizard.hostkey_page
        driver.tick(page.confirm)
        driver.next(Page.TEST)
        driver.checks_done()
        assert driver.wizard.checks_page.rows[3].mark is Mark.PASS  # tested with the new key
        assert tk_home.known_hosts_file.read_bytes() == before
        driver.next(Page.FINISH)
        assert tk_home.known_hosts_file.read_bytes() == before
        driver.finish()
    entries = pinned(tk_home)
    new_blob = Path(f"{jumphost.sshd.host_key}.pub").read_text().split()[1]
    assert len(entries) == 1
    pattern = f"[127.0.0.1]:{jumphost.port}"
    line = knownhosts.format_line(pattern, entries[0].key_type, entries[0].key_blob)
    assert line.endswith(new_blob)


def test_cancel_after_replacing_a_changed_key_keeps_the_old_one(
    make_wizard: Callable[..., Driver], client_key: Path, jumphost: Jumphost, tk_home: AppPaths
) -> None:
    before = trusted_before(tk_home, client_key, jumphost)
    driver = make_wizard()
    to_host_key(driver, client_key, jumphost)
    driver.tick(driver.wizard.hostkey_page.confirm)
    driver.next(Page.TEST)
    driver.checks_done()
    driver.click(driver.button(QWizard.WizardButton.CancelButton))
    box = driver.wizard.discard_box  # the key copied in on the Key page: keep or delete
    if box is not None:
        driver.wait(box.isVisible)
        assert driver.wizard.keep_key is not None
        driver.click(driver.wizard.keep_key)
    driver.wait(lambda: not driver.wizard.isVisible())
    assert tk_home.known_hosts_file.read_bytes() == before


def test_a_revoked_key_cannot_be_trusted(
    make_wizard: Callable[..., Driver], client_key: Path, jumphost: Jumphost, tk_home: AppPaths
) -> None:
    key_type, blob = Path(f"{jumphost.sshd.host_key}.pub").read_text().split()[:2]
    tk_home.known_hosts_file.write_text(f"@revoked * {key_type} {blob}\n")
    driver = make_wizard()
    to_host_key(driver, client_key, jumphost)
    page = driver.wizard.hostkey_page
    assert "@revoked" in page.verdict.text()
    assert not page.confirm.isVisible() and not driver.next_enabled()


def test_an_unreachable_jumphost_is_explained_and_can_be_fetched_again(
    make_wizard: Callable[..., Driver], client_key: Path, tmp_path: Path
) -> None:
    sshd = Sshd(tmp_path / "late")  # configured, not started yet
    try:
        late = Jumphost(sshd, remote_port=58115, key=client_key)
        driver = make_wizard()
        to_host_key(driver, client_key, late)
        page = driver.wizard.hostkey_page
        assert page.status.text().startswith(
            f"Cannot reach the jumphost 127.0.0.1 port {sshd.port}"
        )
        assert page.light.mark is Mark.FAIL and not driver.next_enabled()
        sshd.start()
        driver.click(page.again)
        driver.fetched()
        assert page.fingerprint.text().startswith("SHA256:")
    finally:
        sshd.stop()
