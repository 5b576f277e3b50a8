"""The tunnel engine: one worker thread per tunnel that connects, forwards and retries."""

from __future__ import annotations

import contextlib
import logging
import socket
import threading
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

from app import knownhosts, ssh
from app.backoff import Backoff
from app.errors import (
    AuthRejected,
    ConfigError,
    ConnectionTrouble,
    ForwardRefused,
    HostKeyChanged,
    HostKeyRevoked,
    HostKeyUnknown,
    TunnelkeeperError,
)
from app.events import State, TunnelEvent
from app.forward import Counters, Forwarder
from app.profile import Profile

log = logging.getLogger(__name__)

EventSink = Callable[[TunnelEvent], None]
STOP_TIMEOUT = 5.0
LIVENESS_POLL = 0.5


def read_known_hosts(path: Path) -> knownhosts.ParsedFile:
    try:
        text = path.read_text(encoding="utf-8")
    except FileNotFoundError:
        text = ""
    parsed = knownhosts.parse(text)
    for problem in parsed.problems:
        log.warning("%s line %d: %s", path, problem.line_number, problem.reason)
    return parsed


class Tunnel:
    """Keeps one profile's reverse forward up until ``stop()``.

    Runs on its own thread; reports through ``sink`` (called on that thread or on
    forwarding threads — a GUI must marshal to its own thread).
    """

    def __init__(
        self,
        profile: Profile,
        key: Any,
        known_hosts: Path,
        sink: EventSink,
        backoff: Backoff | None = None,
        connect_timeout: float = ssh.CONNECT_TIMEOUT,
    ) -> None:
        self.profile = profile
        self._key = key
        self._known_hosts = known_hosts
        self._sink = sink
        self._backoff = backoff or Backoff()
        self._connect_timeout = connect_timeout
        self._stop = threading.Event()
        self._lock = threading.Lock()
        self._sock: socket.socket | None = None
        self._transport: Any = None
        self._forwarder: Forwarder | None = None
        self._requests: ssh.GlobalRequests | None = None
        self._thread = threading.Thread(
            target=self._run, name=f"tunnel-{profile.name}", daemon=True
        )
        self.counters = Counters()
        self.state = State.STOPPED
        self.detail = ""
        self.reconnects = 0

    # --- public ---------------------------------------------------------------------

    def start(self) -> None:
        self._thread.start()

    def stop(self, timeout: float = STOP_TIMEOUT) -> bool:
        """Cancel the forward, close the connection and wait; True if it ended in time."""
        self._stop.set()
        self._abort_connection()
        self._thread.join(timeout)
        return not self._thread.is_alive()

    @property
    def running(self) -> bool:
        return self._thread.is_alive()

    # --- internals ------------------------------------------------------------------

    def _emit(self, state: State, detail: str, **extra: Any) -> None:
        self.state, self.detail = state, detail
        event = TunnelEvent(self.profile.name, state, detail, extra=extra)
        try:
            self._sink(event)
        except Exception:
            log.exception("event sink failed")

    def _abort_connection(self) -> None:
        with self._lock:
            sock, transport = self._sock, self._transport
        if transport is not None:
            with contextlib.suppress(Exception):
                transport.close()
        if sock is not None:
            with contextlib.suppress(OSError):
                sock.shutdown(socket.SHUT_RDWR)
            with contextlib.suppress(OSError):
                sock.close()

    def _run(self) -> None:
        try:
            while not self._stop.is_set():
                delay = self._attempt()
                if self._stop.is_set():
                    break
                self._stop.wait(delay)
        finally:
            self._emit(State.STOPPED, "the tunnel is stopped.")

    def _attempt(self) -> float:
        """One connection's life; returns how long to wait before the next."""
        profile = self.profile
        endpoint = ssh.Endpoint(profile.jumphost, profile.ssh_port)
        self._emit(State.CONNECTING, f"connecting to {endpoint.label} as {profile.user}.")
        connected_at: float | None = None
        try:
            self._connect(endpoint)
            connected_at = time.monotonic()
            self._emit(
                State.CONNECTED,
                f"the jumphost {endpoint.label} is listening on "
                f"{profile.forward_bind or '*'}:{profile.remote_port} and forwards to "
                f"{profile.target}.",
            )
            reason = self._watch(endpoint)
            if self._stop.is_set():
                return 0.0
            self.reconnects += 1
            return self._retry(reason, connected_at)
        except (HostKeyChanged, HostKeyRevoked, HostKeyUnknown, AuthRejected) as exc:
            self._teardown(endpoint)
            if self._stop.is_set():
                return 0.0
            self._emit(State.ERROR, str(exc))
            return self._backoff.cap
        except ForwardRefused as exc:
            self._teardown(endpoint)
            if self._stop.is_set():
                return 0.0
            delay = self._backoff.next_delay()
            self._emit(State.ERROR, f"{exc} Retrying in {delay:.0f} s.", retry_in=round(delay, 1))
            return delay
        except (ConnectionTrouble, ConfigError) as exc:
            self._teardown(endpoint)
            if self._stop.is_set():
                return 0.0
            return self._retry(str(exc), connected_at)
        except Exception as exc:  # never let the worker die silently
            log.exception("unexpected failure in tunnel %s", profile.name)
            self._teardown(endpoint)
            if self._stop.is_set():
                return 0.0
            return self._retry(f"unexpected problem: {type(exc).__name__}: {exc}", connected_at)

    def _retry(self, reason: str, connected_at: float | None) -> float:
        if connected_at is not None and time.monotonic() - connected_at >= 60:
            self._backoff.reset()
        delay = self._backoff.next_delay()
        sentence = reason.rstrip(".")
        self._emit(
            State.RETRYING, f"{sentence}; retrying in {delay:.0f} s.", retry_in=round(delay, 1)
        )
        return delay

    def _connect(self, endpoint: ssh.Endpoint) -> None:
        profile = self.profile
        parsed = read_known_hosts(self._known_hosts)
        pinned = knownhosts.pinned_for(parsed, endpoint.pattern)
        sock = ssh.dial(endpoint, self._connect_timeout)
        with self._lock:
            self._sock = sock
        if self._stop.is_set():
            raise ConnectionTrouble("stopping")
        transport = ssh.start_transport(
            sock, endpoint, ssh.algorithms_for(pinned), self._connect_timeout
        )
        with self._lock:
            self._transport = transport
        if self._stop.is_set():
            raise ConnectionTrouble("stopping")
        ssh.verify_host_key(transport, parsed, endpoint, profile.name)
        ssh.authenticate(transport, profile.user, self._key, endpoint)
        transport.set_keepalive(0)
        forwarder = Forwarder(
            profile.forward_bind,
            profile.remote_port,
            (profile.target_host, profile.target_port),
            self._target_trouble,
            counters=self.counters,
        )
        self._forwarder = forwarder
        # Installed before asking, so a channel racing the reply is not rejected; the
        # forwarder itself refuses anything but the (address, port) we request.
        transport._tcp_handler = forwarder.handle_channel
        requests = ssh.GlobalRequests(transport)
        self._requests = requests
        forwarder.arm()
        ssh.request_forward(requests, profile.forward_bind, profile.remote_port, endpoint)

    def _target_trouble(self, detail: str) -> None:
        self._emit(State.CONNECTED, f"{detail}; the tunnel stays up.", warning="target")

    def _watch(self, endpoint: ssh.Endpoint) -> str:
        """Wait until the link drops or we are told to stop; return why it ended."""
        transport = self._transport
        while not self._stop.wait(LIVENESS_POLL):
            if not transport.is_active():
                error = transport.get_exception()
                self._teardown(endpoint)
                detail = str(error) if error else "the server closed the connection"
                return f"the connection to {endpoint.label} was lost ({detail})"
        self._teardown(endpoint, cancel=True)
        return "stopped"

    def _teardown(self, endpoint: ssh.Endpoint, cancel: bool = False) -> None:
        transport = self._transport
        requests, self._requests = self._requests, None
        if cancel and requests is not None and transport is not None and transport.is_active():
            ssh.cancel_forward(requests, self.profile.forward_bind, self.profile.remote_port)
        forwarder, self._forwarder = self._forwarder, None
        if forwarder is not None:
            forwarder.close_all(timeout=2.0)
        self._abort_connection()
        with self._lock:
            self._sock = None
            self._transport = None


def describe_error(exc: TunnelkeeperError) -> str:
    return str(exc)
