"""Two redundant tunnels on one real OpenSSH jumphost: one active, one standing by."""

from __future__ import annotations

import random
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from app import ssh
from app.core.events import State
from app.engine.tunnel import Tunnel
from app.storage.paths import AppPaths
from tests.conftest import EventLog, Jumphost
from tests.support.net import TcpServer, echo_handler, free_port, recv_exact, tcp_server

pytestmark = pytest.mark.integration

DEADLINE = 30.0


def _start(
    jumphost: Jumphost, paths: AppPaths, target_port: int, name: str, fence_after: int = 30
) -> tuple[Tunnel, EventLog]:
    events = EventLog()
    profile = jumphost.profile(target_port, name=name, role="redundant", fence_after=fence_after)
    key = ssh.load_private_key(profile.key_path)
    tunnel = Tunnel(profile, key, paths.known_hosts_file, events, rng=random.Random(7))
    tunnel.start()
    return tunnel, events


def _settled(*tunnels: Tunnel, timeout: float = DEADLINE) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        states = sorted(t.state.value for t in tunnels)
        if states == ["connected", "standby"]:
            return
        time.sleep(0.05)
    raise AssertionError(f"never one active and one standby: {[t.state for t in tunnels]}")


def _echo_through(port: int, payload: bytes = b"ping") -> bytes:
    import socket

    with socket.create_connection(("127.0.0.1", port), timeout=10) as sock:
        sock.sendall(payload)
        return recv_exact(sock, len(payload))


@pytest.fixture
def pair(
    jumphost: Jumphost, tk_home: AppPaths, echo: TcpServer
) -> Iterator[tuple[Tunnel, Tunnel, EventLog, EventLog]]:
    jumphost.pin(tk_home)
    a, a_events = _start(jumphost, tk_home, echo.port, "a")
    a_events.wait_for(State.CONNECTED)
    b, b_events = _start(jumphost, tk_home, echo.port, "b")
    try:
        yield a, b, a_events, b_events
    finally:
        a.stop()
        b.stop()


def test_the_second_machine_stands_by_calmly_and_takes_over_when_the_first_stops(
    pair: tuple[Tunnel, Tunnel, EventLog, EventLog], jumphost: Jumphost
) -> None:
    a, _b, _a_events, b_events = pair
    standby = b_events.wait_for(State.STANDBY)
    assert "another machine holds port" in standby.detail
    assert standby.extra["standby"] == "held"
    assert State.ERROR not in b_events.states() and State.RETRYING not in b_events.states()
    assert _echo_through(jumphost.remote_port) == b"ping"
    assert a.state is State.CONNECTED

    stopped = time.monotonic()
    assert a.stop()
    took = b_events.wait_for(State.CONNECTED, timeout=DEADLINE)
    print(f"takeover after a clean stop: {time.monotonic() - stopped:.2f} s")
    assert took.detail.startswith("took over:")
    assert _echo_through(jumphost.remote_port, b"after") == b"after"


def test_an_active_machine_whose_target_is_gone_gives_the_port_up(
    jumphost: Jumphost, tk_home: AppPaths
) -> None:
    """Their targets differ only so that one machine's can fail alone on one host."""
    jumphost.pin(tk_home)
    with tcp_server(echo_handler) as mine, tcp_server(echo_handler) as theirs:
        a, a_events = _start(jumphost, tk_home, mine.port, "a", fence_after=3)
        try:
            a_events.wait_for(State.CONNECTED)
            b, b_events = _start(jumphost, tk_home, theirs.port, "b", fence_after=3)
            try:
                b_events.wait_for(State.STANDBY)
                mine.stop()  # a's target stops answering
                fenced = a_events.wait_for(State.STANDBY, timeout=DEADLINE)
                assert fenced.extra["standby"] == "fenced"
                assert "did not answer 3 probes" in fenced.detail
                b_events.wait_for(State.CONNECTED, timeout=DEADLINE)
                assert _echo_through(jumphost.remote_port) == b"ping"
                # a stays standing by: its target is still gone, and b holds the port
                time.sleep(2)
                assert a.state is State.STANDBY and b.state is State.CONNECTED
            finally:
                b.stop()
        finally:
            a.stop()


def test_a_standby_whose_target_is_unreachable_never_takes_over(
    jumphost: Jumphost, tk_home: AppPaths, echo: TcpServer
) -> None:
    jumphost.pin(tk_home)
    dead = free_port()  # nothing listens here
    a, a_events = _start(jumphost, tk_home, echo.port, "a")
    try:
        a_events.wait_for(State.CONNECTED)
        b, b_events = _start(jumphost, tk_home, dead, "b", fence_after=3)
        try:
            first = b_events.wait_for(State.STANDBY)
            assert first.extra["standby"] == "fenced"
            assert "does not answer from this machine" in first.detail
            assert a.stop()
            # b keeps probing; the port stays free rather than leading to a dead target
            deadline = time.monotonic() + 6
            while time.monotonic() < deadline:
                assert b.state is State.STANDBY
                time.sleep(0.2)
            assert State.CONNECTED not in b_events.states()
        finally:
            b.stop()
    finally:
        a.stop()


def test_single_role_keeps_todays_refusal(
    jumphost: Jumphost, tk_home: AppPaths, echo: TcpServer, tmp_path: Path
) -> None:
    jumphost.pin(tk_home)
    a, a_events = _start(jumphost, tk_home, echo.port, "a")
    try:
        a_events.wait_for(State.CONNECTED)
        events = EventLog()
        profile = jumphost.profile(echo.port, name="single")
        key = ssh.load_private_key(profile.key_path)
        single = Tunnel(profile, key, tk_home.known_hosts_file, events)
        single.start()
        try:
            error = events.wait_for(State.ERROR)
            assert "refused" in error.detail
            assert State.STANDBY not in events.states()
        finally:
            single.stop()
    finally:
        a.stop()


def test_the_status_says_why_a_tunnel_stands_by(
    jumphost: Jumphost, tk_home: AppPaths, echo: TcpServer
) -> None:
    jumphost.pin(tk_home)
    a, a_events = _start(jumphost, tk_home, echo.port, "a")
    try:
        a_events.wait_for(State.CONNECTED)
        assert a.snapshot().standby is None
        b, b_events = _start(jumphost, tk_home, free_port(), "b", fence_after=3)
        try:
            first = b_events.wait_for(State.STANDBY)
            assert first.status is not None and first.status.standby == "fenced"
            assert b.status()["standby"] == "fenced"
        finally:
            b.stop()
        assert b.snapshot().standby is None  # stopped: no reason any more
    finally:
        a.stop()
