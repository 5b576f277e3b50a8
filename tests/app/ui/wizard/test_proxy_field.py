"""The Endpoint page's Proxy field: each choice as the profile keeps it, a pasted ProxyCommand,
the password into the keychain only, and the Test page's offer when the jumphost is not
reached directly."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import pytest
from pytestqt.qtbot import QtBot

from app.core.profile import profile_from_dict
from app.errors import InvalidField, TunnelkeeperError
from app.services.api import Services
from app.storage.paths import AppPaths
from app.storage.store import ProfileStore
from app.ui.wizard.checks import REACHABLE
from app.ui.wizard.finish import save_all
from app.ui.wizard.proxy_field import Choice, ProxyField
from app.ui.wizard.widgets import Mark
from app.ui.wizard.wizard import Page
from tests.app.services.conftest import MemoryKeychain
from tests.app.ui.test_system_proxy import PROXY_VARIABLES
from tests.app.ui.wizard.driver import Driver, no_keychain, vendor_command
from tests.conftest import Jumphost

PASTE = (
    "ssh -N -R 15432:127.0.0.1:5432 "
    "-o 'ProxyCommand nc -X connect -x 10.0.0.5:3128 %h %p' acme@vendor.example"
)


@pytest.fixture(autouse=True)
def _no_proxy_variables(monkeypatch: pytest.MonkeyPatch) -> None:
    for name in PROXY_VARIABLES:
        monkeypatch.delenv(name, raising=False)


@pytest.fixture
def field(qtbot: QtBot) -> ProxyField:
    made = ProxyField()
    qtbot.addWidget(made)
    made.show()
    return made


def fill(field: ProxyField, choice: Choice, host: str = "", port: str = "", user: str = "") -> None:
    field.choose(choice)
    field.host.setText(host)
    field.port.setText(port)
    field.user.setText(user)


def test_each_choice_is_the_profiles_proxy_text(field: ProxyField) -> None:
    assert field.value() == ("system", None)  # the default, as a profile's
    assert field.details.isHidden()
    fill(field, Choice.NONE)
    assert field.value() == ("none", None)
    fill(field, Choice.HTTP, "10.0.0.5", "3128", "alice")
    assert field.details.isVisible()
    assert field.value() == ("http://alice@10.0.0.5:3128", None)
    fill(field, Choice.SOCKS5, "socks.corp", "1080")
    assert field.value() == ("socks5://socks.corp:1080", None)
    field.set_spec("socks5h://bob@10.0.0.7:1080")  # an edited tunnel's: the h is kept
    assert field.choice is Choice.SOCKS5
    assert field.value() == ("socks5h://bob@10.0.0.7:1080", None)
    field.set_spec("https://10.0.0.5:8443")
    assert field.value() == ("https://10.0.0.5:8443", None)


def test_a_password_is_handed_apart_and_needs_a_user(field: ProxyField) -> None:
    fill(field, Choice.HTTP, "10.0.0.5", "3128", "alice")
    field.password.setText("s3cret")
    spec, password = field.value()
    assert (spec, password) == ("http://alice@10.0.0.5:3128", "s3cret")
    field.user.clear()
    with pytest.raises(InvalidField, match="needs the proxy user"):
        field.value()
    fill(field, Choice.HTTP, "", "3128")
    with pytest.raises(InvalidField, match="host"):
        field.spec()
    fill(field, Choice.HTTP, "10.0.0.5", "")
    with pytest.raises(InvalidField, match="port"):
        field.spec()


def test_tls_to_the_proxy_is_a_tick_for_an_http_proxy(field: ProxyField) -> None:
    fill(field, Choice.HTTP, "proxy.corp", "8443", "CORP\\alice")
    assert field.tls.isVisible() and not field.tls.isChecked()
    field.tls.setChecked(True)
    assert field.value() == ("https://CORP%5Calice@proxy.corp:8443", None)
    field.tls.setChecked(False)
    assert field.value()[0] == "http://CORP%5Calice@proxy.corp:8443"
    field.set_spec("https://10.0.0.5:8443")  # an edited tunnel's shows ticked
    assert field.tls.isChecked()
    fill(field, Choice.SOCKS5, "socks.corp", "1080")
    assert field.tls.isHidden()  # SOCKS5 has no TLS of its own
    assert field.value() == ("socks5://socks.corp:1080", None)


def test_the_detected_proxy_names_the_first_choice(field: ProxyField) -> None:
    field.set_detected(None)
    assert field.combo.itemText(0) == "System settings (detecting…)"
    field.set_detected("HTTP proxy 10.0.0.5:3128")
    assert field.combo.itemText(0) == "System settings (detected: HTTP proxy 10.0.0.5:3128)"
    field.set_detected("")
    assert field.combo.itemText(0) == "System settings (detected: none, direct)"


def test_a_pasted_proxycommand_fills_the_field_and_a_choice_overrides_it(
    make_wizard: Callable[..., Driver], client_key: Path
) -> None:
    driver = make_wizard()
    driver.next(Page.KEY)
    driver.use_key(client_key)
    driver.next(Page.ENDPOINT)
    driver.paste(PASTE)
    page = driver.wizard.endpoint_page
    assert page.proxy.choice is Choice.HTTP
    assert (page.proxy.host.text(), page.proxy.port.text()) == ("10.0.0.5", "3128")
    values = page.values()
    assert values is not None and values["proxy"] == "http://10.0.0.5:3128"
    # the Proxy choice is the person's: the profile follows it, not the paste
    page.proxy.choose(Choice.NONE)
    driver.wait(lambda: "detected:" in page.proxy.combo.itemText(0))
    assert page.proxy.combo.itemText(0) == "System settings (detected: none, direct)"
    assert page.validatePage()
    assert driver.wizard.draft.fields()["proxy"] == "none"


def test_the_typed_password_reaches_the_draft_but_never_the_profile(
    make_wizard: Callable[..., Driver], client_key: Path
) -> None:
    driver = make_wizard()
    driver.next(Page.KEY)
    driver.use_key(client_key)
    driver.next(Page.ENDPOINT)
    driver.paste(PASTE)
    page = driver.wizard.endpoint_page
    page.proxy.user.setText("alice")
    page.proxy.password.setText("s3cret")
    assert page.validatePage()
    draft = driver.wizard.draft
    draft.target = ("127.0.0.1", 5432)
    assert draft.proxy_password == "s3cret"
    profile = draft.profile("db")
    assert profile.proxy == "http://alice@10.0.0.5:3128"
    assert "s3cret" not in repr(profile.to_dict()) and "s3cret" not in repr(draft)


def _profile(proxy: str) -> object:
    return profile_from_dict(
        "db",
        {
            "jumphost": "vendor.example",
            "user": "acme",
            "remote_port": 15432,
            "target_host": "127.0.0.1",
            "target_port": 5432,
            "key_path": "/k",
            "proxy": proxy,
        },
    )


def test_finish_keeps_the_password_in_the_keychain_only(tk_home: AppPaths) -> None:
    keychain = MemoryKeychain()
    services = Services(tk_home, lambda: keychain)
    profile = _profile("http://alice@10.0.0.5:3128")
    save_all(services, profile, None, [], None, "s3cret")  # type: ignore[arg-type]
    assert keychain.entries == {"proxy:http://alice@10.0.0.5:3128": "s3cret"}
    assert "s3cret" not in tk_home.profiles_file.read_text()
    assert ProfileStore(tk_home.profiles_file).get("db").proxy == "http://alice@10.0.0.5:3128"
    assert services.proxies.password(profile) == "s3cret"  # type: ignore[arg-type]


def test_a_keychain_that_refuses_the_password_saves_nothing(tk_home: AppPaths) -> None:
    services = Services(tk_home, no_keychain)
    with pytest.raises(TunnelkeeperError, match="could not be kept in the keychain"):
        save_all(services, _profile("http://alice@10.0.0.5:3128"), None, [], None, "pw")  # type: ignore[arg-type]
    assert not tk_home.profiles_file.exists() or "db" not in tk_home.profiles_file.read_text()


def _to_failed_test(driver: Driver, client_key: Path, host: Jumphost, proxy: Choice) -> None:
    """Through the pages with ``proxy`` chosen; the jumphost stops before the test."""
    driver.next(Page.KEY)
    driver.use_key(client_key)
    driver.next(Page.ENDPOINT)
    driver.paste(vendor_command(host))
    driver.wizard.endpoint_page.proxy.choose(proxy)
    driver.next(Page.TARGET)
    driver.target("127.0.0.1", 9)
    driver.next(Page.HOST_KEY)
    driver.trust()
    host.sshd.stop()  # now the jumphost cannot be reached directly: check 2 fails
    driver.next(Page.TEST)
    driver.checks_done()
    assert driver.wizard.checks_page.rows[REACHABLE].mark is Mark.FAIL


def test_a_jumphost_not_reached_directly_offers_a_proxy_to_type(
    make_wizard: Callable[..., Driver], client_key: Path, jumphost: Jumphost
) -> None:
    driver = make_wizard()
    _to_failed_test(driver, client_key, jumphost, Choice.SYSTEM)  # the settings name none
    page = driver.wizard.checks_page
    assert page.proxy_offer.isVisible()
    assert page.proxy_note.text().startswith("Does your network use a proxy?")
    assert "settings name none" in page.proxy_note.text()
    driver.click(page.use_proxy)
    driver.wait(lambda: driver.page_id is Page.ENDPOINT)
    endpoint = driver.wizard.endpoint_page
    assert endpoint.proxy.choice is Choice.HTTP
    assert endpoint.proxy.host.hasFocus()


def test_the_offer_prefills_the_proxy_the_system_settings_name(
    make_wizard: Callable[..., Driver],
    client_key: Path,
    jumphost: Jumphost,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setenv("https_proxy", "http://10.255.255.1:3128")  # Qt's system proxy here
    driver = make_wizard()
    _to_failed_test(driver, client_key, jumphost, Choice.NONE)  # direct was chosen
    page = driver.wizard.checks_page
    assert page.proxy_offer.isVisible()
    assert "settings name HTTP proxy 10.255.255.1:3128" in page.proxy_note.text()
    driver.click(page.use_proxy)
    driver.wait(lambda: driver.page_id is Page.ENDPOINT)
    endpoint = driver.wizard.endpoint_page
    assert endpoint.proxy.choice is Choice.SYSTEM
    assert "HTTP proxy 10.255.255.1:3128" in endpoint.proxy.combo.currentText()
    assert endpoint.values() is not None and endpoint.values()["proxy"] == "system"  # type: ignore[index]


def test_the_detected_proxy_is_the_first_jump_hosts(
    make_wizard: Callable[..., Driver], client_key: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """With a jump host the proxy that matters is the one for the host dialled first."""
    monkeypatch.setenv("https_proxy", "http://10.0.0.5:3128")
    monkeypatch.setenv("no_proxy", "bastion.corp")  # the bastion is reached directly
    driver = make_wizard()
    driver.next(Page.KEY)
    driver.use_key(client_key)
    driver.next(Page.ENDPOINT)
    driver.paste("ssh -N -R 15432:127.0.0.1:5432 acme@vendor.example")
    page = driver.wizard.endpoint_page
    page.detect_proxy()
    driver.wait(lambda: "detected: HTTP proxy 10.0.0.5:3128" in page.proxy.combo.itemText(0))
    driver.set_text(page.edits["jump"], "ops@bastion.corp")
    page.edits["jump"].editingFinished.emit()
    driver.wait(lambda: page.proxy.combo.itemText(0).endswith("(detected: none, direct)"))
