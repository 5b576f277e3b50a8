"""Faults against a real sshd: kills, black holes, stale listeners, freezes, rekeys, churn."""

from __future__ import annotations

import hashlib
import os
import random
import signal
import socket
import threading
import time
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import pytest

from app.core.events import State
from app.storage.paths import AppPaths
from tests.conftest import EventLog, Jumphost, start_jumphost
from tests.conftest import start_tunnel as start
from tests.support import firewall
from tests.support.cli import add_profile, next_event, spawn_run, stop
from tests.support.net import (
    TcpServer,
    echo_handler,
    free_port,
    recv_all,
    recv_exact,
    tcp_server,
    wait_until,
)

pytestmark = pytest.mark.integration

# Vendors drop dead clients; with this the old session lets go of the port ~6-8 s after
# our side of it goes silent.
VENDOR_ALIVE = "ClientAliveInterval 2\nClientAliveCountMax 3\n"
FIGURES: dict[str, float] = {}

needs_firewall = pytest.mark.skipif(
    not firewall.available(), reason="iptables needs root (CI runs as root)"
)


def figure(name: str, seconds: float) -> None:
    """Record a measured time; printed at the end (-s) and in the closing note."""
    FIGURES[name] = round(seconds, 2)
    print(f"\nFIGURE {name}: {seconds:.2f} s")


@pytest.fixture
def vendor_jumphost(tmp_path: Path, client_key: Path) -> Iterator[Jumphost]:
    host = start_jumphost(tmp_path / "jumphost", client_key, extra_config=VENDOR_ALIVE)
    try:
        yield host
    finally:
        host.sshd.stop()


def forwarding_works(host: Jumphost, payload: bytes = b"ping") -> bool:
    try:
        with socket.create_connection(("127.0.0.1", host.remote_port), timeout=2) as conn:
            conn.settimeout(2)
            conn.sendall(payload)
            return recv_exact(conn, len(payload)) == payload
    except OSError:
        return False


def time_until_forwarding(host: Jumphost, timeout: float) -> float:
    started = time.monotonic()
    assert wait_until(lambda: forwarding_works(host), timeout, interval=0.1), (
        f"forwarding did not come back within {timeout} s"
    )
    return time.monotonic() - started


# --- sshd killed and restarted -------------------------------------------------------------


def test_sshd_killed_and_restarted_after_10_s(
    vendor_jumphost: Jumphost, tk_home: AppPaths, events: EventLog, echo: TcpServer
) -> None:
    tunnel = start(vendor_jumphost, tk_home, events, echo.port)
    try:
        events.wait_for(State.CONNECTED)
        assert forwarding_works(vendor_jumphost)
        vendor_jumphost.sshd.stop()  # listener and our session's process both die
        events.wait_for(State.RETRYING, timeout=10)
        time.sleep(10)  # the outage itself
        vendor_jumphost.sshd.start()
        recovery = time_until_forwarding(vendor_jumphost, timeout=30)
        figure("recovery after sshd restart", recovery)
        history = [(e.state.value, e.detail) for e in events.events]
        assert recovery < 10, history  # the bar is 5 s; the figure goes in the notes
        assert tunnel.status()["reconnects"] == 1, history
    finally:
        assert tunnel.stop()


# --- black holes ---------------------------------------------------------------------------


@needs_firewall
def test_black_hole_is_detected_within_the_bound_and_recovers(
    vendor_jumphost: Jumphost, tk_home: AppPaths, events: EventLog, echo: TcpServer
) -> None:
    interval, count_max = 2, 1
    bound = (count_max + 1) * interval + 1
    tunnel = start(
        vendor_jumphost,
        tk_home,
        events,
        echo.port,
        keepalive_interval=interval,
        keepalive_count_max=count_max,
    )
    try:
        events.wait_for(State.CONNECTED)
        with firewall.blackhole() as hole:
            hole.port(vendor_jumphost.port)
            dropped = time.monotonic()
            lost = events.wait_for(State.RETRYING, timeout=bound + 10)
            detection = time.monotonic() - dropped
            figure("dead-link detection (interval 2 s, count 1)", detection)
            assert detection <= bound + 2
            assert "no reply from the jumphost" in lost.detail
            time.sleep(3)  # stays down a while; attempts time out meanwhile
        restored = time.monotonic()
        events.wait_for(State.CONNECTED, timeout=60)
        assert wait_until(lambda: forwarding_works(vendor_jumphost), 30, interval=0.2)
        figure("recovery after the black hole lifts", time.monotonic() - restored)
    finally:
        assert tunnel.stop()


@needs_firewall
def test_stale_listener_recovers_without_user_action(
    vendor_jumphost: Jumphost, tk_home: AppPaths, events: EventLog, echo: TcpServer
) -> None:
    tunnel = start(
        vendor_jumphost, tk_home, events, echo.port, keepalive_interval=1, keepalive_count_max=1
    )
    try:
        events.wait_for(State.CONNECTED)
        client_port = tunnel.local_port
        assert client_port is not None
        with firewall.blackhole() as hole:
            # only the current connection goes dark: the jumphost keeps its session (and the
            # port) until its ClientAlive probes give up, while our new connection gets in
            hole.connection(client_port, vendor_jumphost.port)
            silenced = time.monotonic()
            events.wait_for(State.RETRYING, timeout=15)
            stale = None
            deadline = time.monotonic() + 30
            while stale is None and time.monotonic() < deadline:
                event = events.wait_for(State.RETRYING, timeout=30)
                if "still holds port" in event.detail:
                    stale = event
            assert stale is not None, [e.detail for e in events.events]
            assert f"still holds port {vendor_jumphost.remote_port}" in stale.detail
            events.wait_for(State.CONNECTED, timeout=60)
            figure("stale listener: silence to forwarding again", time.monotonic() - silenced)
        assert forwarding_works(vendor_jumphost)
    finally:
        assert tunnel.stop()


# --- the target going away -----------------------------------------------------------------


def test_target_down_then_up(
    vendor_jumphost: Jumphost, tk_home: AppPaths, events: EventLog
) -> None:
    port = free_port()
    with tcp_server(echo_handler, port):
        tunnel = start(vendor_jumphost, tk_home, events, port)
        try:
            events.wait_for(State.CONNECTED)
            assert forwarding_works(vendor_jumphost)
        except BaseException:
            tunnel.stop()
            raise
    try:
        for attempt in range(3):
            with socket.create_connection(
                ("127.0.0.1", vendor_jumphost.remote_port), timeout=10
            ) as conn:
                conn.settimeout(10)
                assert conn.recv(10) == b"", attempt
        assert wait_until(
            lambda: "refused 3 connections in the last minute" in (tunnel.warning or ""), 10
        )
        assert f"target 127.0.0.1:{port}" in (tunnel.warning or "")
        warnings = [e for e in events.events if e.extra.get("warning") == "target"]
        assert warnings and warnings[0].state is State.CONNECTED
        assert tunnel.state is State.CONNECTED
        with tcp_server(echo_handler, port):
            assert wait_until(lambda: forwarding_works(vendor_jumphost), 10)
        assert State.RETRYING not in events.states()
    finally:
        assert tunnel.stop()


# --- the process frozen --------------------------------------------------------------------


def _tail(path: Path, size: int) -> str:
    try:
        return path.read_text(encoding="utf-8", errors="replace")[-size:]
    except OSError as exc:
        return f"({path}: {exc})"


def test_process_stopped_for_30_s_then_continued_reconnects(
    vendor_jumphost: Jumphost, tk_home: AppPaths, echo: TcpServer, tmp_path: Path
) -> None:
    add_profile(vendor_jumphost, echo.port)
    vendor_jumphost.pin(tk_home)
    log = tmp_path / "run-stderr.txt"
    with log.open("w", encoding="utf-8") as err:
        proc = spawn_run("db", stderr=err.fileno())
    recovery = None
    try:
        assert next_event(proc)["state"] == "connecting"
        assert next_event(proc)["state"] == "connected"
        proc.send_signal(signal.SIGSTOP)
        time.sleep(30)  # frozen; the jumphost gives up on us meanwhile
        assert not forwarding_works(vendor_jumphost)
        proc.send_signal(signal.SIGCONT)
        started = time.monotonic()
        if wait_until(lambda: forwarding_works(vendor_jumphost), 60, interval=0.1):
            recovery = time.monotonic() - started
    finally:
        events, _ = stop(proc)
    assert recovery is not None, (
        f"forwarding did not come back within 60 s of SIGCONT; events after 'connected':\n"
        f"{events[-4000:]}\nstderr:\n{_tail(log, 3000)}\nlog:\n{_tail(tk_home.log_file, 6000)}"
        f"\nsshd:\n{vendor_jumphost.sshd.log()[-3000:]}"
    )
    figure("recovery after SIGSTOP 30 s + SIGCONT", recovery)
    assert recovery < 20
    assert proc.returncode == 0


# --- heavy traffic across rekeys -----------------------------------------------------------


def _hash_then_answer(conn: socket.socket) -> None:
    digest = hashlib.sha256()
    while True:
        chunk = conn.recv(1 << 20)
        if not chunk:
            break
        digest.update(chunk)
    conn.sendall(digest.hexdigest().encode())
    conn.shutdown(socket.SHUT_WR)


@pytest.mark.slow
def test_1_gib_over_50_streams_across_rekeys_arrives_intact(
    tmp_path: Path, client_key: Path, tk_home: AppPaths, events: EventLog
) -> None:
    host = start_jumphost(tmp_path / "rekey", client_key, extra_config="RekeyLimit 1M\n")
    streams, per_stream = 50, (1 << 30) // 50
    try:
        with tcp_server(_hash_then_answer) as target:
            tunnel = start(host, tk_home, events, target.port)
            try:
                events.wait_for(State.CONNECTED)

                def one(index: int) -> bool:
                    rng = random.Random(index)
                    digest = hashlib.sha256()
                    with socket.create_connection(
                        ("127.0.0.1", host.remote_port), timeout=120
                    ) as conn:
                        left = per_stream
                        while left:
                            chunk = rng.randbytes(min(left, 1 << 20))
                            digest.update(chunk)
                            conn.sendall(chunk)
                            left -= len(chunk)
                        conn.shutdown(socket.SHUT_WR)
                        return recv_all(conn).decode() == digest.hexdigest()

                started = time.monotonic()
                with ThreadPoolExecutor(max_workers=streams) as pool:
                    results = list(pool.map(one, range(streams), timeout=1200))
                figure("1 GiB over 50 streams with RekeyLimit 1M", time.monotonic() - started)
                assert results.count(True) == streams
                assert tunnel.counters.snapshot()["bytes_to_target"] == streams * per_stream
                assert State.RETRYING not in events.states()
            finally:
                assert tunnel.stop()
    finally:
        host.sshd.stop()


# --- churn -------------------------------------------------------------------------------


def _resources() -> tuple[int, int, int]:
    threads = threading.active_count()
    fds = len(os.listdir("/proc/self/fd"))
    rss_kib = 0
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            rss_kib = int(line.split()[1])
    return threads, fds, rss_kib


@pytest.mark.slow
def test_100_kill_restart_cycles_leave_threads_fds_and_memory_flat(
    vendor_jumphost: Jumphost, tk_home: AppPaths, events: EventLog, echo: TcpServer
) -> None:
    tunnel = start(vendor_jumphost, tk_home, events, echo.port)
    samples: dict[int, tuple[int, int, int]] = {}
    started = time.monotonic()
    try:
        events.wait_for(State.CONNECTED)
        for cycle in range(1, 101):
            vendor_jumphost.sshd.stop()
            events.wait_for(State.RETRYING, timeout=30)
            vendor_jumphost.sshd.start()
            events.wait_for(State.CONNECTED, timeout=30)
            assert forwarding_works(vendor_jumphost), cycle
            if cycle in (10, 100):
                assert wait_until(lambda: tunnel.counters.snapshot()["active_connections"] == 0, 10)
                samples[cycle] = _resources()
        figure("100 kill/restart cycles, total", time.monotonic() - started)
    finally:
        assert tunnel.stop()
    (threads10, fds10, rss10), (threads100, fds100, rss100) = samples[10], samples[100]
    print(f"\nRESOURCES cycle 10: {samples[10]}, cycle 100: {samples[100]}")
    assert threads100 <= threads10 + 2
    assert fds100 <= fds10 + 3
    assert rss100 <= rss10 + 20 * 1024  # KiB
    assert tunnel.status()["reconnects"] == 100


@needs_firewall
def test_a_wake_checks_a_quiet_link_at_once(
    vendor_jumphost: Jumphost, tk_home: AppPaths, events: EventLog, echo: TcpServer
) -> None:
    """After sleep the link is often dead but silent: a wake proves it within seconds,
    instead of waiting out a long keepalive interval."""
    tunnel = start(
        vendor_jumphost, tk_home, events, echo.port, keepalive_interval=120, keepalive_count_max=3
    )
    try:
        events.wait_for(State.CONNECTED)
        client_port = tunnel.local_port
        assert client_port is not None
        with firewall.blackhole() as hole:
            hole.connection(client_port, vendor_jumphost.port)
            woken = time.monotonic()
            tunnel.woke()
            lost = events.wait_for(State.RETRYING, timeout=30)
            figure("dead link found after a wake (interval 120 s)", time.monotonic() - woken)
            assert time.monotonic() - woken < 15
            assert "no reply" in lost.detail
        events.wait_for(State.CONNECTED, timeout=60)
    finally:
        assert tunnel.stop()
