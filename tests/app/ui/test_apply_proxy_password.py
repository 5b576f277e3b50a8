"""What the app does when an edit only typed a new proxy password: a tunnel that is not
connected (waiting after a 407) restarts and signs in with it now; a connected one keeps its
link and signs in with it from its next connection on."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from pytestqt.qtbot import QtBot

from app.core.events import State, TunnelStatus
from app.services.api import Services
from app.storage.paths import AppPaths
from app.ui.apply_edit import apply_saved
from app.ui.hub import TunnelHub
from app.ui.wizard.draft import Finished
from tests.app.services.conftest import MemoryKeychain
from tests.app.ui.conftest import DEADLINE_MS, add
from tests.conftest import Jumphost
from tests.support.net import TcpServer, tcp_server
from tests.support.proxy_recorder import ProxyRecorder
from tests.support.squid import Squid

pytestmark = pytest.mark.integration

AUTH_FAILED = "proxy authentication failed (407)"


@pytest.fixture
def hub(tk_home: AppPaths) -> Iterator[TunnelHub]:
    keychain = MemoryKeychain()
    made = TunnelHub(Services(tk_home, lambda: keychain))
    yield made
    made.stop_all()


def status(hub: TunnelHub) -> TunnelStatus:
    return next(row.snapshot for row in hub.rows() if row.profile.name == "db")


def typed(hub: TunnelHub, password: str) -> Finished:
    """Finish of an edit that changed nothing but typed ``password`` for the proxy user
    (kept in the keychain by then, as ``finish.save_all`` does)."""
    profile = hub.profiles["db"]
    kept = hub.services.proxies.remember(profile, password)
    assert kept.stored
    return Finished("db", "db", True, True, frozenset(), profile.key_path, proxy_password=password)


def test_a_tunnel_waiting_after_a_407_restarts_with_the_new_password(
    qtbot: QtBot, hub: TunnelHub, tk_home: AppPaths, jumphost: Jumphost
) -> None:
    recorder = ProxyRecorder()  # refuses everyone with a 407
    with tcp_server(recorder) as proxy:
        add(tk_home, jumphost, 1, proxy=f"http://alice@127.0.0.1:{proxy.port}")
        hub.reload()
        hub.services.proxies.remember(hub.profiles["db"], "old-secret")
        hub.connect_tunnel("db")
        qtbot.waitUntil(lambda: AUTH_FAILED in status(hub).detail, timeout=DEADLINE_MS)
        assert recorder.signed_in_as("alice", "old-secret")
        assert status(hub).next_retry_at is None  # it waits for the person

        with recorder.lock:
            recorder.requests.clear()
        apply_saved(hub, typed(hub, "new-secret"))
        qtbot.waitUntil(lambda: recorder.signed_in_as("alice", "new-secret"), timeout=DEADLINE_MS)
        hub.disconnect_tunnel("db")
        qtbot.waitUntil(lambda: not hub.is_running("db"), timeout=DEADLINE_MS)


def test_a_connected_tunnel_keeps_its_link_and_uses_the_new_password_next_time(
    qtbot: QtBot, hub: TunnelHub, tk_home: AppPaths, jumphost: Jumphost, squid: Squid,
    echo: TcpServer,
) -> None:  # fmt: skip
    add(tk_home, jumphost, echo.port, proxy=squid.url)
    hub.reload()
    hub.services.proxies.remember(hub.profiles["db"], squid.password)
    hub.connect_tunnel("db")
    qtbot.waitUntil(lambda: status(hub).state is State.CONNECTED, timeout=DEADLINE_MS)
    before = status(hub)

    apply_saved(hub, typed(hub, "not-the-password"))
    after = status(hub)
    assert after.state is State.CONNECTED and after.detail == before.detail  # no restart began
    assert (after.since, after.reconnects) == (before.since, before.reconnects)

    # its next connection signs in with what was typed (Squid knows only the old one)
    hub.reconnect_now("db")
    qtbot.waitUntil(lambda: AUTH_FAILED in status(hub).detail, timeout=DEADLINE_MS)
    hub.disconnect_tunnel("db")
    qtbot.waitUntil(lambda: not hub.is_running("db"), timeout=DEADLINE_MS)
