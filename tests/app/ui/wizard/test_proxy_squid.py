"""The wizard sets up a tunnel through a real Squid: the host key and the test go through
it with the password typed, which Finish keeps in the keychain only."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import pytest

from app.storage.paths import AppPaths
from app.storage.store import ProfileStore
from app.ui.wizard.checks import REACHABLE
from app.ui.wizard.proxy_field import Choice
from app.ui.wizard.wizard import Page
from tests.app.services.conftest import MemoryKeychain
from tests.app.ui.wizard.driver import Driver, vendor_command
from tests.conftest import Jumphost
from tests.support.net import echo_handler, tcp_server, wait_until
from tests.support.squid import Squid

pytestmark = [pytest.mark.integration, pytest.mark.usefixtures("no_proxy_variables")]


def test_the_wizard_sets_up_a_tunnel_through_squid(
    make_wizard: Callable[..., Driver], client_key: Path, jumphost: Jumphost, squid: Squid
) -> None:
    keychain = MemoryKeychain()
    driver = make_wizard(keychain=lambda: keychain)
    driver.next(Page.KEY)
    driver.use_key(client_key)
    driver.next(Page.ENDPOINT)
    driver.paste(vendor_command(jumphost))
    proxy = driver.wizard.endpoint_page.proxy
    proxy.choose(Choice.HTTP)
    driver.set_text(proxy.host, "127.0.0.1")
    driver.set_text(proxy.port, str(squid.port))
    driver.set_text(proxy.user, squid.user)
    driver.set_text(proxy.password, squid.password)
    with tcp_server(echo_handler) as target:
        driver.next(Page.TARGET)
        driver.target("127.0.0.1", target.port)
        driver.next(Page.HOST_KEY)
        driver.trust()  # fetched through Squid with the typed password
        assert driver.wizard.hostkey_page.presented is not None
        driver.next(Page.TEST)
        driver.checks_done()
        checks = driver.wizard.checks_page
        assert checks.ready(), {n: r.detail for n, r in checks.results.items()}
        assert checks.results[REACHABLE].detail.startswith(
            f"via HTTP proxy 127.0.0.1:{squid.port} (set for this tunnel)"
        )
        assert checks.proxy_offer.isHidden()
        driver.next(Page.FINISH)
        driver.finish()
    spec = f"http://{squid.user}@127.0.0.1:{squid.port}"
    paths: AppPaths = driver.wizard.draft.paths
    saved = ProfileStore(paths.profiles_file).get(driver.wizard.outcome.name)  # type: ignore[union-attr]
    assert saved.proxy == spec
    assert squid.password not in paths.profiles_file.read_text()
    assert keychain.entries == {f"proxy:{spec}": squid.password}
    assert wait_until(lambda: len(squid.connects()) >= 2, 10), squid.connects()  # key, test
