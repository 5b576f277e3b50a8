"""The Prometheus ``/metrics`` endpoint: the hosted tunnels' figures, read at each scrape."""

from __future__ import annotations

import logging
import selectors
import socket
import socketserver
import threading
import time
from collections.abc import Callable, Iterable, Iterator
from typing import Any
from wsgiref.simple_server import WSGIRequestHandler, WSGIServer

from prometheus_client import (
    GC_COLLECTOR,
    PLATFORM_COLLECTOR,
    PROCESS_COLLECTOR,
    CollectorRegistry,
    make_wsgi_app,
)
from prometheus_client.core import (
    CounterMetricFamily,
    GaugeMetricFamily,
    InfoMetricFamily,
    Metric,
)

from app import __version__
from app.core.events import State, TunnelStatus
from app.core.listen_address import ListenAddress, parse_listen_address
from app.errors.metrics import MetricsNotLoopback, MetricsUnavailable

log = logging.getLogger(__name__)

PATH = "/metrics"
DEFAULT_ADDRESS = "127.0.0.1:9464"
# Scrapes served at once: each has a thread of its own while it lasts; one more waits in
# the kernel's accept queue (SLOT_WAIT s at most, then it is closed unanswered). Prometheus
# scrapes a target one request at a time, so 4 leaves room for a person's curl as well.
MAX_SCRAPES = 4
SLOT_WAIT = 2.0
# A scraper that sends nothing (or takes its answer that slowly) loses its slot after this
# many seconds of silence on the socket.
REQUEST_TIMEOUT = 10.0

Statuses = Callable[[], list[TunnelStatus]]


class TunnelCollector:
    """Each hosted tunnel's figures, made at scrape time from ``statuses()`` (the host's
    last reports: its byte and connection figures are refreshed about once a second while
    connected); no thread keeps gauges up to date in between. Label ``tunnel`` is the
    tunnel's name."""

    def __init__(self, statuses: Statuses, clock: Callable[[], float] = time.time) -> None:
        self._statuses = statuses
        self._clock = clock

    def describe(self) -> Iterator[Metric]:
        """The families without samples: lets ``?name[]=`` pick among them."""
        return iter(_Families().all())

    def collect(self) -> Iterator[Metric]:
        found = _Families()
        now = self._clock()
        for status in self._statuses():
            name = [status.tunnel]
            found.up.add_metric(name, 1.0 if status.state is State.CONNECTED else 0.0)
            for state in State:
                found.state.add_metric([status.tunnel, state.value], status.state is state)
            found.bytes.add_metric([status.tunnel, "to_target"], status.bytes_to_target)
            found.bytes.add_metric([status.tunnel, "to_vendor"], status.bytes_to_vendor)
            found.active.add_metric(name, status.active_connections)
            found.connections.add_metric(name, status.total_connections)
            found.reconnects.add_metric(name, status.reconnects)
            found.refusals.add_metric(name, status.target_refusals)
            if status.vendor_last_connected:  # absent until the vendor first connects
                found.last_at.add_metric(name, status.vendor_last_connected)
                found.last_age.add_metric(name, max(0.0, now - status.vendor_last_connected))
            if status.keepalive_rtt is not None:  # absent while no live link has answered
                found.rtt.add_metric(name, status.keepalive_rtt)
        found.build.add_metric([], {"version": __version__})
        return iter(found.all())


class _Families:
    """Every family the collector exports, empty. The names are documented in the README
    and used by docs/grafana-dashboard.json and docs/prometheus-alerts.yml."""

    def __init__(self) -> None:
        tunnel = ["tunnel"]
        self.up = GaugeMetricFamily(
            "tunnelkeeper_tunnel_up",
            "1 while the tunnel is connected (the jumphost listens for the vendor), else 0.",
            labels=tunnel,
        )
        self.state = GaugeMetricFamily(
            "tunnelkeeper_tunnel_state",
            "1 for the tunnel's current state, 0 for the others.",
            labels=["tunnel", "state"],
        )
        self.bytes = CounterMetricFamily(
            "tunnelkeeper_tunnel_bytes",
            "Bytes carried by forwarded connections, by direction (to_target: from the "
            "vendor to the local target; to_vendor: back).",
            labels=["tunnel", "direction"],
            unit="bytes",
        )
        self.active = GaugeMetricFamily(
            "tunnelkeeper_tunnel_connections_active",
            "Forwarded connections open now.",
            labels=tunnel,
        )
        self.connections = CounterMetricFamily(
            "tunnelkeeper_tunnel_connections",
            "Forwarded connections the vendor opened.",
            labels=tunnel,
        )
        self.reconnects = CounterMetricFamily(
            "tunnelkeeper_tunnel_reconnects",
            "Times the tunnel connected again after its first connection.",
            labels=tunnel,
        )
        self.refusals = CounterMetricFamily(
            "tunnelkeeper_tunnel_target_refusals",
            "Forwarded connections the local target refused or did not answer in time.",
            labels=tunnel,
        )
        self.last_at = GaugeMetricFamily(
            "tunnelkeeper_tunnel_last_connection_timestamp_seconds",
            "When the vendor last opened a forwarded connection (Unix time).",
            labels=tunnel,
        )
        self.last_age = GaugeMetricFamily(
            "tunnelkeeper_tunnel_last_connection_age_seconds",
            "Seconds since the vendor last opened a forwarded connection.",
            labels=tunnel,
        )
        self.rtt = GaugeMetricFamily(
            "tunnelkeeper_tunnel_keepalive_rtt_seconds",
            "Round trip of the live link's last keepalive to the jumphost.",
            labels=tunnel,
        )
        self.build = InfoMetricFamily("tunnelkeeper_build", "The Tunnelkeeper version serving.")

    def all(self) -> list[Metric]:
        return [
            self.up,
            self.state,
            self.bytes,
            self.active,
            self.connections,
            self.reconnects,
            self.refusals,
            self.last_at,
            self.last_age,
            self.rtt,
            self.build,
        ]


def metrics_registry(statuses: Statuses) -> CollectorRegistry:
    """A registry of its own (not prometheus_client's global one): the tunnels' figures,
    and this process's CPU, memory, file descriptors, Python and garbage collector."""
    registry = CollectorRegistry()
    registry.register(TunnelCollector(statuses))
    for collector in (PROCESS_COLLECTOR, PLATFORM_COLLECTOR, GC_COLLECTOR):
        registry.register(collector)
    return registry


def metrics_address(text: str, allow_remote: bool, allow: str) -> ListenAddress:
    """The address to serve on, from ``text``; a non-loopback one only when
    ``allow_remote`` (else MetricsNotLoopback, whose remedy names ``allow``: the flag or
    setting that allows it). Raises BadListenAddress for text that is no address."""
    address = parse_listen_address(text)
    if not address.loopback and not allow_remote:
        raise MetricsNotLoopback(address.label, allow)
    return address


def remote_warning(address: ListenAddress) -> str:
    """What to say when serving beyond this machine (allowed, but worth a line)."""
    return (
        f"metrics are served on {address.label}, which other machines can reach: the "
        "tunnels' names and figures are readable by anyone who can connect (no sign-in); "
        "restrict it with a firewall."
    )


def _app(registry: CollectorRegistry) -> Callable[..., Iterable[bytes]]:
    """The WSGI application: prometheus_client's at ``/metrics``, 404 elsewhere."""
    metrics = make_wsgi_app(registry)

    def app(environ: dict[str, Any], start_response: Callable[..., Any]) -> Iterable[bytes]:
        if environ.get("PATH_INFO") == PATH:
            result: Iterable[bytes] = metrics(environ, start_response)
            return result
        start_response("404 Not Found", [("Content-Type", "text/plain; charset=utf-8")])
        return [f"Tunnelkeeper serves its metrics at {PATH}\n".encode()]

    return app


class _QuietHandler(WSGIRequestHandler):
    """No access log line per scrape; a silent scraper is dropped (``timeout``)."""

    timeout = REQUEST_TIMEOUT
    disable_nagle_algorithm = True  # headers and body are written apart: no delayed-ACK wait

    def log_message(self, format: str, *args: Any) -> None:
        pass


class _BoundedServer(socketserver.ThreadingMixIn, WSGIServer):
    """A thread per scrape, at most ``slots`` at once (prometheus_client's own server has
    no bound: a thread for every connection)."""

    daemon_threads = True
    block_on_close = False
    timeout = 0.0  # handle_request() after select() said a connection waits: never blocks

    def __init__(self, address: ListenAddress, slots: int) -> None:
        self.address_family = socket.AF_INET6 if address.ipv6 else socket.AF_INET
        self._slots = threading.BoundedSemaphore(slots)
        super().__init__((address.host, address.port), _QuietHandler)

    def server_bind(self) -> None:
        # HTTPServer's own looks this machine's name up (getfqdn: DNS, maybe slow); a WSGI
        # environ only needs something to put in SERVER_NAME.
        socketserver.TCPServer.server_bind(self)
        host, port = self.server_address[:2]
        self.server_name, self.server_port = str(host), int(port)
        self.setup_environ()

    def process_request(self, request: Any, client_address: Any) -> None:
        if not self._slots.acquire(timeout=SLOT_WAIT):
            self.shutdown_request(request)  # every slot busy: closed, no thread made
            return
        try:
            super().process_request(request, client_address)
        except BaseException:
            self._slots.release()
            raise

    def process_request_thread(self, request: Any, client_address: Any) -> None:
        try:
            super().process_request_thread(request, client_address)
        finally:
            self._slots.release()

    def handle_error(self, request: Any, client_address: Any) -> None:
        # socketserver's own prints a traceback on stderr: a scraper that hung up or went
        # silent is not worth one
        log.debug("metrics request from %s failed", client_address, exc_info=True)


class MetricsEndpoint:
    """Serves ``/metrics`` for the tunnels ``statuses()`` lists (a ``TunnelHost``'s), on
    one daemon thread that sleeps until a scraper connects (no periodic wake-ups), plus a
    thread per scrape while it lasts (``MAX_SCRAPES`` at most)."""

    def __init__(
        self, statuses: Statuses, address: ListenAddress, slots: int = MAX_SCRAPES
    ) -> None:
        self._statuses = statuses
        self._wanted = address
        self._slots = slots
        self._server: _BoundedServer | None = None
        self._thread: threading.Thread | None = None
        self._wake: tuple[socket.socket, socket.socket] | None = None  # close()'s doorbell

    @property
    def address(self) -> ListenAddress:
        """Where it listens (with the port the system chose, when port 0 was asked for)."""
        if self._server is None:
            return self._wanted
        return ListenAddress(self._wanted.host, int(self._server.server_address[1]))

    @property
    def url(self) -> str:
        return f"http://{self.address.label}{PATH}"

    def start(self) -> None:
        """Listen and serve; raises MetricsUnavailable when the address cannot be used."""
        reason: str | None = None
        try:
            server = _BoundedServer(self._wanted, self._slots)
        except OSError as exc:
            reason = exc.strerror or str(exc)
        if reason is not None:
            # raised outside the except: its frame would hold ``exc`` and so keep, by a
            # reference cycle, every caller's frame alive until the interpreter exits
            raise MetricsUnavailable(self._wanted.label, reason)
        server.set_app(_app(metrics_registry(self._statuses)))
        self._server = server
        self._wake = socket.socketpair()
        self._thread = threading.Thread(target=self._serve, name="metrics", daemon=True)
        self._thread.start()
        log.info("serving metrics at %s", self.url)

    def _serve(self) -> None:
        server, wake = self._server, self._wake
        assert server is not None and wake is not None
        with selectors.DefaultSelector() as selector:
            selector.register(server.socket, selectors.EVENT_READ)
            selector.register(wake[0], selectors.EVENT_READ)
            while True:
                ready = {key.fileobj for key, _ in selector.select()}
                if wake[0] in ready:
                    return
                server.handle_request()  # accepts the waiting connection (never blocks)

    def close(self, timeout: float = 2.0) -> None:
        """Stop listening (scrapes under way finish on their own daemon threads)."""
        server, self._server = self._server, None
        wake, self._wake = self._wake, None
        if server is None or wake is None:
            return
        wake[1].send(b"x")
        if self._thread is not None:
            self._thread.join(timeout)
        server.server_close()
        for end in wake:
            end.close()
