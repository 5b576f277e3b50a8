"""The desktop app starts a tunnel through its proxy with the keychain's proxy password."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from pytestqt.qtbot import QtBot

from app.services.api import Services
from app.storage.paths import AppPaths
from app.ui.hub import TunnelHub
from tests.app.services.conftest import MemoryKeychain
from tests.app.ui.conftest import DEADLINE_MS, add
from tests.conftest import Jumphost
from tests.support.net import tcp_server
from tests.support.proxy_recorder import ProxyRecorder


@pytest.fixture
def keychain() -> MemoryKeychain:
    return MemoryKeychain()


@pytest.fixture
def hub(tk_home: AppPaths, keychain: MemoryKeychain) -> Iterator[TunnelHub]:
    made = TunnelHub(Services(tk_home, lambda: keychain))
    yield made
    made.stop_all()


def test_connect_signs_in_to_the_proxy_also_with_the_key_held(
    qtbot: QtBot, hub: TunnelHub, tk_home: AppPaths, jumphost: Jumphost
) -> None:
    recorder = ProxyRecorder()
    with tcp_server(recorder) as proxy:
        add(tk_home, jumphost, 1, proxy=f"http://alice@127.0.0.1:{proxy.port}")
        hub.reload()
        hub.services.proxies.remember(hub.profiles["db"], "hub-secret")
        hub.connect_tunnel("db")
        qtbot.waitUntil(lambda: recorder.signed_in_as("alice", "hub-secret"), timeout=DEADLINE_MS)
        hub.disconnect_tunnel("db")
        qtbot.waitUntil(lambda: not hub.is_running("db"), timeout=DEADLINE_MS)
        # the key is held now; the password is still read (off the GUI thread) and passed on
        recorder.requests.clear()
        hub.connect_tunnel("db")
        qtbot.waitUntil(lambda: recorder.signed_in_as("alice", "hub-secret"), timeout=DEADLINE_MS)
        hub.disconnect_tunnel("db")
        qtbot.waitUntil(lambda: not hub.is_running("db"), timeout=DEADLINE_MS)
