"""The Test page's "Does your network use a proxy?": with jump hosts, the proxy that matters
is the first jump host's (the host dialled first), asked of the system settings for it."""

from __future__ import annotations

from typing import Any

import pytest
from pytestqt.qtbot import QtBot

from app.core.profile import Profile
from app.engine.check_results import CheckResult
from app.engine.checks import NAMES, Outcome
from app.services.api import Services
from app.storage.paths import AppPaths
from app.ui.wizard import checks, trial
from app.ui.wizard.checks import ChecksPage, proxy_question, route_tested
from app.ui.wizard.draft import Draft
from tests.app.ui.conftest import no_keychain
from tests.app.ui.test_system_proxy import PROXY_VARIABLES

JUMP = "ops@bastion.corp:2222"


@pytest.fixture(autouse=True)
def _proxy_for_all_but(monkeypatch: pytest.MonkeyPatch) -> None:
    """The system settings (Qt reads the lower-case variables on Linux) name a proxy for
    every host but the jumphost."""
    for name in PROXY_VARIABLES:
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("https_proxy", "http://10.0.0.5:3128")
    monkeypatch.setenv("no_proxy", "vendor.example")


def profile(proxy: str = "none", jump: str | None = JUMP) -> Profile:
    return Profile(
        name="db",
        jumphost="vendor.example",
        user="acme",
        remote_port=15432,
        target_host="127.0.0.1",
        target_port=5432,
        key_path="/k",
        ssh_port=50683,
        proxy=proxy,
        jump=jump,
    )


def test_the_system_proxy_is_looked_up_for_the_first_jump_host() -> None:
    tested = route_tested(profile())
    assert tested == checks.Tested(
        True, "HTTP proxy 10.0.0.5:3128", "the first jump host bastion.corp:2222"
    )
    assert proxy_question(tested) == (
        "Does your network use a proxy? This computer's settings name HTTP proxy "
        "10.0.0.5:3128 for the first jump host bastion.corp:2222: go back and choose the "
        "system settings as the proxy."
    )


def test_without_jump_hosts_the_jumphost_is_asked_about_and_named() -> None:
    tested = route_tested(profile(jump=None))
    assert tested == checks.Tested(True, "", "the jumphost vendor.example:50683")
    assert "settings name none for the jumphost vendor.example:50683: ask" in (
        proxy_question(tested)
    )


def test_the_route_of_system_settings_is_the_first_jump_hosts() -> None:
    # the settings send the first jump host through the proxy: not direct, so check 2's
    # own sentence speaks of the proxy and no question is asked
    assert not route_tested(profile(proxy="system")).direct
    assert route_tested(profile(proxy="system", jump=None)).direct


def _check_2_fails(*args: Any) -> list[CheckResult]:
    """``trial.run_checks`` as when the host dialled first cannot be reached directly."""
    report = args[4]
    results = [CheckResult(1, NAMES[1], Outcome.PASS, "fine.")]
    results.append(CheckResult(2, NAMES[2], Outcome.FAIL, "timed out.", "check the network."))
    results += [CheckResult(n, NAMES[n], Outcome.SKIPPED, "not run.") for n in range(3, 8)]
    for result in results:
        report(result)
    return results


def test_the_page_asks_about_the_first_jump_host(
    qtbot: QtBot, tk_home: AppPaths, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(trial, "run_checks", _check_2_fails)
    draft = Draft(tk_home, Services(tk_home, no_keychain))
    chosen = profile()
    draft.endpoint = {
        "jumphost": chosen.jumphost,
        "ssh_port": chosen.ssh_port,
        "user": chosen.user,
        "remote_port": chosen.remote_port,
        "remote_bind": None,
        "proxy": "none",
        "jump": JUMP,
    }
    draft.target, draft.key_path = ("127.0.0.1", 5432), "/k"
    page = ChecksPage(draft, running=lambda name: None)
    qtbot.addWidget(page)
    page.show()
    page.run()
    qtbot.waitUntil(lambda: not page.testing and page.proxy_offer.isVisible(), timeout=10_000)
    text = page.proxy_note.text()
    assert "settings name HTTP proxy 10.0.0.5:3128 for the first jump host bastion.corp:2222" in (
        text
    )
