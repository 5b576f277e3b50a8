"""Through a real Squid: the app's tunnel on the system settings' proxy (Qt's answer)."""

from __future__ import annotations

import pytest
from pytestqt.qtbot import QtBot

from app.core.events import State
from app.storage.paths import AppPaths
from app.ui import system_proxy
from app.ui.hub import TunnelHub
from tests.app.engine.test_proxy_tunnel import forwarding_works
from tests.app.ui.conftest import DEADLINE_MS, add, wait_connected
from tests.conftest import Jumphost
from tests.support.net import echo_handler, tcp_server, wait_until
from tests.support.squid import Squid

pytestmark = [pytest.mark.integration, pytest.mark.usefixtures("no_proxy_variables")]


def test_the_app_connects_through_the_system_settings_proxy(
    qtbot: QtBot,
    hub: TunnelHub,
    tk_home: AppPaths,
    jumphost: Jumphost,
    squid: Squid,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    # On Linux Qt's system proxy is the environment's https_proxy: the answer comes from Qt
    address = f"127.0.0.1:{squid.port}"
    monkeypatch.setenv("https_proxy", f"http://{squid.user}:{squid.password}@{address}")
    with tcp_server(echo_handler) as target:
        add(tk_home, jumphost, target.port)  # proxy: system, the default
        hub.reload()
        profile = hub.profiles["db"]
        assert system_proxy.route_now(profile).why == (
            f"via HTTP proxy {address} (system settings)"
        )
        hub.connect_tunnel("db")
        wait_connected(qtbot, hub)
        assert forwarding_works(jumphost)
        connected = [e for e in hub.recent if e.state is State.CONNECTED]
        assert f"via HTTP proxy {address}" in connected[-1].detail
        hub.disconnect_tunnel("db")
        qtbot.waitUntil(lambda: not hub.is_running("db"), timeout=DEADLINE_MS)
    # Squid logs a CONNECT when it ends: the tunnel went through it, not direct
    assert wait_until(lambda: len(squid.connects()) >= 1, 10), squid.connects()
    assert f"127.0.0.1:{jumphost.port}" in squid.connects()[-1]
