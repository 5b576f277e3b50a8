"""The metrics collector and its HTTP server, on loopback, with statuses made up here."""

from __future__ import annotations

import contextlib
import socket
import threading
import time
import urllib.error
import urllib.request
from collections.abc import Iterator

import pytest
from prometheus_client import CollectorRegistry, generate_latest
from prometheus_client.parser import text_string_to_metric_families

from app.core.events import State, TunnelStatus
from app.core.listen_address import parse_listen_address
from app.errors.metrics import BadListenAddress, MetricsNotLoopback, MetricsUnavailable
from app.services.metrics import (
    MetricsEndpoint,
    TunnelCollector,
    metrics_address,
    metrics_registry,
    remote_warning,
)
from tests.support.metrics import parse, scrape, value
from tests.support.net import wait_until

NOW = 1_700_000_000.0
UP = TunnelStatus(
    "db",
    State.CONNECTED,
    "up",
    bytes_to_target=1234,
    bytes_to_vendor=5678,
    active_connections=2,
    total_connections=9,
    reconnects=3,
    target_refusals=4,
    vendor_last_connected=NOW - 30,
    keepalive_rtt=0.0125,
)
DOWN = TunnelStatus('we"ird\nname', State.RETRYING, "lost", reconnects=1)


@pytest.fixture
def endpoint() -> Iterator[MetricsEndpoint]:
    served = MetricsEndpoint(lambda: [UP, DOWN], parse_listen_address("127.0.0.1:0"))
    served.start()
    yield served
    served.close()


def test_every_figure_of_a_status_is_exported() -> None:
    registry = CollectorRegistry()
    registry.register(TunnelCollector(lambda: [UP, DOWN], clock=lambda: NOW))
    samples = parse(generate_latest(registry).decode())
    db = {"tunnel": "db"}
    assert value(samples, "tunnelkeeper_tunnel_up", **db) == 1
    assert value(samples, "tunnelkeeper_tunnel_bytes_total", direction="to_target", **db) == 1234
    assert value(samples, "tunnelkeeper_tunnel_bytes_total", direction="to_vendor", **db) == 5678
    assert value(samples, "tunnelkeeper_tunnel_connections_active", **db) == 2
    assert value(samples, "tunnelkeeper_tunnel_connections_total", **db) == 9
    assert value(samples, "tunnelkeeper_tunnel_reconnects_total", **db) == 3
    assert value(samples, "tunnelkeeper_tunnel_target_refusals_total", **db) == 4
    assert value(samples, "tunnelkeeper_tunnel_last_connection_age_seconds", **db) == 30
    assert value(samples, "tunnelkeeper_tunnel_last_connection_timestamp_seconds", **db) == NOW - 30
    assert value(samples, "tunnelkeeper_tunnel_keepalive_rtt_seconds", **db) == 0.0125
    # a name with a quote and a newline survives the text format as a label value
    odd = {"tunnel": 'we"ird\nname'}
    assert value(samples, "tunnelkeeper_tunnel_up", **odd) == 0
    assert value(samples, "tunnelkeeper_tunnel_state", state="retrying", **odd) == 1
    assert sum(value(samples, "tunnelkeeper_tunnel_state", state=s.value, **odd) or 0
               for s in State) == 1  # fmt: skip
    # unknown figures are absent, not zero
    assert value(samples, "tunnelkeeper_tunnel_keepalive_rtt_seconds", **odd) is None
    assert value(samples, "tunnelkeeper_tunnel_last_connection_age_seconds", **odd) is None
    assert any(name == "tunnelkeeper_build_info" for name, _ in samples)


def test_no_tunnels_still_serves_the_process_figures() -> None:
    body = generate_latest(metrics_registry(list)).decode()
    names = {s.name for f in text_string_to_metric_families(body) for s in f.samples}
    assert "tunnelkeeper_tunnel_up" not in names
    process = {"process_cpu_seconds_total", "process_resident_memory_bytes", "process_open_fds"}
    assert {*process, "python_info", "tunnelkeeper_build_info"} <= names


def test_it_serves_metrics_at_slash_metrics_only(endpoint: MetricsEndpoint) -> None:
    samples = scrape(endpoint.url)
    assert value(samples, "tunnelkeeper_tunnel_up", tunnel="db") == 1
    for path in ("/", "/other"):
        with pytest.raises(urllib.error.HTTPError) as refused:
            urllib.request.urlopen(endpoint.url.replace("/metrics", path), timeout=5)
        assert refused.value.code == 404
    # Prometheus' own query: only some families
    picked = scrape(endpoint.url + "?name[]=tunnelkeeper_tunnel_up")
    assert {name for name, _ in picked} == {"tunnelkeeper_tunnel_up"}


def test_the_port_the_system_chose_is_the_one_shown(endpoint: MetricsEndpoint) -> None:
    assert endpoint.address.port != 0
    assert endpoint.url == f"http://127.0.0.1:{endpoint.address.port}/metrics"


def test_a_taken_port_is_a_sentence(endpoint: MetricsEndpoint) -> None:
    again = MetricsEndpoint(list, endpoint.address)
    with pytest.raises(MetricsUnavailable, match=r"cannot serve metrics on 127\.0\.0\.1:\d+: "):
        again.start()


def test_close_stops_listening_at_once(endpoint: MetricsEndpoint) -> None:
    port = endpoint.address.port
    started = time.monotonic()
    endpoint.close()
    assert time.monotonic() - started < 1.0
    with pytest.raises(OSError):
        socket.create_connection(("127.0.0.1", port), timeout=2).close()
    endpoint.close()  # twice is harmless


def scrape_threads() -> int:
    return sum("process_request" in t.name for t in threading.enumerate())


def test_silent_scrapers_hold_at_most_the_bounded_number_of_threads() -> None:
    served = MetricsEndpoint(lambda: [UP], parse_listen_address("127.0.0.1:0"), slots=2)
    served.start()
    before = scrape_threads()
    silent = [socket.create_connection(("127.0.0.1", served.address.port)) for _ in range(5)]
    try:
        assert wait_until(lambda: scrape_threads() - before == 2, 5)
        # the ones past the bound are closed unanswered once no slot frees in time
        for extra in silent[2:]:
            extra.settimeout(15)
            with contextlib.suppress(ConnectionResetError):  # reset: it had unread bytes
                assert extra.recv(1) == b""
        assert scrape_threads() - before == 2
    finally:
        for conn in silent:
            conn.close()
    assert wait_until(lambda: scrape_threads() == before, 5)  # their slots are free again
    assert value(scrape(served.url), "tunnelkeeper_tunnel_up", tunnel="db") == 1
    served.close()


@pytest.mark.parametrize("text", ["127.0.0.1:9464", "9464", "localhost:9464", "[::1]:9464"])
def test_loopback_addresses_need_no_permission(text: str) -> None:
    assert metrics_address(text, False, "--metrics-allow-remote").loopback


@pytest.mark.parametrize("text", ["0.0.0.0:9464", "[::]:9464", "192.0.2.7:9464", "box:9464"])
def test_other_addresses_are_refused_unless_allowed(text: str) -> None:
    with pytest.raises(MetricsNotLoopback) as refused:
        metrics_address(text, False, "--metrics-allow-remote")
    said = str(refused.value)
    assert "is not a loopback address" in said and "--metrics-allow-remote" in said
    allowed = metrics_address(text, True, "--metrics-allow-remote")
    assert not allowed.loopback
    assert "other machines can reach" in remote_warning(allowed)


def test_an_unreadable_address_is_refused_with_the_reason() -> None:
    with pytest.raises(BadListenAddress, match="the port must be a number"):
        metrics_address("127.0.0.1:http", True, "--metrics-allow-remote")


def test_an_allowed_wildcard_address_serves_on_loopback_too() -> None:
    served = MetricsEndpoint(lambda: [UP], metrics_address("0.0.0.0:0", True, "x"))
    served.start()
    try:
        url = f"http://127.0.0.1:{served.address.port}/metrics"
        assert value(scrape(url), "tunnelkeeper_tunnel_up", tunnel="db") == 1
    finally:
        served.close()
