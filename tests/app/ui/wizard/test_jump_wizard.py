"""The wizard through a real OpenSSH jump host: both hops' keys shown and trusted (the jump
host's first), the test going through the chain, both pinned on Finish, and a tunnel that
connects with what was saved."""

from __future__ import annotations

import base64
from collections.abc import Callable
from pathlib import Path

import pytest

from app import ssh
from app.core import knownhosts
from app.engine.checks import Outcome
from app.engine.tunnel import Tunnel
from app.storage.paths import AppPaths
from app.storage.store import ProfileStore
from app.ui.wizard import WizardPrefill
from app.ui.wizard.wizard import Page
from tests.app.engine.test_proxy_tunnel import forwarding_works
from tests.app.ui.test_system_proxy import PROXY_VARIABLES
from tests.app.ui.wizard.driver import Driver, authorize, vendor_command
from tests.conftest import EventLog, Jumphost
from tests.support.jump_sshd import JumpHost, running_jump_host
from tests.support.net import echo_handler, tcp_server, wait_until

pytestmark = pytest.mark.integration


@pytest.fixture(autouse=True)
def _no_proxy_variables(monkeypatch: pytest.MonkeyPatch) -> None:
    for name in PROXY_VARIABLES:
        monkeypatch.delenv(name, raising=False)


def _fingerprint(host_key: Path) -> str:
    blob = Path(f"{host_key}.pub").read_text().split()[1]
    return ssh.fingerprint_of_blob(base64.b64decode(blob))


def _to_host_key_page(driver: Driver, host: Jumphost, jump: JumpHost, key: Path, port: int) -> None:
    driver.next(Page.KEY)
    driver.use_key(key)
    driver.next(Page.ENDPOINT)
    driver.paste(f"{vendor_command(host)} -J {jump.spec}")
    assert driver.wizard.endpoint_page.edits["jump"].text() == jump.spec
    driver.next(Page.TARGET)
    driver.target("127.0.0.1", port)
    driver.next(Page.HOST_KEY)
    driver.fetched()


def test_a_run_through_a_jump_host_trusts_both_hops_and_the_tunnel_connects(
    make_wizard: Callable[..., Driver],
    open_jumphost: Jumphost,
    client_key: Path,
    tk_home: AppPaths,
    tmp_path: Path,
    events: EventLog,
) -> None:
    host = open_jumphost
    authorize(host, str(client_key), end_to_end=True)
    with (
        running_jump_host(tmp_path / "jump", client_key, host.port) as jump,
        tcp_server(echo_handler) as target,
    ):
        driver = make_wizard(prefill=WizardPrefill(name="via-bastion"))
        wizard = driver.wizard
        _to_host_key_page(driver, host, jump, client_key, target.port)

        page = wizard.hostkey_page
        # the jump host's key first: shown, asked, and Next waits for the jumphost's
        assert page.at_hop, page.status.text()
        assert page.role.text() == "Jump host:"
        assert page.presented is not None
        assert page.presented.label == f"127.0.0.1:{jump.port}"
        assert page.fingerprint.text() == _fingerprint(jump.sshd.host_key)
        assert "jump host 1 of 1" in page.status.text()
        assert page.confirm.isVisible() and not driver.next_enabled()
        driver.tick(page.confirm)
        driver.wait(lambda: not page.busy and page.presented is not None and not page.at_hop)

        # then the jumphost's, fetched through the jump host
        assert page.role.text() == "Jumphost:"
        assert page.fingerprint.text() == _fingerprint(host.sshd.host_key)
        through = page.through.text()
        assert f"Jump host 1, 127.0.0.1:{jump.port}: {_fingerprint(jump.sshd.host_key)}" in through
        assert "trusted by you (on Finish)" in through
        assert "Accepted publickey" in jump.sshd.log()  # we logged in there with our key
        assert not driver.next_enabled()
        driver.tick(page.confirm)
        driver.next(Page.TEST)
        assert [k.label for k in wizard.draft.pending_pins] == [
            f"127.0.0.1:{jump.port}",
            f"127.0.0.1:{host.port}",
        ]
        assert not tk_home.known_hosts_file.exists()  # pinned on Finish only

        checks = wizard.checks_page
        driver.checks_done(timeout_ms=90_000)
        reached = checks.results[2]
        assert reached.status is Outcome.PASS, reached.detail
        assert reached.detail.startswith(f"via jump host 127.0.0.1:{jump.port}"), reached.detail
        assert checks.ready(), [(r.number, r.status, r.detail) for r in checks.results.values()]
        driver.next(Page.FINISH)
        driver.wait(lambda: wizard.finish_page.taken is not None)
        assert f"Jump hosts: {jump.spec}" in wizard.finish_page.summary.text()
        driver.finish()

        profile = ProfileStore(tk_home.profiles_file).get("via-bastion")
        assert profile.jump == jump.spec
        pinned = knownhosts.parse(tk_home.known_hosts_file.read_text()).entries
        assert {e.patterns for e in pinned} == {
            (f"[127.0.0.1]:{jump.port}",),
            (f"[127.0.0.1]:{host.port}",),
        }

        tunnel = Tunnel(
            profile, ssh.load_private_key(profile.key_path), tk_home.known_hosts_file, events
        )
        tunnel.start()
        try:
            assert wait_until(lambda: forwarding_works(host), 30), tunnel.detail
        finally:
            assert tunnel.stop()


def test_a_declined_jump_host_key_goes_no_further(
    make_wizard: Callable[..., Driver],
    open_jumphost: Jumphost,
    client_key: Path,
    tmp_path: Path,
) -> None:
    """Until the jump host's key is trusted nothing logs in there, and Next stays off."""
    host = open_jumphost
    authorize(host, str(client_key), end_to_end=True)
    with (
        running_jump_host(tmp_path / "jump", client_key, host.port) as jump,
        tcp_server(echo_handler) as target,
    ):
        driver = make_wizard()
        _to_host_key_page(driver, host, jump, client_key, target.port)
        page = driver.wizard.hostkey_page
        assert page.at_hop
        assert "Accepted publickey" not in jump.sshd.log()
        driver.click(page.again)  # fetched again: still the jump host's, still asked
        driver.fetched()
        assert page.at_hop and page.confirm.isVisible() and not page.confirm.isChecked()
        assert not driver.next_enabled()
