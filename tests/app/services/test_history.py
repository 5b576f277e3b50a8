"""The history recorder on a TunnelHost, and the history query front ends show."""

from __future__ import annotations

import socket
import sqlite3
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from app import ssh
from app.core.events import State, TunnelEvent, TunnelStatus
from app.core.history import GRACE
from app.core.profile import Profile
from app.services import history as history_module
from app.services.api import Services
from app.services.history import HistoryService, Recorder
from app.services.host import TunnelHost
from app.storage.history import count_rows
from app.storage.paths import AppPaths
from tests.conftest import EventLog, Jumphost
from tests.support.net import TcpServer, recv_exact, wait_until


class ScriptedTunnel:
    """An engine stand-in the test drives: ``say`` reports a state as a worker would."""

    def __init__(self, profile: Profile, key: Any, known_hosts: Path, sink: Any, **kw: Any):
        self.profile = profile
        self._sink = sink
        self._on_status = kw.get("on_status")
        self.running = False
        self.last_beat = time.monotonic()
        self.status = TunnelStatus(profile.name, State.STOPPED, "not started.")

    def start(self) -> None:
        self.running = True

    def stop(self, timeout: float = 5.0) -> bool:
        self.running = False
        self.say(State.STOPPED, "the tunnel is stopped.")
        return True

    def rename(self, profile: Profile) -> None:
        self.profile = profile

    def reconnect_now(self) -> None: ...
    def woke(self) -> None: ...
    def network_changed(self) -> None: ...

    def say(self, state: State, detail: str, warning: str | None = None, sent: int = 0) -> None:
        self.status = TunnelStatus(
            self.profile.name,
            state,
            detail,
            since=time.time(),
            bytes_to_target=sent,
            bytes_to_vendor=sent // 10,
            warning=warning,
        )
        self._sink(TunnelEvent(self.profile.name, state, detail, status=self.status))

    def figures(self, sent: int, warning: str | None = None) -> None:
        """New counters (or a warning) without an event, as the engine's on_status."""
        self.status = TunnelStatus(
            self.profile.name,
            self.status.state,
            self.status.detail,
            bytes_to_target=sent,
            bytes_to_vendor=sent // 10,
            warning=warning,
        )
        self._on_status(self.status)


def profile(name: str = "db") -> Profile:
    return Profile(name, "jump.example", "t", 50000, "127.0.0.1", 5432, "/k")


class Scripted:
    def __init__(self) -> None:
        self.tunnels: dict[str, ScriptedTunnel] = {}

    def __call__(self, profile: Profile, *args: Any, **kw: Any) -> ScriptedTunnel:
        made = ScriptedTunnel(profile, *args, **kw)
        self.tunnels[profile.name] = made
        return made


@pytest.fixture
def scripted() -> Scripted:
    return Scripted()


@pytest.fixture
def host(tk_home: AppPaths, scripted: Scripted) -> Iterator[TunnelHost]:
    made = TunnelHost(tk_home.known_hosts_file, scripted)  # type: ignore[arg-type]
    yield made
    made.stop_all()


@pytest.fixture
def recorder(tk_home: AppPaths, host: TunnelHost) -> Iterator[Recorder]:
    made = HistoryService(tk_home).record(host, tick=3600)  # looks only when flushed
    yield made
    made.close()


def kinds(data: dict[str, Any], window: str = "24h") -> list[str]:
    return [s["kind"] for s in data["windows"][window]["segments"]]


def test_transitions_and_the_stop_are_recorded(
    tk_home: AppPaths, host: TunnelHost, scripted: Scripted, recorder: Recorder
) -> None:
    host.start(profile(), None)
    db = scripted.tunnels["db"]
    db.say(State.CONNECTING, "connecting to jump.example:22 as t.")
    db.say(State.CONNECTED, "listening")
    db.say(State.CONNECTED, "target refused 1 connection", warning="target refused 1")
    for attempt in range(5):  # one outage, many retries: one transition each way
        db.say(State.RETRYING, f"the jumphost is unreachable (attempt {attempt})")
        db.say(State.CONNECTING, "connecting to jump.example:22 as t.")
    db.say(State.CONNECTED, "listening")
    assert recorder.flush()
    rows = count_rows(tk_home.history_file, "db")
    # connecting, connected, refusing, retrying and connecting (each once a try), connected
    assert rows["transitions"] == 3 + 10 + 1

    data = Services(tk_home).history.history("db")
    assert kinds(data)[0] == "stopped" and "up" in kinds(data)
    assert kinds(data)[-1] == "up"  # vouched for up to now
    causes = [o["cause"] for o in data["windows"]["24h"]["outages"]]
    assert causes[-2:] == ["target refused 1 connection", "the jumphost is unreachable (attempt 0)"]

    host.stop("db")
    recorder.close()
    after = Services(tk_home).history.history("db")
    assert kinds(after)[-1] == "stopped"


def test_counters_are_sampled_at_most_once_a_tick_and_a_reset_is_no_loss(
    tk_home: AppPaths, host: TunnelHost, scripted: Scripted
) -> None:
    recorder = HistoryService(tk_home).record(host, tick=0.2)
    try:
        host.start(profile(), None)
        db = scripted.tunnels["db"]
        db.say(State.CONNECTED, "listening")
        for sent in (10_000, 70_000, 5_000):  # the last: the counters began again
            db.figures(sent)
            assert recorder.flush()
            assert recorder.flush()  # no second sample within the tick
            time.sleep(0.25)
    finally:
        recorder.close()
    assert count_rows(tk_home.history_file, "db")["samples"] in (3, 4)
    rates = HistoryService(tk_home).history("db")["throughput"]
    carried = sum(r["to_target_bps"] for r in rates) * 60  # one-minute buckets
    assert carried == pytest.approx(60_000 + 5_000, rel=0.01)
    assert all(r["to_target_bps"] >= 0 and r["to_vendor_bps"] >= 0 for r in rates)


def test_a_target_warning_that_comes_and_goes_without_an_event_is_seen(
    tk_home: AppPaths, host: TunnelHost, scripted: Scripted, recorder: Recorder
) -> None:
    host.start(profile(), None)
    db = scripted.tunnels["db"]
    db.say(State.CONNECTED, "listening")
    db.figures(0, warning="target 127.0.0.1:5432 refused 2 connections in the last minute")
    assert recorder.flush()
    db.figures(0, warning=None)
    assert recorder.flush()
    data = HistoryService(tk_home).history("db", window="24h")
    assert kinds(data)[-3:] == ["up", "target_refusing", "up"]
    assert list(data["windows"]) == ["24h"]
    with pytest.raises(ValueError, match="window"):
        HistoryService(tk_home).history("db", window="1y")


def test_a_host_that_died_shows_stopped_after_its_last_word(
    tk_home: AppPaths, host: TunnelHost, scripted: Scripted, recorder: Recorder
) -> None:
    host.start(profile(), None)
    scripted.tunnels["db"].say(State.CONNECTED, "listening")
    assert recorder.flush()
    said = time.time()
    later = HistoryService(tk_home).history("db", now=said + 3600)  # an hour on, no word
    segments = later["windows"]["24h"]["segments"]
    assert [s["kind"] for s in segments[-2:]] == ["up", "stopped"]
    assert segments[-1]["seconds"] == pytest.approx(3600 - GRACE, abs=3)


def test_an_engine_thread_never_waits_for_a_busy_file(
    tk_home: AppPaths, host: TunnelHost, scripted: Scripted, recorder: Recorder
) -> None:
    host.start(profile(), None)
    db = scripted.tunnels["db"]
    db.say(State.CONNECTING, "first")
    assert recorder.flush()
    other = sqlite3.connect(tk_home.history_file, isolation_level=None)
    other.execute("BEGIN EXCLUSIVE")  # another process holds the file
    try:
        slowest = 0.0
        for n in range(history_module.QUEUE_SIZE * 2):
            began = time.monotonic()
            db.say(State.RETRYING if n % 2 else State.CONNECTING, f"try {n}")
            slowest = max(slowest, time.monotonic() - began)
        assert slowest < 0.5  # put and go: the writer waits, not the engine
    finally:
        other.execute("ROLLBACK")
        other.close()
    db.say(State.CONNECTED, "at last")
    assert wait_until(recorder.flush, 30)
    last = HistoryService(tk_home).history("db")["windows"]["24h"]["segments"][-1]
    assert last["kind"] == "up" and last["cause"] == "at last"  # seen, though dropped


def test_the_recorder_ends_once_its_host_has_closed(
    tk_home: AppPaths, host: TunnelHost, scripted: Scripted, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(history_module, "LINGER", 0.2)
    made = HistoryService(tk_home).record(host, tick=0.1)
    host.start(profile(), None)
    scripted.tunnels["db"].say(State.CONNECTED, "listening")
    assert made.flush()
    assert host.stop_all()
    assert wait_until(lambda: not made._thread.is_alive(), 10)
    assert HistoryService(tk_home).history("db")["windows"]["7d"]["segments"][-1]["kind"] == (
        "stopped"
    )
    made.close()  # closing a finished recorder is harmless


def test_nothing_recorded_reads_as_never_run(tk_home: AppPaths) -> None:
    data = HistoryService(tk_home).history("ghost")
    assert not data["recorded"] and data["kept_since"] is None
    assert data["windows"]["24h"]["availability"] is None
    assert kinds(data, "7d") == ["stopped"]
    assert len(data["throughput"]) == 60


@pytest.mark.integration
def test_a_real_tunnel_is_recorded_with_its_traffic(
    tk_home: AppPaths, jumphost: Jumphost, echo: TcpServer, events: EventLog
) -> None:
    jumphost.pin(tk_home)
    host = TunnelHost(tk_home.known_hosts_file)
    host.listen(events)
    recorder = HistoryService(tk_home).record(host, tick=0.2)
    try:
        tunnel = jumphost.profile(echo.port, name="db")
        host.start(tunnel, ssh.load_private_key(tunnel.key_path))
        events.wait_for(State.CONNECTED)
        with socket.create_connection(("127.0.0.1", jumphost.remote_port), timeout=30) as conn:
            for _ in range(5):
                conn.sendall(b"x" * 4096)
                assert recv_exact(conn, 4096) == b"x" * 4096
                time.sleep(0.3)  # the writer takes samples between the sends

        def carried() -> bool:
            recorder.flush()
            rates = HistoryService(tk_home).history("db")["throughput"]
            return sum(r["to_target_bps"] for r in rates) > 0

        assert wait_until(carried, 30)
        assert host.stop_all()
    finally:
        host.stop_all()
        recorder.close()
    data = HistoryService(tk_home).history("db")
    assert kinds(data)[-3:] == ["stopped", "up", "stopped"]  # its start is not an outage
    assert data["windows"]["24h"]["availability"] > 50
