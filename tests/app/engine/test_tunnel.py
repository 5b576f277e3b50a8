"""The tunnel engine against a real OpenSSH jumphost and real target sockets."""

from __future__ import annotations

import hashlib
import os
import queue
import socket
import threading
import time
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import pytest

from app import ssh
from app.core.events import State, TunnelStatus
from app.engine import forward
from app.engine.tunnel import Tunnel
from app.storage.paths import AppPaths
from tests.conftest import EventLog, Jumphost, start_tunnel
from tests.support.net import (
    TcpServer,
    echo_handler,
    port_is_listening,
    recv_all,
    recv_exact,
    tcp_server,
    wait_until,
)

pytestmark = pytest.mark.integration


@pytest.fixture
def running(
    jumphost: Jumphost, tk_home: AppPaths, events: EventLog, echo: TcpServer
) -> Iterator[Tunnel]:
    tunnel = start_tunnel(jumphost, tk_home, events, echo.port)
    try:
        events.wait_for(State.CONNECTED)
        yield tunnel
    finally:
        assert tunnel.stop(), "the tunnel did not stop within 5 s"


def vendor_connect(jumphost: Jumphost) -> socket.socket:
    """What the vendor's pipeline does: connect to the allocated port on the jumphost."""
    return socket.create_connection(("127.0.0.1", jumphost.remote_port), timeout=30)


def test_round_trip_through_the_tunnel(running: Tunnel, jumphost: Jumphost) -> None:
    with vendor_connect(jumphost) as conn:
        conn.sendall(b"hello through the tunnel")
        assert recv_exact(conn, 24) == b"hello through the tunnel"


def _random_bytes(size: int) -> bytes:
    return os.urandom(size)


def test_64_mib_each_way_arrives_intact(
    jumphost: Jumphost, tk_home: AppPaths, events: EventLog
) -> None:
    size = 64 * 1024 * 1024
    to_target = _random_bytes(size)
    to_vendor = _random_bytes(size)
    received_at_target: list[bytes] = []

    def target(conn: socket.socket) -> None:
        sender = threading.Thread(
            target=lambda: (conn.sendall(to_vendor), conn.shutdown(socket.SHUT_WR))
        )
        sender.start()
        received_at_target.append(recv_all(conn))
        sender.join()

    with tcp_server(target) as server:
        tunnel = start_tunnel(jumphost, tk_home, events, server.port)
        try:
            events.wait_for(State.CONNECTED)
            with vendor_connect(jumphost) as conn:
                result: list[bytes] = []
                reader = threading.Thread(target=lambda: result.append(recv_all(conn)))
                reader.start()
                conn.sendall(to_target)
                conn.shutdown(socket.SHUT_WR)
                reader.join(120)
            assert wait_until(lambda: bool(received_at_target), 60)
        finally:
            assert tunnel.stop()
    assert hashlib.sha256(result[0]).hexdigest() == hashlib.sha256(to_vendor).hexdigest()
    assert (
        hashlib.sha256(received_at_target[0]).hexdigest() == hashlib.sha256(to_target).hexdigest()
    )
    snapshot = tunnel.counters.snapshot()
    assert snapshot["bytes_to_target"] == size
    assert snapshot["bytes_to_vendor"] == size


def test_channel_data_takes_the_aes_gcm_short_path_both_ways(
    running: Tunnel, jumphost: Jumphost
) -> None:
    payload = os.urandom(1 << 20)
    with vendor_connect(jumphost) as conn:
        sender = threading.Thread(target=conn.sendall, args=(payload,), daemon=True)
        sender.start()
        assert recv_exact(conn, len(payload)) == payload
        sender.join(30)
    packetizer = running.session.transport.packetizer
    # 1 MiB is at least 32 packets of at most 32 KiB each way
    assert packetizer.fast_packets_in >= 32
    assert packetizer.fast_packets_out >= 32


def _loop_threads() -> int:
    return sum(1 for thread in threading.enumerate() if thread.name == "forward-loop")


def test_the_transport_thread_hosts_the_first_connections_and_loop_threads_take_more(
    jumphost: Jumphost,
    tk_home: AppPaths,
    events: EventLog,
    echo: TcpServer,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setattr(forward, "LOOP_CAPACITY", 2)  # 2 hosted, then threads of 2 each
    before = _loop_threads()
    tunnel = start_tunnel(jumphost, tk_home, events, echo.port)
    try:
        events.wait_for(State.CONNECTED)
        # hosted before the first connection: a target that speaks first (MySQL) must
        # not wait for the jumphost's next packet to wake the transport thread
        assert tunnel.session is not None and tunnel.session.watched.reactor is not None
        payloads = [os.urandom(256 * 1024) for _ in range(5)]
        conns = []
        for count, payload in enumerate(payloads, start=1):
            conns.append(vendor_connect(jumphost))
            conns[-1].sendall(payload[:1])
            assert recv_exact(conns[-1], 1) == payload[:1]
            # 1-2 on the transport thread, 3-4 on a loop thread, 5 on a second one
            assert _loop_threads() - before == (count - 1) // 2
        with ThreadPoolExecutor(5) as pool:  # all five at once, both ways
            sends = [pool.submit(c.sendall, p[1:]) for c, p in zip(conns, payloads, strict=True)]
            for conn, payload in zip(conns, payloads, strict=True):
                assert recv_exact(conn, len(payload) - 1) == payload[1:]
            for sent in sends:
                sent.result(timeout=30)
        for conn in conns:
            conn.close()
    finally:
        assert tunnel.stop()
    assert wait_until(lambda: _loop_threads() == before, 10)


def test_a_lost_jumphost_closes_every_target_connection(
    jumphost: Jumphost, tk_home: AppPaths, events: EventLog, monkeypatch: pytest.MonkeyPatch
) -> None:
    # The hosted loop ends with the transport thread: its targets must not be left open.
    monkeypatch.setattr(forward, "LOOP_CAPACITY", 2)
    ended: queue.Queue[bytes] = queue.Queue()

    def handler(conn: socket.socket) -> None:
        conn.sendall(b"!")
        conn.settimeout(60)
        ended.put(conn.recv(1))

    with tcp_server(handler) as target:
        tunnel = start_tunnel(jumphost, tk_home, events, target.port)
        try:
            events.wait_for(State.CONNECTED)
            conns = [vendor_connect(jumphost) for _ in range(3)]
            for conn in conns:
                assert recv_exact(conn, 1) == b"!"
            jumphost.sshd.stop()  # the listener and the connection's own sshd
            assert [ended.get(timeout=30) for _ in conns] == [b""] * 3
            for conn in conns:
                conn.close()
        finally:
            assert tunnel.stop()


def test_200_simultaneous_connections_each_echo_256_kib(
    running: Tunnel, jumphost: Jumphost
) -> None:
    size = 256 * 1024
    barrier = threading.Barrier(200, timeout=60)

    def one(i: int) -> bool:
        payload = hashlib.sha256(str(i).encode()).digest() * (size // 32)
        with vendor_connect(jumphost) as conn:
            barrier.wait()  # all 200 are open at the same moment
            sender = threading.Thread(target=conn.sendall, args=(payload,))
            sender.start()
            echoed = recv_exact(conn, size)
            sender.join(60)
        return echoed == payload

    with ThreadPoolExecutor(max_workers=200) as pool:
        results = list(pool.map(one, range(200), timeout=240))
    assert results.count(True) == 200
    assert running.counters.snapshot()["total_connections"] == 200
    assert wait_until(lambda: running.counters.snapshot()["active_connections"] == 0, 30)


def test_half_close_passes_through_both_ways(
    jumphost: Jumphost, tk_home: AppPaths, events: EventLog
) -> None:
    """The vendor sends its request and EOF; the target answers only after that EOF."""

    def target(conn: socket.socket) -> None:
        request = recv_all(conn)  # returns only once the vendor's EOF has crossed
        conn.sendall(b"got:" + request)
        conn.shutdown(socket.SHUT_WR)

    with tcp_server(target) as server:
        tunnel = start_tunnel(jumphost, tk_home, events, server.port)
        try:
            events.wait_for(State.CONNECTED)
            with vendor_connect(jumphost) as conn:
                conn.sendall(b"query")
                conn.shutdown(socket.SHUT_WR)
                assert recv_all(conn) == b"got:query"
        finally:
            assert tunnel.stop()


def test_target_closing_first_leaves_the_vendor_direction_open(
    jumphost: Jumphost, tk_home: AppPaths, events: EventLog
) -> None:
    received: queue.Queue[bytes] = queue.Queue()

    def target(conn: socket.socket) -> None:
        conn.sendall(b"banner")
        conn.shutdown(socket.SHUT_WR)  # EOF towards the vendor first
        received.put(recv_all(conn))  # ...but keep reading what the vendor still sends

    with tcp_server(target) as server:
        tunnel = start_tunnel(jumphost, tk_home, events, server.port)
        try:
            events.wait_for(State.CONNECTED)
            with vendor_connect(jumphost) as conn:
                assert recv_all(conn) == b"banner"  # EOF arrived
                conn.sendall(b"still talking after EOF")
                conn.shutdown(socket.SHUT_WR)
            assert received.get(timeout=30) == b"still talking after EOF"
        finally:
            assert tunnel.stop()


def test_target_down_closes_the_channel_and_keeps_the_tunnel_up(
    jumphost: Jumphost, tk_home: AppPaths, events: EventLog
) -> None:
    with tcp_server(echo_handler) as server:
        dead_port = server.port
    tunnel = start_tunnel(jumphost, tk_home, events, dead_port)
    try:
        events.wait_for(State.CONNECTED)
        with vendor_connect(jumphost) as conn:
            conn.settimeout(30)
            assert conn.recv(10) == b""  # closed promptly, nothing delivered
        warning = events.wait_for(State.CONNECTED)
        assert f"127.0.0.1:{dead_port}" in warning.detail
        assert "refused" in warning.detail
        assert warning.extra.get("warning") == "target"
        assert tunnel.state is State.CONNECTED
        # the jumphost still listens for us (target recovery: see test_faults)
        assert port_is_listening(jumphost.remote_port)
    finally:
        assert tunnel.stop()
    assert State.RETRYING not in events.states()


def test_an_outage_keeps_its_start_and_drops_the_target_warning(
    jumphost: Jumphost, tk_home: AppPaths, events: EventLog
) -> None:
    from app.core.backoff import Backoff

    with tcp_server(echo_handler) as server:
        dead_port = server.port
    backoff = Backoff(base=0.2, cap=0.5)
    tunnel = start_tunnel(jumphost, tk_home, events, dead_port, backoff=backoff)
    try:
        up = events.wait_for(State.CONNECTED)
        with vendor_connect(jumphost) as conn:
            conn.settimeout(30)
            assert conn.recv(10) == b""  # the target refused it
        warned = events.wait_for(State.CONNECTED)
        assert warned.status is not None and warned.status.warning
        assert up.status is not None and warned.status.since == up.status.since
        jumphost.sshd.stop()
        try:
            down = [events.wait_for(State.RETRYING), events.wait_for(State.CONNECTING)]
            down.append(events.wait_for(State.RETRYING))  # a second try, same outage
        finally:
            jumphost.sshd.start()
        statuses = [e.status for e in down if e.status is not None]
        assert len(statuses) == 3
        assert all(s.warning is None for s in statuses)  # the link's trouble, not the target's
        assert len({s.since for s in statuses}) == 1  # when the outage began
        assert statuses[0].since is not None and statuses[0].since >= up.status.since
        back = events.wait_for(State.CONNECTED, timeout=90)
        assert back.status is not None and back.status.since is not None
        assert back.status.since >= statuses[0].since and back.status.warning is None
    finally:
        assert tunnel.stop()


def test_unknown_host_key_is_refused(
    jumphost: Jumphost, tk_home: AppPaths, events: EventLog, echo: TcpServer
) -> None:
    tunnel = start_tunnel(jumphost, tk_home, events, echo.port, pin=False)
    try:
        error = events.wait_for(State.ERROR)
    finally:
        assert tunnel.stop()
    assert "not trusted" in error.detail
    # the remedy in words for every front end; each adds its own way to do it
    assert "trust its key once its fingerprint matches" in error.detail
    assert "tunnelkeeper" not in error.detail
    assert error.extra["action"] == "trust" and error.action == "trust"
    assert error.status is not None and error.status.action == "trust"
    assert not port_is_listening(jumphost.remote_port)


def test_changed_host_key_is_refused_showing_both_fingerprints(
    jumphost: Jumphost, tk_home: AppPaths, events: EventLog, echo: TcpServer, tmp_path: Path
) -> None:
    from tests.support.sshd import ssh_keygen

    other = ssh_keygen(tmp_path / "impostor", comment="impostor")
    impostor_pub = Path(f"{other}.pub").read_text().split()
    tk_home.known_hosts_file.write_text(
        f"[127.0.0.1]:{jumphost.port} {impostor_pub[0]} {impostor_pub[1]}\n"
    )
    tunnel = start_tunnel(jumphost, tk_home, events, echo.port, pin=False)
    try:
        error = events.wait_for(State.ERROR)
    finally:
        assert tunnel.stop()
    real = ssh.fingerprint(ssh.load_private_key(jumphost.sshd.host_key))
    pinned = ssh.fingerprint(ssh.load_private_key(other))
    assert "CHANGED" in error.detail
    assert real in error.detail and pinned in error.detail
    assert "only then trust the jumphost's new key" in error.detail
    assert error.action == "trust"
    assert not port_is_listening(jumphost.remote_port)


def test_wrong_key_gets_the_auth_sentence(
    jumphost: Jumphost, tk_home: AppPaths, events: EventLog, echo: TcpServer, tmp_path: Path
) -> None:
    from tests.support.sshd import ssh_keygen

    stranger = ssh_keygen(tmp_path / "stranger", comment="not-authorised")
    key = ssh.load_private_key(stranger)
    tunnel = start_tunnel(jumphost, tk_home, events, echo.port, key_path=str(stranger))
    try:
        error = events.wait_for(State.ERROR)
    finally:
        assert tunnel.stop()
    assert f"the jumphost rejected key {ssh.fingerprint(key)}" in error.detail
    assert "has its public key been added in the vendor's settings?" in error.detail


def test_forward_denied_by_permitlisten_is_an_error_state(
    jumphost: Jumphost, tk_home: AppPaths, events: EventLog, echo: TcpServer
) -> None:
    from tests.support.net import free_port

    not_allocated = free_port()
    tunnel = start_tunnel(jumphost, tk_home, events, echo.port, remote_port=not_allocated)
    try:
        error = events.wait_for(State.ERROR)
    finally:
        assert tunnel.stop()
    assert f"localhost:{not_allocated}" in error.detail
    assert "refused to listen" in error.detail
    assert State.CONNECTED not in events.states()
    assert not port_is_listening(not_allocated)


@pytest.mark.parametrize(
    ("bind", "permit", "expect_ok"),
    [
        (None, "localhost", True),  # no bind: OpenSSH sends "localhost"
        ("localhost", "localhost", True),
        ("127.0.0.1", "127.0.0.1", True),
        ("127.0.0.1", "localhost", False),  # verbatim: does not match a localhost rule
    ],
)
def test_bind_address_is_sent_as_ssh_sends_it(
    tmp_path: Path,
    client_key: Path,
    tk_home: AppPaths,
    events: EventLog,
    echo: TcpServer,
    bind: str | None,
    permit: str,
    expect_ok: bool,
) -> None:
    from tests.conftest import Jumphost as JH
    from tests.support.net import free_port
    from tests.support.sshd import Sshd

    sshd = Sshd(tmp_path / "jh")
    remote_port = free_port()
    sshd.authorize_tunnel(client_key, f"{permit}:{remote_port}")
    sshd.start()
    try:
        host = JH(sshd, remote_port, client_key)
        tunnel = start_tunnel(host, tk_home, events, echo.port, remote_bind=bind)
        try:
            event = events.wait_for(State.CONNECTED if expect_ok else State.ERROR)
            if expect_ok:
                with vendor_connect(host) as conn:
                    conn.sendall(b"ping")
                    assert recv_exact(conn, 4) == b"ping"
            else:
                assert "refused to listen" in event.detail
        finally:
            assert tunnel.stop()
    finally:
        sshd.stop()


def test_stop_cancels_the_forward_and_leaves_nothing_behind(
    jumphost: Jumphost, tk_home: AppPaths, events: EventLog, echo: TcpServer
) -> None:
    before = {t.ident for t in threading.enumerate()}
    sockets_before = _socket_fds()
    tunnel = start_tunnel(jumphost, tk_home, events, echo.port)
    events.wait_for(State.CONNECTED)
    open_conns = [vendor_connect(jumphost) for _ in range(5)]
    for conn in open_conns:
        conn.sendall(b"x")
        assert recv_exact(conn, 1) == b"x"
    assert tunnel.stop(), "stop took longer than 5 s"
    assert events.states()[-1] is State.STOPPED
    assert wait_until(lambda: not port_is_listening(jumphost.remote_port), 10)
    for conn in open_conns:
        conn.settimeout(10)
        assert conn.recv(10) == b""
        conn.close()
    assert wait_until(lambda: {t.ident for t in threading.enumerate()} <= before, 10), [
        t.name for t in threading.enumerate() if t.ident not in before
    ]
    assert wait_until(lambda: _socket_fds() <= sockets_before, 10), _socket_fds() - sockets_before


def _socket_fds() -> set[str]:
    """This process's open sockets, by inode."""
    found = set()
    for fd in os.listdir("/proc/self/fd"):
        try:
            link = os.readlink(f"/proc/self/fd/{fd}")
        except OSError:
            continue
        if link.startswith("socket:"):
            found.add(link)
    return found


def test_reconnects_after_the_jumphost_restarts(
    jumphost: Jumphost, tk_home: AppPaths, events: EventLog, echo: TcpServer
) -> None:
    tunnel = start_tunnel(jumphost, tk_home, events, echo.port)
    try:
        events.wait_for(State.CONNECTED)
        jumphost.sshd.stop()  # listener and the session's child both gone
        events.wait_for(State.RETRYING)
        jumphost.sshd.start()
        events.wait_for(State.CONNECTED, timeout=90)
        with vendor_connect(jumphost) as conn:
            conn.sendall(b"back")
            assert recv_exact(conn, 4) == b"back"
    finally:
        assert tunnel.stop()


def test_host_key_trouble_waits_for_trust_then_recovers(
    jumphost: Jumphost, tk_home: AppPaths, events: EventLog, echo: TcpServer
) -> None:
    tunnel = start_tunnel(jumphost, tk_home, events, echo.port, pin=False)
    try:
        error = events.wait_for(State.ERROR)
        assert "not trusted" in error.detail
        assert tunnel.status()["next_retry_at"] is None  # no retry until the user acts
        assert tunnel.snapshot().action == "trust"
        jumphost.pin(tk_home)  # what `tunnelkeeper trust` does
        connected = events.wait_for(State.CONNECTED, timeout=15)
        assert connected.action is None and tunnel.snapshot().action is None
    finally:
        assert tunnel.stop()


def test_reconnect_now(running: Tunnel, jumphost: Jumphost, events: EventLog) -> None:
    running.reconnect_now()
    asked = events.wait_for(State.CONNECTING)
    assert "as asked" in asked.detail
    events.wait_for(State.CONNECTED, timeout=15)
    assert running.status()["reconnects"] == 1
    with vendor_connect(jumphost) as conn:
        conn.sendall(b"again")
        assert recv_exact(conn, 5) == b"again"


def test_a_wake_cuts_the_backoff_short(
    jumphost: Jumphost, tk_home: AppPaths, events: EventLog, echo: TcpServer
) -> None:
    from app.core.backoff import Backoff
    from tests.support.net import free_port

    tunnel = start_tunnel(  # a port the jumphost refuses: it backs off
        jumphost, tk_home, events, echo.port, remote_port=free_port(),
        backoff=Backoff(base=300, cap=300),
    )  # fmt: skip
    try:
        events.wait_for(State.ERROR)
        assert tunnel.status()["next_retry_at"] is not None
        woken = time.monotonic()
        tunnel.woke()
        events.wait_for(State.CONNECTING, timeout=10)
        assert time.monotonic() - woken < 5  # not the 300 s backoff
        events.wait_for(State.ERROR)
        tunnel.network_changed()
        events.wait_for(State.CONNECTING, timeout=10)
    finally:
        assert tunnel.stop()


def test_every_event_carries_the_status_and_figures_reach_on_status(
    jumphost: Jumphost, tk_home: AppPaths, events: EventLog, echo: TcpServer
) -> None:
    jumphost.pin(tk_home)
    profile = jumphost.profile(echo.port)
    key = ssh.load_private_key(profile.key_path)
    figures: list[TunnelStatus] = []
    tunnel = Tunnel(profile, key, tk_home.known_hosts_file, events, on_status=figures.append)
    tunnel.start()
    try:
        connected = events.wait_for(State.CONNECTED)
        assert connected.status is not None
        assert connected.status.state is State.CONNECTED
        assert connected.status.detail == connected.detail
        assert connected.status.since is not None
        assert connected.status.to_dict() == tunnel.status()  # the same view, derived
        with vendor_connect(jumphost) as conn:
            conn.sendall(b"x" * 100)
            assert recv_exact(conn, 100) == b"x" * 100
        deadline = time.monotonic() + 10
        while not (
            figures and figures[-1].total_connections == 1 and not figures[-1].active_connections
        ):
            assert time.monotonic() < deadline, figures
            time.sleep(0.05)
        last = figures[-1]
        assert last.bytes_to_target == 100 and last.bytes_to_vendor == 100
        assert last.vendor_last_connected is not None and last.state is State.CONNECTED
    finally:
        assert tunnel.stop()
    stopped = events.wait_for(State.STOPPED)
    assert stopped.status is not None and stopped.status.total_connections == 1
    assert all(e.status is not None for e in events.events)
