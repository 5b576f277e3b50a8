"""systemd's notify protocol as a service manager hears it: a real NOTIFY_SOCKET."""

from __future__ import annotations

import socket
import threading
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from app import ssh
from app.core.events import State, TunnelEvent
from app.platform.sdnotify import Watchdog, notify, watchdog_interval
from app.services.host import TunnelHost
from app.storage.paths import AppPaths
from tests.conftest import EventLog, Jumphost
from tests.support.net import TcpServer


class Manager:
    """The service manager's end: a datagram socket that collects what it is told."""

    def __init__(self, path: Path) -> None:
        self.path = path
        self.sock = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
        self.sock.bind(str(path))
        self.sock.settimeout(0.2)

    def heard(self, seconds: float) -> list[str]:
        """Every message for ``seconds``."""
        deadline = time.monotonic() + seconds
        got = []
        while time.monotonic() < deadline:
            try:
                got.append(self.sock.recv(4096).decode())
            except TimeoutError:
                continue
        return got


@pytest.fixture
def manager(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[Manager]:
    made = Manager(tmp_path / "notify.sock")
    monkeypatch.setenv("NOTIFY_SOCKET", str(made.path))
    try:
        yield made
    finally:
        made.sock.close()


def test_notify_reaches_the_manager_and_is_silent_without_one(
    manager: Manager, monkeypatch: pytest.MonkeyPatch
) -> None:
    assert notify("READY=1\nSTATUS=hosting tunnels")
    assert manager.heard(0.5) == ["READY=1\nSTATUS=hosting tunnels"]
    monkeypatch.delenv("NOTIFY_SOCKET")
    assert not notify("READY=1")


def test_the_watchdog_interval_is_half_of_what_systemd_asks(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    assert watchdog_interval({"WATCHDOG_USEC": "60000000"}) == 30.0
    assert watchdog_interval({"WATCHDOG_USEC": "60000000", "WATCHDOG_PID": "1"}) is None
    assert watchdog_interval({"WATCHDOG_USEC": "nonsense"}) is None
    assert watchdog_interval({}) is None


def test_pings_stop_when_an_engine_thread_makes_no_progress(
    manager: Manager, jumphost: Jumphost, tk_home: AppPaths, echo: TcpServer, events: EventLog
) -> None:
    jumphost.pin(tk_home)
    host = TunnelHost(tk_home.known_hosts_file)
    stuck = threading.Event()
    release = threading.Event()

    def hang_the_engine(event: TunnelEvent) -> None:
        # a listener that never returns holds the engine thread (as a hung engine would)
        if stuck.is_set() and event.tunnel == "t1":
            release.wait(60)

    host.listen(events)
    host.listen(hang_the_engine)
    profile = jumphost.profile(echo.port)
    host.start(profile, ssh.load_private_key(profile.key_path))
    watchdog = Watchdog(0.2, lambda: host.stalled(3.0))
    watchdog.start()
    try:
        events.wait_for(State.CONNECTED)
        assert manager.heard(1.5).count("WATCHDOG=1") >= 3  # vouched for while it lives
        stuck.set()
        host.reconnect("t1")  # the engine reports the reconnect, and hangs in the report
        manager.heard(5.0)  # past the stall limit (3 s); what was said until then
        assert host.stalled(3.0) == ["t1"]
        assert manager.heard(2.0) == []  # no more pings: systemd will restart us
        release.set()
        stuck.clear()
        assert "WATCHDOG=1" in manager.heard(3.0)  # progress again: pings resume
    finally:
        release.set()
        watchdog.stop()
        assert host.stop_all()
