"""The Host key page: fetch, show, confirm and pin the jumphost's key, as `trust` does."""

from __future__ import annotations

import subprocess
from collections.abc import Callable
from pathlib import Path

from app.core import knownhosts
from app.storage.paths import AppPaths
from app.ui.wizard.widgets import Mark
from app.ui.wizard.wizard import Page
from tests.app.ui.wizard.driver import Driver, reach
from tests.conftest import Jumphost
from tests.support.sshd import Sshd


def keygen_line(pub: Path) -> list[str]:
    """``ssh-keygen -lf``: bits, fingerprint, comment, (TYPE)."""
    out = subprocess.run(["ssh-keygen", "-lf", str(pub)], capture_output=True, text=True)
    return out.stdout.split()


def to_host_key(driver: Driver, key: Path, host: Jumphost) -> None:
    reach(driver, Page.HOST_KEY, key=key, host=host, target_port=5432)
    driver.fetched()


def pinned(paths: AppPaths) -> list[knownhosts.Entry]:
    return list(knownhosts.parse(paths.known_hosts_file.read_text()).entries)


def test_a_first_key_is_shown_confirmed_and_pinned(
    make_wizard: Callable[..., Driver], client_key: Path, jumphost: Jumphost, tk_home: AppPaths
) -> None:
    driver = make_wizard()
    to_host_key(driver, client_key, jumphost)
    page = driver.wizard.hostkey_page
    bits, fingerprint, _comment, kind = keygen_line(Path(f"{jumphost.sshd.host_key}.pub"))
    assert page.fingerprint.text() == fingerprint
    assert page.kind.text() == f"{kind.strip('()')}, {bits} bits"
    assert page.host.text() == f"[127.0.0.1]:{jumphost.port}"
    assert "not been trusted before" in page.verdict.text()
    assert page.light.mark is Mark.PASS
    assert not driver.next_enabled()  # not before the person confirms
    assert not tk_home.known_hosts_file.exists()
    driver.tick(page.confirm)
    driver.next(Page.TEST)
    entries = pinned(tk_home)
    assert [e.patterns for e in entries] == [(f"[127.0.0.1]:{jumphost.port}",)]
    driver.back()
    assert page.verdict.text().startswith(f"Trusted: {fingerprint} is pinned for")
    assert driver.next_enabled()
    driver.next(Page.TEST)  # already pinned: nothing more to confirm
    assert len(pinned(tk_home)) == 1


def test_a_changed_key_is_a_warning_with_both_fingerprints(
    make_wizard: Callable[..., Driver], client_key: Path, jumphost: Jumphost, tk_home: AppPaths
) -> None:
    # a different key was trusted for this jumphost before
    old_type, old_blob = Path(f"{client_key}.pub").read_text().split()[:2]
    pattern = f"[127.0.0.1]:{jumphost.port}"
    tk_home.known_hosts_file.write_text(f"{pattern} {old_type} {old_blob}\n")
    old_fingerprint = keygen_line(Path(f"{client_key}.pub"))[1]
    driver = make_wizard()
    to_host_key(driver, client_key, jumphost)
    page = driver.wizard.hostkey_page
    warning = page.verdict.text()
    assert warning.startswith("Warning: this key differs from the one trusted before")
    assert old_fingerprint in warning and "intercepting" in warning
    assert "c62828" in page.verdict.styleSheet()
    assert page.light.mark is Mark.FAIL
    assert "replace the trusted one" in page.confirm.text()
    assert not driver.next_enabled()
    driver.tick(page.confirm)
    driver.next(Page.TEST)
    entries = pinned(tk_home)
    assert len(entries) == 1 and entries[0].key_blob != old_blob.encode()
    new_blob = Path(f"{jumphost.sshd.host_key}.pub").read_text().split()[1]
    assert knownhosts.format_line(pattern, entries[0].key_type, entries[0].key_blob).endswith(
        new_blob
    )


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
