"""The /metrics endpoint against real tunnels: scraped over HTTP while traffic flows."""

from __future__ import annotations

import socket
import time
from collections.abc import Iterator

import pytest

from app import ssh
from app.core.events import State
from app.core.listen_address import parse_listen_address
from app.services.host import TunnelHost
from app.services.metrics import MetricsEndpoint
from app.storage.paths import AppPaths
from tests.conftest import EventLog, Jumphost
from tests.support import firewall
from tests.support.metrics import Samples, scrape, value
from tests.support.net import TcpServer, free_port, recv_exact, wait_until

pytestmark = pytest.mark.integration

needs_firewall = pytest.mark.skipif(
    not firewall.available(), reason="iptables needs root (CI runs as root)"
)


class Hosted:
    """A TunnelHost with one real tunnel through ``jumphost``, and its metrics endpoint."""

    def __init__(self, jumphost: Jumphost, paths: AppPaths, events: EventLog, **fields: object):
        jumphost.pin(paths)
        self.host = TunnelHost(paths.known_hosts_file)
        self.host.listen(events)
        self.endpoint = MetricsEndpoint(self.host.statuses, parse_listen_address("127.0.0.1:0"))
        self.endpoint.start()
        profile = jumphost.profile(**fields)  # type: ignore[arg-type]
        self.host.start(profile, ssh.load_private_key(profile.key_path))

    def scrape(self) -> Samples:
        return scrape(self.endpoint.url)

    def value(self, name: str, **labels: str) -> float | None:
        return value(self.scrape(), name, tunnel="t1", **labels)

    def close(self) -> None:
        self.endpoint.close()
        assert self.host.stop_all()


@pytest.fixture
def hosted_echo(
    jumphost: Jumphost, tk_home: AppPaths, events: EventLog, echo: TcpServer
) -> Iterator[Hosted]:
    hosted = Hosted(jumphost, tk_home, events, target_port=echo.port, keepalive_interval=1)
    try:
        events.wait_for(State.CONNECTED)
        yield hosted
    finally:
        hosted.close()


def test_figures_move_with_the_traffic(hosted_echo: Hosted, jumphost: Jumphost) -> None:
    first = hosted_echo.scrape()
    assert value(first, "tunnelkeeper_tunnel_up", tunnel="t1") == 1
    states = {s.value: value(first, "tunnelkeeper_tunnel_state", tunnel="t1", state=s.value)
              for s in State}  # fmt: skip
    assert states == {s.value: (1.0 if s is State.CONNECTED else 0.0) for s in State}
    for direction in ("to_target", "to_vendor"):
        assert (
            value(first, "tunnelkeeper_tunnel_bytes_total", tunnel="t1", direction=direction) == 0
        )
    assert value(first, "tunnelkeeper_tunnel_connections_total", tunnel="t1") == 0
    assert value(first, "tunnelkeeper_tunnel_reconnects_total", tunnel="t1") == 0
    assert value(first, "tunnelkeeper_tunnel_target_refusals_total", tunnel="t1") == 0
    # never connected: no age to give (absent, not a made-up number)
    assert value(first, "tunnelkeeper_tunnel_last_connection_age_seconds", tunnel="t1") is None
    assert value(first, "process_cpu_seconds_total") is not None
    assert value(first, "process_resident_memory_bytes")

    payload = b"x" * 100_000
    with socket.create_connection(("127.0.0.1", jumphost.remote_port), timeout=30) as vendor:
        vendor.sendall(payload)
        assert recv_exact(vendor, len(payload)) == payload
        # figures reach the host about once a second while connected
        assert wait_until(
            lambda: (
                hosted_echo.value("tunnelkeeper_tunnel_connections_active") == 1
                and hosted_echo.value("tunnelkeeper_tunnel_bytes_total", direction="to_vendor")
                == len(payload)
            ),
            10,
            interval=0.2,
        )
        during = hosted_echo.scrape()
    assert value(during, "tunnelkeeper_tunnel_connections_total", tunnel="t1") == 1
    assert value(during, "tunnelkeeper_tunnel_bytes_total", tunnel="t1", direction="to_target") == (
        len(payload)
    )
    age = value(during, "tunnelkeeper_tunnel_last_connection_age_seconds", tunnel="t1")
    assert age is not None and 0 <= age < 10
    assert value(during, "tunnelkeeper_tunnel_last_connection_timestamp_seconds", tunnel="t1") == (
        pytest.approx(time.time(), abs=10)
    )
    assert wait_until(
        lambda: hosted_echo.value("tunnelkeeper_tunnel_connections_active") == 0, 10, interval=0.2
    )
    after = hosted_echo.scrape()
    assert value(after, "tunnelkeeper_tunnel_connections_total", tunnel="t1") == 1  # a counter
    assert value(after, "tunnelkeeper_tunnel_up", tunnel="t1") == 1


def test_the_keepalive_round_trip_is_reported(hosted_echo: Hosted) -> None:
    # keepalive_interval=1: a quiet link is probed every second, and sshd answers
    assert wait_until(
        lambda: hosted_echo.value("tunnelkeeper_tunnel_keepalive_rtt_seconds") is not None,
        10,
        interval=0.2,
    )
    rtt = hosted_echo.value("tunnelkeeper_tunnel_keepalive_rtt_seconds")
    assert rtt is not None and 0 < rtt < 1  # loopback: well under a second


def test_a_refusing_target_is_counted_while_the_tunnel_stays_up(
    jumphost: Jumphost, tk_home: AppPaths, events: EventLog
) -> None:
    closed = free_port()  # nothing listens there: the target refuses
    hosted = Hosted(jumphost, tk_home, events, target_port=closed)
    try:
        events.wait_for(State.CONNECTED)
        for _ in range(3):
            with socket.create_connection(("127.0.0.1", jumphost.remote_port), timeout=30) as v:
                v.settimeout(10)
                assert v.recv(1) == b""  # the channel is closed on us
        assert wait_until(
            lambda: hosted.value("tunnelkeeper_tunnel_target_refusals_total") == 3, 10, 0.2
        )
        assert hosted.value("tunnelkeeper_tunnel_up") == 1
        assert hosted.host.status("t1").target_refusals == 3  # type: ignore[union-attr]
    finally:
        hosted.close()


@needs_firewall
def test_up_goes_to_zero_within_the_keepalive_bound_when_the_jumphost_is_black_holed(
    jumphost: Jumphost, tk_home: AppPaths, events: EventLog, echo: TcpServer
) -> None:
    interval, count_max = 2, 1
    bound = (count_max + 1) * interval + 1
    hosted = Hosted(
        jumphost,
        tk_home,
        events,
        target_port=echo.port,
        keepalive_interval=interval,
        keepalive_count_max=count_max,
    )
    try:
        events.wait_for(State.CONNECTED)
        assert hosted.value("tunnelkeeper_tunnel_up") == 1
        with firewall.blackhole() as hole:
            hole.port(jumphost.port)
            dropped = time.monotonic()
            assert wait_until(lambda: hosted.value("tunnelkeeper_tunnel_up") == 0, bound + 10)
            detection = time.monotonic() - dropped
            print(
                f"\nFIGURE tunnel_up 1 -> 0 after a black hole: {detection:.2f} s (bound {bound})"
            )
            assert detection <= bound + 2
            down = hosted.scrape()
            assert value(down, "tunnelkeeper_tunnel_state", tunnel="t1", state="connected") == 0
            # the link is gone: no round trip to report
            assert value(down, "tunnelkeeper_tunnel_keepalive_rtt_seconds", tunnel="t1") is None
        events.wait_for(State.CONNECTED, timeout=60)
        assert wait_until(lambda: hosted.value("tunnelkeeper_tunnel_up") == 1, 10, 0.2)
        assert hosted.value("tunnelkeeper_tunnel_reconnects_total") == 1
    finally:
        hosted.close()
