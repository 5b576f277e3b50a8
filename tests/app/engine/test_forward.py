"""Forwarded channels the engine never asked for are closed and never reach the target."""

from __future__ import annotations

import contextlib
import threading
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import paramiko
import pytest

from app.core.events import State
from app.storage.paths import AppPaths
from tests.conftest import EventLog
from tests.support.fake_jumphost import HostileJumphost, tunnel_against
from tests.support.net import TcpServer, echo_handler, tcp_server

pytestmark = pytest.mark.integration


@pytest.fixture
def target() -> Iterator[TcpServer]:
    with tcp_server(echo_handler) as server:
        yield server


def _open(transport: Any, address: str, port: int) -> Any:
    try:
        return transport.open_forwarded_tcpip_channel(("203.0.113.9", 5555), (address, port))
    except paramiko.SSHException:
        return None


def _probe_is_closed(channel: Any) -> bool:
    """A rejected channel is refused or closed by the client without delivering data."""
    if channel is None:
        return True
    channel.settimeout(10)
    with contextlib.suppress(OSError):
        channel.sendall(b"should never arrive")
    try:
        return channel.recv(10) == b""
    except TimeoutError:
        return False


def test_unrequested_forwarded_channels_are_closed_and_the_target_never_dialled(
    tk_home: AppPaths, events: EventLog, client_key: Path, target: TcpServer
) -> None:
    def script(transport: Any, server: HostileJumphost) -> None:
        assert server.forward_requested.wait(30)
        server.results["wrong_port"] = _probe_is_closed(_open(transport, "localhost", 40001))
        server.results["wrong_address"] = _probe_is_closed(_open(transport, "0.0.0.0", 40000))
        good = _open(transport, "localhost", 40000)
        good.settimeout(10)
        good.sendall(b"ok?")
        server.results["good"] = good.recv(3)
        good.close()

    hostile = HostileJumphost(script)
    tunnel = tunnel_against(hostile, tk_home, events, client_key, target.port)
    try:
        events.wait_for(State.CONNECTED)
        assert hostile.script_done.wait(60)
    finally:
        assert tunnel.stop()
        hostile.close()
    assert "error" not in hostile.results, hostile.results.get("error")
    assert hostile.forward_requests == [("localhost", 40000)]
    assert hostile.results["wrong_port"] is True
    assert hostile.results["wrong_address"] is True
    assert hostile.results["good"] == b"ok?"
    assert target.accepted == 1  # only the requested channel reached the target


def test_channels_before_any_forward_request_are_refused(
    tk_home: AppPaths, events: EventLog, client_key: Path, target: TcpServer
) -> None:
    def script(transport: Any, server: HostileJumphost) -> None:
        assert server.forward_requested.wait(30)
        assert server.early is not None
        server.results["answered"] = server.early.answered.wait(10)
        server.results["refused"] = not server.early.accepted

    hostile = HostileJumphost(script)
    # the open goes on the wire before the auth reply, ahead of any forward request
    hostile.open_before_auth_reply = ("localhost", 40000)
    tunnel = tunnel_against(hostile, tk_home, events, client_key, target.port)
    try:
        assert hostile.script_done.wait(60)
        events.wait_for(State.CONNECTED)
    finally:
        assert tunnel.stop()
        hostile.close()
    assert "error" not in hostile.results, hostile.results.get("error")
    assert hostile.results == {"answered": True, "refused": True}
    assert target.accepted == 0


def test_session_x11_and_agent_channels_are_refused(
    tk_home: AppPaths, events: EventLog, client_key: Path, target: TcpServer
) -> None:
    def script(transport: Any, server: HostileJumphost) -> None:
        assert server.forward_requested.wait(30)
        for kind, opener in (
            ("session", lambda: transport.open_session(timeout=10)),
            ("x11", lambda: transport.open_x11_channel(("127.0.0.1", 6000))),
            ("agent", lambda: transport.open_channel("auth-agent@openssh.com", timeout=10)),
        ):
            try:
                opener()
            except paramiko.ChannelException as exc:
                server.results[kind] = exc.code
            else:
                server.results[kind] = "opened"

    hostile = HostileJumphost(script)
    tunnel = tunnel_against(hostile, tk_home, events, client_key, target.port)
    try:
        assert hostile.script_done.wait(60)
    finally:
        assert tunnel.stop()
        hostile.close()
    prohibited = paramiko.common.OPEN_FAILED_ADMINISTRATIVELY_PROHIBITED
    assert hostile.results == {"session": prohibited, "x11": prohibited, "agent": prohibited}
    assert target.accepted == 0


def _rss_kib() -> int:
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1])
    return 0


def test_a_flood_of_5000_channel_opens_is_bounded(
    tk_home: AppPaths, events: EventLog, client_key: Path
) -> None:
    import threading

    from app.engine.forward import DIALERS, LOOP_CAPACITY, MAX_CHANNELS
    from tests.support.fake_jumphost import send_channel_open

    release = threading.Event()

    def hold(conn: Any) -> None:  # a target that keeps every connection open
        release.wait(120)

    def script(transport: Any, server: HostileJumphost) -> None:
        assert server.forward_requested.wait(30)
        opens = [
            send_channel_open(transport, "localhost", 40000, from_transport_thread=False)
            for _ in range(5000)
        ]
        deadline = time.monotonic() + 120
        for pending in opens:
            pending.answered.wait(max(0.0, deadline - time.monotonic()))
        accepted = [pending.channel for pending in opens if pending.accepted]
        server.results["answered"] = sum(pending.answered.is_set() for pending in opens)
        server.results["accepted"] = len(accepted)
        server.results["threads_at_peak"] = threading.active_count()
        server.results["rss_at_peak"] = _rss_kib()
        for channel in accepted:
            channel.close()
        del opens, accepted
        # still responsive: once the flood is gone, a legitimate connection works
        server.results["drained"] = wait_for(lambda: server.client_active() == 0, 60)
        good = transport.open_forwarded_tcpip_channel(("203.0.113.9", 1), ("localhost", 40000))
        server.results["after"] = good is not None
        good.close()

    with tcp_server(hold) as holding:
        baseline_threads, baseline_rss = threading.active_count(), _rss_kib()
        hostile = HostileJumphost(script)
        tunnel = tunnel_against(hostile, tk_home, events, client_key, holding.port)
        hostile.client_active = lambda: tunnel.counters.snapshot()["active_connections"]
        try:
            assert hostile.script_done.wait(240)
            release.set()
        finally:
            release.set()
            assert tunnel.stop()
            hostile.close()
    results = hostile.results
    assert "error" not in results, results
    assert results["answered"] == 5000
    assert results["accepted"] == MAX_CHANNELS
    assert tunnel.counters.snapshot()["refused_over_limit"] == 5000 - MAX_CHANNELS
    # one thread per held target connection (this test's server), the dialler pool and one
    # forwarding loop per LOOP_CAPACITY connections: none per forwarded connection
    loops = -(-MAX_CHANNELS // LOOP_CAPACITY)
    assert results["threads_at_peak"] - baseline_threads <= MAX_CHANNELS + DIALERS + loops + 20
    assert results["rss_at_peak"] - baseline_rss < 400 * 1024
    assert results["drained"] is True and results["after"] is True
    print(
        f"\nFLOOD peak threads +{results['threads_at_peak'] - baseline_threads}, "
        f"RSS +{(results['rss_at_peak'] - baseline_rss) / 1024:.0f} MiB"
    )


def wait_for(predicate: Any, timeout: float) -> bool:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if predicate():
            return True
        time.sleep(0.05)
    return bool(predicate())


def test_stop_cancels_the_forward_before_closing(
    tk_home: AppPaths, events: EventLog, client_key: Path, target: TcpServer
) -> None:
    def script(transport: Any, server: HostileJumphost) -> None:
        assert server.forward_requested.wait(30)
        wait_for(lambda: not transport.is_active(), 60)

    hostile = HostileJumphost(script)
    tunnel = tunnel_against(hostile, tk_home, events, client_key, target.port)
    try:
        events.wait_for(State.CONNECTED)
    finally:
        assert tunnel.stop()
        assert hostile.script_done.wait(30)
        hostile.close()
    assert hostile.cancel_requests == [("localhost", 40000)]


@pytest.mark.parametrize("case", ["echoed", "refused", "stopped-while-dialling"])
def test_every_connection_gives_its_window_back_to_the_budget(
    tk_home: AppPaths, events: EventLog, client_key: Path, target: TcpServer, case: str
) -> None:
    """Whatever ends a connection (its end, a target that refuses, a stop during a dial
    that hangs), its window returns to the process budget: a leak would outlive every
    reconnect."""
    from app.core.budget import shared_budget
    from tests.support import firewall
    from tests.support.net import free_port

    budget = shared_budget()
    before = (budget.reserved, budget.open_connections)
    hole = firewall.Blackhole()
    target_port = target.port
    if case == "refused":
        target_port = free_port()  # nothing listens there
    elif case == "stopped-while-dialling":
        if not firewall.available():
            pytest.skip("needs root and iptables to black-hole a loopback port")
        target_port = free_port()
        hole.port(target_port)

    def script(transport: Any, server: HostileJumphost) -> None:
        assert server.forward_requested.wait(30)
        channels = [_open(transport, "localhost", 40000) for _ in range(5)]
        server.results["opened"] = sum(channel is not None for channel in channels)
        if case == "echoed":
            for channel in channels:
                channel.settimeout(10)
                channel.sendall(b"ping")
                server.results["echo"] = channel.recv(4)
                channel.close()
        server.results["opens_done"].set()
        wait_for(lambda: not transport.is_active(), 60)

    hostile = HostileJumphost(script)
    hostile.results["opens_done"] = threading.Event()
    try:
        tunnel = tunnel_against(hostile, tk_home, events, client_key, target_port)
        try:
            events.wait_for(State.CONNECTED)
            assert hostile.results["opens_done"].wait(60)
            if case != "stopped-while-dialling":
                assert wait_for(lambda: tunnel.counters.snapshot()["active_connections"] == 0, 30)
                assert (budget.reserved, budget.open_connections) == before
            else:
                assert budget.open_connections == before[1] + 5  # all five still dialling
        finally:
            assert tunnel.stop()
            hostile.close()
    finally:
        hole.clear()
    # (a refused target may close a channel before the server sees it open)
    assert hostile.results["opened"] == 5 or case == "refused"
    assert (budget.reserved, budget.open_connections) == before
