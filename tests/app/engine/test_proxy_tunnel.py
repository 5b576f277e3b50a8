"""Tunnels through real proxies: Squid (HTTP CONNECT, Basic auth) and dante (SOCKS5)."""

from __future__ import annotations

import hashlib
import os
import socket
import threading
import time
from collections.abc import Iterator, Mapping
from pathlib import Path

import pytest

from app import ssh
from app.core import knownhosts
from app.core.events import State
from app.core.proxy import choose_route, parse_proxy
from app.engine.checks import ConnectionTest
from app.engine.tunnel import Tunnel
from app.errors import ProxyAuthFailed, ProxyRefused
from app.storage.paths import AppPaths
from tests.conftest import EventLog, Jumphost
from tests.support import firewall
from tests.support.cli import add_profile, tk
from tests.support.dante import running_dante, set_password
from tests.support.net import echo_handler, recv_all, recv_exact, tcp_server, wait_until
from tests.support.squid import Squid, running_squid
from tests.support.users import local_user

pytestmark = pytest.mark.integration

MIB = 1024 * 1024
needs_firewall = pytest.mark.skipif(
    not firewall.available(), reason="iptables needs root (CI runs as root)"
)


def start_proxied(
    host: Jumphost,
    paths: AppPaths,
    events: EventLog,
    target_port: int,
    proxy: str,
    password: str | None = None,
    env: Mapping[str, str] | None = None,
    **fields: object,
) -> Tunnel:
    host.pin(paths)
    profile = host.profile(target_port, proxy=proxy, **fields)
    key = ssh.load_private_key(profile.key_path)
    tunnel = Tunnel(
        profile,
        key,
        paths.known_hosts_file,
        events,
        proxy_password=password,
        env={} if env is None else env,
    )
    tunnel.start()
    return tunnel


@pytest.fixture
def squid(jumphost: Jumphost) -> Iterator[Squid]:
    """Squid that lets CONNECT through to the jumphost's port only, for user alice."""
    with running_squid(allow_ports=(jumphost.port,)) as proxy:
        yield proxy


def forwarding_works(host: Jumphost) -> bool:
    try:
        with socket.create_connection(("127.0.0.1", host.remote_port), timeout=2) as conn:
            conn.settimeout(2)
            conn.sendall(b"ping")
            return recv_exact(conn, 4) == b"ping"
    except OSError:
        return False


def carry_both_ways(host: Jumphost, start: object, size: int) -> float:
    """Start a tunnel with ``start(target_port)``, push ``size`` random bytes each way
    through it and check both arrive intact (sha256); the seconds the transfer took."""
    to_target, to_vendor = os.urandom(size), os.urandom(size)
    received: list[bytes] = []

    def target(conn: socket.socket) -> None:
        sender = threading.Thread(
            target=lambda: (conn.sendall(to_vendor), conn.shutdown(socket.SHUT_WR))
        )
        sender.start()
        received.append(recv_all(conn))
        sender.join()

    with tcp_server(target) as server:
        tunnel: Tunnel = start(server.port)  # type: ignore[operator]
        try:
            assert wait_until(lambda: tunnel.state is State.CONNECTED, 30), tunnel.detail
            started = time.monotonic()
            with socket.create_connection(("127.0.0.1", host.remote_port), timeout=60) as conn:
                result: list[bytes] = []
                reader = threading.Thread(target=lambda: result.append(recv_all(conn)))
                reader.start()
                conn.sendall(to_target)
                conn.shutdown(socket.SHUT_WR)
                reader.join(180)
            assert wait_until(lambda: bool(received), 60)
            took = time.monotonic() - started
        finally:
            assert tunnel.stop()
    assert hashlib.sha256(result[0]).digest() == hashlib.sha256(to_vendor).digest()
    assert hashlib.sha256(received[0]).digest() == hashlib.sha256(to_target).digest()
    return took


# --- Squid: HTTP CONNECT with Basic auth ---------------------------------------------------------


def test_through_squid_64_mib_each_way_and_the_access_log_shows_it(
    jumphost: Jumphost, tk_home: AppPaths, events: EventLog, squid: Squid
) -> None:
    size = 64 * MIB

    def direct(port: int) -> Tunnel:
        return start_proxied(jumphost, tk_home, events, port, "none")

    def proxied(port: int) -> Tunnel:
        return start_proxied(jumphost, tk_home, events, port, squid.url, squid.password)

    direct_s = carry_both_ways(jumphost, direct, size)
    assert squid.connects() == []
    proxied_s = carry_both_ways(jumphost, proxied, size)
    print(
        f"\nFIGURE 64 MiB each way: direct {direct_s:.2f} s, through Squid {proxied_s:.2f} s "
        f"(ratio {proxied_s / direct_s:.2f})"
    )
    connected = [e for e in events.events if e.state is State.CONNECTED]
    assert f"via HTTP proxy 127.0.0.1:{squid.port} (set for this tunnel)" in connected[-1].detail
    # Squid writes a CONNECT's line when the tunnel closes: proof the bytes went through it
    assert wait_until(lambda: len(squid.connects()) == 1, 10), squid.connects()
    line = squid.connects()[0]
    assert f"CONNECT 127.0.0.1:{jumphost.port} alice" in line
    assert "TCP_TUNNEL/200" in line


def test_a_wrong_proxy_password_waits_for_the_user_with_the_407_sentence(
    jumphost: Jumphost, tk_home: AppPaths, events: EventLog, squid: Squid
) -> None:
    tunnel = start_proxied(jumphost, tk_home, events, 1, squid.url, "not-the-password")
    try:
        failed = events.wait_for(State.ERROR)
        assert "proxy authentication failed (407)" in failed.detail
        assert failed.status is not None and failed.status.next_retry_at is None  # waits
        assert failed.extra.get("action") == "edit"
    finally:
        assert tunnel.stop()
    with pytest.raises(ProxyAuthFailed):
        route = choose_route(parse_proxy(squid.url), {}, "127.0.0.1", jumphost.port)
        ssh.dial(ssh.Endpoint("127.0.0.1", jumphost.port), 10, route=route)  # no password


def test_squids_ssl_ports_rule_gives_the_403_sentence_naming_the_port(
    jumphost: Jumphost,
) -> None:
    with running_squid(ssl_ports_only=True) as squid:
        route = choose_route(parse_proxy(squid.url), {}, "127.0.0.1", jumphost.port)
        with pytest.raises(ProxyRefused) as caught:
            ssh.dial(ssh.Endpoint("127.0.0.1", jumphost.port), 10, None, route, squid.password)
    assert str(caught.value) == (
        f"the proxy 127.0.0.1:{squid.port} refused to connect to port {jumphost.port} "
        "(HTTP 403) — many proxies allow only port 443; ask your network team to allow "
        f"127.0.0.1:{jumphost.port}"
    )


# --- dante: SOCKS5 -----------------------------------------------------------------------------


def test_through_dante_without_a_login(
    jumphost: Jumphost, tk_home: AppPaths, events: EventLog
) -> None:
    with running_dante() as dante:
        url = f"socks5://127.0.0.1:{dante.port}"
        carry_both_ways(
            jumphost,
            lambda port: start_proxied(jumphost, tk_home, events, port, url),
            16 * MIB,
        )
        assert f"127.0.0.1.{jumphost.port}" in dante.log_text()


def test_through_dante_with_a_user_and_password(
    jumphost: Jumphost, tk_home: AppPaths, events: EventLog
) -> None:
    with local_user() as user, running_dante(username=True) as dante:
        set_password(user.name, "s0cks-pass")
        url = f"socks5://{user.name}@127.0.0.1:{dante.port}"
        carry_both_ways(
            jumphost,
            lambda port: start_proxied(jumphost, tk_home, events, port, url, "s0cks-pass"),
            16 * MIB,
        )
        route = choose_route(parse_proxy(url), {}, "127.0.0.1", jumphost.port)
        with pytest.raises(ProxyAuthFailed, match="proxy authentication failed"):
            ssh.dial(ssh.Endpoint("127.0.0.1", jumphost.port), 10, None, route, "wrong")


def test_socks5h_leaves_the_name_to_the_proxy(
    jumphost: Jumphost, tk_home: AppPaths, events: EventLog
) -> None:
    heard = bytearray()  # what the client said to dante, as a relay in front of it heard

    with running_dante() as dante, tcp_server(echo_handler) as target:

        def relay(conn: socket.socket) -> None:
            with socket.create_connection(("127.0.0.1", dante.port), 10) as upstream:
                back = threading.Thread(target=pipe, args=(upstream, conn, None), daemon=True)
                back.start()
                pipe(conn, upstream, heard)
                back.join(10)

        with tcp_server(relay) as front:
            pub = Path(f"{jumphost.sshd.host_key}.pub").read_text().split()
            pattern = knownhosts.host_pattern("localhost", jumphost.port)
            tk_home.known_hosts_file.parent.mkdir(parents=True, exist_ok=True)
            tk_home.known_hosts_file.write_text(f"{pattern} {pub[0]} {pub[1]}\n")
            profile = jumphost.profile(
                target.port, jumphost="localhost", proxy=f"socks5h://127.0.0.1:{front.port}"
            )
            key = ssh.load_private_key(profile.key_path)
            tunnel = Tunnel(profile, key, tk_home.known_hosts_file, events, env={})
            tunnel.start()
            try:
                events.wait_for(State.CONNECTED)
                assert forwarding_works(jumphost)
            finally:
                assert tunnel.stop()
    # SOCKS5 CONNECT with address type 3 (a name): the proxy resolved "localhost"
    request = b"\x05\x01\x00\x03" + bytes([9]) + b"localhost" + jumphost.port.to_bytes(2, "big")
    assert request in heard


def pipe(source: socket.socket, sink: socket.socket, record: bytearray | None) -> None:
    """Copy until EOF (recording the first KiB), then half-close the other way."""
    try:
        while data := source.recv(65536):
            if record is not None and len(record) < 1024:
                record.extend(data[:1024])
            sink.sendall(data)
        sink.shutdown(socket.SHUT_WR)
    except OSError:
        pass


# --- the system's proxy: HTTPS_PROXY and NO_PROXY -------------------------------------------------


def test_https_proxy_and_no_proxy_are_honoured(
    jumphost: Jumphost, tk_home: AppPaths, events: EventLog, squid: Squid
) -> None:
    secret_url = f"http://alice:{squid.password}@127.0.0.1:{squid.port}"
    with tcp_server(lambda conn: None) as target:
        env = {"HTTPS_PROXY": secret_url}
        tunnel = start_proxied(jumphost, tk_home, events, target.port, "system", env=env)
        try:
            connected = events.wait_for(State.CONNECTED)
            assert f"via HTTP proxy 127.0.0.1:{squid.port} (HTTPS_PROXY)" in connected.detail
        finally:
            assert tunnel.stop()
        assert wait_until(lambda: len(squid.connects()) == 1, 10)
        env = {"HTTPS_PROXY": secret_url, "NO_PROXY": "localhost,127.0.0.1"}
        tunnel = start_proxied(jumphost, tk_home, events, target.port, "system", env=env)
        try:
            connected = events.wait_for(State.CONNECTED)
            assert "(direct: 127.0.0.1 is in NO_PROXY)" in connected.detail
        finally:
            assert tunnel.stop()
    assert len(squid.connects()) == 1  # the second went direct


def test_the_connection_test_names_the_route(
    jumphost: Jumphost, tk_home: AppPaths, squid: Squid
) -> None:
    jumphost.pin(tk_home)
    profile = jumphost.profile(1, proxy="system")
    env = {"https_proxy": squid.url}

    def run(env: Mapping[str, str]) -> str:
        check = ConnectionTest(
            profile,
            tk_home.known_hosts_file,
            lambda p: ssh.load_private_key(p.key_path),
            lambda name: None,
            proxy_password=squid.password,
            env=env,
        )
        return check.run()[1].detail

    assert run(env).startswith(f"via HTTP proxy 127.0.0.1:{squid.port} (HTTPS_PROXY): ")
    assert run({}).startswith("direct: no proxy set; ")


def test_the_test_command_follows_https_proxy_and_no_proxy(
    jumphost: Jumphost, tk_home: AppPaths, squid: Squid
) -> None:
    jumphost.pin(tk_home)
    add_profile(jumphost, 1, name="db")
    env = dict(os.environ)
    env["HTTPS_PROXY"] = f"http://alice:{squid.password}@127.0.0.1:{squid.port}"
    proxied = tk("test", "db", env=env)
    assert f"via HTTP proxy 127.0.0.1:{squid.port} (HTTPS_PROXY)" in proxied.stdout, (
        proxied.stdout + proxied.stderr
    )
    env["NO_PROXY"] = "127.0.0.1"
    direct = tk("test", "db", env=env)
    assert "direct: 127.0.0.1 is in NO_PROXY" in direct.stdout, direct.stdout + direct.stderr


# --- faults through the proxy --------------------------------------------------------------------


def test_squid_killed_mid_transfer_and_restarted_the_tunnel_comes_back(
    jumphost: Jumphost, tk_home: AppPaths, events: EventLog, squid: Squid
) -> None:
    stop_pushing = threading.Event()

    def endless(conn: socket.socket) -> None:
        chunk = os.urandom(64 * 1024)
        while not stop_pushing.is_set():
            conn.sendall(chunk)

    with tcp_server(endless) as target:
        tunnel = start_proxied(jumphost, tk_home, events, target.port, squid.url, squid.password)
        try:
            events.wait_for(State.CONNECTED)
            with socket.create_connection(("127.0.0.1", jumphost.remote_port), 10) as conn:
                conn.settimeout(10)
                assert len(recv_exact(conn, MIB)) == MIB  # data is flowing
                squid.kill()
                events.wait_for(State.RETRYING, timeout=15)
            stop_pushing.set()
            squid.start()
            connected = events.wait_for(State.CONNECTED, timeout=40)
            assert "via HTTP proxy" in connected.detail
            assert tunnel.status()["reconnects"] == 1
        finally:
            stop_pushing.set()
            assert tunnel.stop()


@needs_firewall
def test_a_black_holed_proxy_is_lost_within_the_keepalive_bound(
    jumphost: Jumphost, tk_home: AppPaths, events: EventLog, squid: Squid
) -> None:
    interval, count_max = 2, 1
    bound = (count_max + 1) * interval + 1
    with tcp_server(echo_handler) as target:
        tunnel = start_proxied(
            jumphost,
            tk_home,
            events,
            target.port,
            squid.url,
            squid.password,
            keepalive_interval=interval,
            keepalive_count_max=count_max,
        )
        try:
            events.wait_for(State.CONNECTED)
            with firewall.blackhole() as hole:
                hole.port(squid.port)
                dropped = time.monotonic()
                lost = events.wait_for(State.RETRYING, timeout=bound + 10)
                detection = time.monotonic() - dropped
                print(f"\nFIGURE dead-proxy detection (interval 2 s, count 1): {detection:.2f} s")
                assert detection <= bound + 2
                assert "no reply from the jumphost" in lost.detail
            events.wait_for(State.CONNECTED, timeout=60)
            assert wait_until(lambda: forwarding_works(jumphost), 30, interval=0.2)
        finally:
            assert tunnel.stop()
