"""The Finish page's summary names the route: the proxy (the system settings with what they
give now, none, or the tunnel's own with its user, never a password) and the jump hosts."""

from __future__ import annotations

from typing import Any

import pytest
from PySide6.QtWidgets import QWizard
from pytestqt.qtbot import QtBot

from app.services.api import Services
from app.storage.paths import AppPaths
from app.ui.wizard.draft import Draft
from app.ui.wizard.finish import FinishPage, jump_line, proxy_line, system_route_now
from tests.app.services.conftest import MemoryKeychain
from tests.app.ui.conftest import no_keychain
from tests.app.ui.test_system_proxy import PROXY_VARIABLES


@pytest.fixture(autouse=True)
def _no_proxy_variables(monkeypatch: pytest.MonkeyPatch) -> None:
    for name in PROXY_VARIABLES:
        monkeypatch.delenv(name, raising=False)


@pytest.mark.parametrize(
    ("spec", "currently", "line"),
    [
        ("none", None, "Proxy: none"),
        ("system", "direct", "Proxy: system settings (currently: direct)"),
        ("system", None, "Proxy: system settings (currently: checking…)"),
        ("http://alice@10.0.0.5:3128", None, "Proxy: HTTP proxy 10.0.0.5:3128 as alice"),
        ("socks5h://10.0.0.7:1080", None, "Proxy: SOCKS5h proxy 10.0.0.7:1080"),
    ],
)
def test_the_proxy_line(spec: str, currently: str | None, line: str) -> None:
    assert proxy_line(spec, currently) == line


def test_the_jump_line_goes_first_dialled_first() -> None:
    assert jump_line(None) == ""
    assert jump_line("ops@bastion.corp:22,10.1.0.7:2222") == (
        "Jump hosts: ops@bastion.corp:22 → 10.1.0.7:2222"
    )


def test_a_system_proxy_that_cannot_be_used_is_said_without_its_password(
    tk_home: AppPaths, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("HTTPS_PROXY", "http://alice:pw123@10.0.0.5:99999")
    draft = Draft(tk_home, Services(tk_home, no_keychain))
    draft.endpoint = {"jumphost": "vendor.example", "user": "acme", "remote_port": 15432}
    draft.target, draft.key_path = ("127.0.0.1", 5432), "/k"
    assert system_route_now(draft.profile("db")) == "cannot be used, see the test"


def finish_page(
    qtbot: QtBot, paths: AppPaths, proxy: str, jump: str | None, keychain: Any = no_keychain
) -> QWizard:
    """A wizard on its Finish page, whose pages gathered ``proxy`` and ``jump``; the proxy
    user's password "s3cret" was typed."""
    draft = Draft(paths, Services(paths, keychain))
    draft.endpoint = {
        "jumphost": "vendor.example",
        "ssh_port": 50683,
        "user": "acme",
        "remote_port": 15432,
        "remote_bind": None,
        "proxy": proxy,
        "jump": jump,
    }
    draft.target, draft.key_path = ("127.0.0.1", 5432), "/k"
    draft.proxy_password = "s3cret"
    wizard = QWizard()
    page = FinishPage(draft)
    wizard.addPage(page)
    qtbot.addWidget(wizard)
    wizard.show()  # initializes the page
    qtbot.waitUntil(lambda: page.taken is not None, timeout=10_000)
    return wizard


def page_of(wizard: QWizard) -> FinishPage:
    page = wizard.currentPage()
    assert isinstance(page, FinishPage)
    return page


def test_the_summary_says_what_the_system_settings_give_now(
    qtbot: QtBot, tk_home: AppPaths, monkeypatch: pytest.MonkeyPatch
) -> None:
    wizard = finish_page(qtbot, tk_home, "system", None)
    page = page_of(wizard)
    qtbot.waitUntil(lambda: "(currently: direct)" in page.summary.text(), timeout=10_000)
    assert "<br>Proxy: system settings (currently: direct)" in page.summary.text()
    assert "Jump hosts" not in page.summary.text()

    # Qt's system proxy on Linux is the lower-case variable; shown anew when the page is
    monkeypatch.setenv("https_proxy", "http://10.0.0.5:3128")
    page.initializePage()
    qtbot.waitUntil(lambda: "currently: HTTP" in page.summary.text(), timeout=10_000)
    assert "Proxy: system settings (currently: HTTP proxy 10.0.0.5:3128)" in page.summary.text()


def test_the_summary_names_the_own_proxy_and_the_jump_hosts_never_the_password(
    qtbot: QtBot, tk_home: AppPaths
) -> None:
    wizard = finish_page(
        qtbot, tk_home, "http://alice@10.0.0.5:3128", "ops@bastion.corp:22,10.1.0.7:2222"
    )
    text = page_of(wizard).summary.text()
    assert "<br>Proxy: HTTP proxy 10.0.0.5:3128 as alice" in text
    assert "<br>Jump hosts: ops@bastion.corp:22 → 10.1.0.7:2222" in text
    assert "s3cret" not in text


def test_finish_hands_the_typed_password_on_for_the_running_tunnel(
    qtbot: QtBot, tk_home: AppPaths
) -> None:
    keychain = MemoryKeychain()
    wizard = finish_page(qtbot, tk_home, "http://alice@10.0.0.5:3128", None, lambda: keychain)
    page = page_of(wizard)
    wizard.button(QWizard.WizardButton.FinishButton).click()  # saved off the GUI thread
    qtbot.waitUntil(lambda: page.outcome is not None, timeout=10_000)
    assert page.outcome is not None and page.outcome.proxy_password == "s3cret"
    assert "s3cret" not in repr(page.outcome)
    assert keychain.entries == {"proxy:http://alice@10.0.0.5:3128": "s3cret"}
