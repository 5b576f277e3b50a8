"""GUI fixtures: a hub on a real sshd, an echo target; off-thread jobs joined after each test."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from pytestqt.qtbot import QtBot

from app.core.events import State
from app.platform.keychain import Keychain, open_keychain
from app.services.api import Services
from app.storage.paths import AppPaths
from app.storage.store import ProfileStore
from app.ui.hub import TunnelHub
from tests.conftest import Jumphost
from tests.support.squid import Squid, running_squid


@pytest.fixture(autouse=True)
def _join_jobs() -> Iterator[None]:
    yield
    from app.ui import jobs

    assert jobs.wait_all(15.0), "a background job was still running 15 s after the test"


def no_keychain() -> Keychain:
    """A keyring backend that refuses everything, as on a machine with no keychain."""
    from keyring.backends import fail

    return open_keychain(fail.Keyring())


@pytest.fixture
def hub(tk_home: AppPaths) -> Iterator[TunnelHub]:
    made = TunnelHub(Services(tk_home, no_keychain))
    yield made
    made.stop_all()


def add(paths: AppPaths, host: Jumphost, target_port: int, **kw: object) -> None:
    """Profile ``db`` through ``host`` to 127.0.0.1:``target_port``, host key pinned."""
    host.pin(paths)
    ProfileStore(paths.profiles_file).add(host.profile(target_port, name="db", **kw))


DEADLINE_MS = 30_000


def wait_connected(qtbot: QtBot, hub: TunnelHub, name: str = "db") -> None:
    """Until ``name``'s ``connected`` event has reached the GUI thread (``hub.recent``): its
    state is read live from the engine a moment before the event is delivered."""
    qtbot.waitUntil(
        lambda: any(e.tunnel == name and e.state is State.CONNECTED for e in hub.recent),
        timeout=DEADLINE_MS,
    )
    assert hub.states()[name] is State.CONNECTED


@pytest.fixture
def no_proxy_variables(monkeypatch: pytest.MonkeyPatch) -> None:
    """No proxy from this process's environment: each test says which one it means."""
    from tests.app.ui.test_system_proxy import PROXY_VARIABLES

    for name in PROXY_VARIABLES:
        monkeypatch.delenv(name, raising=False)


@pytest.fixture
def squid(jumphost: Jumphost) -> Iterator[Squid]:
    """A real Squid that lets CONNECT through to the jumphost's port only, for user alice."""
    with running_squid(allow_ports=(jumphost.port,)) as proxy:
        yield proxy
