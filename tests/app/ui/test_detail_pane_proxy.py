"""The detail pane's Proxy row: the route the tunnel takes now, and its Change…."""

from __future__ import annotations

from dataclasses import replace

import pytest
from pytestqt.qtbot import QtBot

from app.storage.paths import AppPaths
from app.ui.rows import Row, stopped_status
from tests.app.ui.test_detail_pane import PROFILE, pane
from tests.app.ui.test_system_proxy import PROXY_VARIABLES


@pytest.fixture(autouse=True)
def _no_proxy_variables(monkeypatch: pytest.MonkeyPatch) -> None:
    for name in PROXY_VARIABLES:
        monkeypatch.delenv(name, raising=False)


def row_with(proxy: str, keeper: str = "") -> Row:
    profile = replace(PROFILE, proxy=proxy)
    return Row(profile, stopped_status(profile, ""), running=False, keeper=keeper)


def test_the_system_settings_proxy_is_shown_with_where_it_came_from(
    qtbot: QtBot, tk_home: AppPaths, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("https_proxy", "http://10.0.0.5:3128")  # what Qt reads on Linux
    detail = pane(qtbot, tk_home)
    detail.show_row(row_with("system"))
    shown = detail.fields["Proxy"]
    qtbot.waitUntil(lambda: shown.text() != "…", timeout=10_000)
    assert shown.text() == "via HTTP proxy 10.0.0.5:3128 (system settings)"


def test_direct_and_a_tunnels_own_proxy(qtbot: QtBot, tk_home: AppPaths) -> None:
    detail = pane(qtbot, tk_home)
    shown = detail.fields["Proxy"]
    detail.show_row(row_with("system"))
    qtbot.waitUntil(lambda: shown.text() == "direct: no proxy set", timeout=10_000)
    detail.show_row(row_with("socks5://bob@10.0.0.7:1080"))
    qtbot.waitUntil(
        lambda: shown.text() == "via SOCKS5 proxy 10.0.0.7:1080 (set for this tunnel)",
        timeout=10_000,
    )
    detail.show_row(row_with("none"))
    qtbot.waitUntil(
        lambda: shown.text() == "direct: the tunnel is set to use no proxy", timeout=10_000
    )


def test_change_opens_the_jumphost_part(qtbot: QtBot, tk_home: AppPaths) -> None:
    detail = pane(qtbot, tk_home)
    detail.show_row(row_with("none"))
    button = detail.changes["Proxy"]
    assert button.accessibleName() == "Change the proxy on the way to the jumphost"
    with qtbot.waitSignal(detail.edit_part, timeout=2000) as asked:
        button.click()
    assert asked.args == ["db", "endpoint"]


def test_a_tunnel_kept_elsewhere_shows_its_setting(qtbot: QtBot, tk_home: AppPaths) -> None:
    detail = pane(qtbot, tk_home)
    detail.show_row(row_with("system", keeper="the service"))
    assert detail.fields["Proxy"].text() == "system, as the service reads it"
