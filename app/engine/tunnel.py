"""The tunnel engine: one worker thread per tunnel that connects, forwards, watches and heals."""

from __future__ import annotations

import logging
import random
import threading
import time
from collections.abc import Callable, Mapping
from pathlib import Path
from typing import Any

from app import ssh
from app.core.backoff import Backoff
from app.core.events import State, TunnelEvent, TunnelStatus, iso_time, phase
from app.core.profile import Profile
from app.core.proxy import Route
from app.core.supervise import Decision, Failure, Liveness, Policy, TargetWarnings, failure_of
from app.engine.forward import MAX_CHANNELS, Counters
from app.engine.link import Link
from app.engine.pause import Pause, file_stamp
from app.engine.route import jump_plan, route_for, route_words
from app.engine.standby import Standby
from app.engine.watch import RECONNECT_ASKED, Kick
from app.errors import TunnelkeeperError
from app.storage import hostkeys
from app.storage.logs import TunnelLog

log = logging.getLogger(__name__)

EventSink = Callable[[TunnelEvent], None]
StatusSink = Callable[[TunnelStatus], None]
STOP_TIMEOUT = 5.0
WARNING_EVERY = 5.0  # at most one target warning event per this many seconds
# A key exchange on a live link takes well under a second; one that has not finished in
# this many seconds (a server that stalls it, however many IGNOREs it sends meanwhile)
# means the link is lost: nothing else can be sent until it finishes.
KEX_DEADLINE = 30.0


class Tunnel:
    """Keeps one profile's reverse forward up until ``stop()``.

    Runs on its own thread and reports through ``sink``, which is called on that thread or
    on forwarding threads: a GUI must hand events to its own thread. Every event carries a
    ``TunnelStatus``; ``on_status``, if given, also gets one whenever the traffic figures
    change while connected (checked about once a second), so a front end can draw live
    figures without asking the engine.
    """

    def __init__(
        self,
        profile: Profile,
        key: Any,
        known_hosts: Path,
        sink: EventSink,
        backoff: Backoff | None = None,
        connect_timeout: float = ssh.CONNECT_TIMEOUT,
        max_channels: int = MAX_CHANNELS,
        kex_deadline: float = KEX_DEADLINE,
        on_status: StatusSink | None = None,
        proxy_password: str | None = None,
        env: Mapping[str, str] | None = None,
        rng: random.Random | None = None,
    ) -> None:
        self.profile = profile
        # for the proxy's user, if the route has one; each connection reads it anew
        self._proxy_password = proxy_password
        self._env = env  # for a `system` proxy; None: this process's environment
        self._route: Route | None = None  # the current attempt's
        self.log = TunnelLog(log, profile.name)  # "[name] …"
        self._on_status = on_status
        self._publish_lock = threading.Lock()  # statuses reach the sinks in the order made
        # figures and keepalive round trip in the last status sent
        self._published: tuple[dict[str, float], float | None] | None = None
        self._kex_deadline = kex_deadline
        self._key = key
        self._known_hosts = known_hosts
        self._sink = sink
        self._policy = Policy(backoff or Backoff())
        self._connect_timeout = connect_timeout
        self._max_channels = max_channels
        self._liveness = Liveness(profile.keepalive_interval, profile.keepalive_count_max)
        self._stop = threading.Event()
        self._kick = Kick()
        endpoint = ssh.Endpoint(profile.jumphost, profile.ssh_port)
        self._lock = threading.Lock()  # guards the link and the proxy password
        self._pause = Pause(
            self._stop, self._kick, known_hosts, endpoint, self._beat, self._proxy_password_now
        )
        self._link: Link | None = None  # the current attempt's connection
        self._standby: Standby | None = None  # its active / standby, for a redundant tunnel
        self._rng = rng or random.Random()  # noqa: S311 (jitter, not a secret)
        self._standby_why: str | None = None  # "held" or "fenced" while standing by
        self._thread = threading.Thread(
            target=self._run, name=f"tunnel-{profile.name}", daemon=True
        )
        self.counters = Counters()
        self.state = State.STOPPED
        self.detail = "not started."
        self.since = time.time()
        self.last_beat = time.monotonic()  # when the worker last showed progress
        self.reconnects = 0
        self.connections = 0
        self.next_retry_at: float | None = None
        self.warning: str | None = None
        self.action: str | None = None  # what the person may do about the current state
        self._poll_port = False  # while waiting, watch for the SSH port to open again
        self._known_hosts_stamp: tuple[int, int] | None = None
        self._target_warnings = TargetWarnings(WARNING_EVERY)
        self._warn_lock = threading.Lock()

    # --- public, callable from any thread ----------------------------------------------

    def start(self) -> None:
        self._thread.start()

    def stop(self, timeout: float = STOP_TIMEOUT) -> bool:
        """Cancel the forward, close the connection and wait; True if it ended in time."""
        self._stop.set()
        self._kick.fire("stop")
        if self.state is not State.CONNECTED:
            self._abort_connection()  # interrupt a handshake; a live link is shut cleanly
        self._thread.join(timeout)
        return not self._thread.is_alive()

    def rename(self, profile: Profile) -> None:
        """The profile was renamed or changed in fields the connection does not use: report
        under its new name from now on; the connection stays."""
        self.profile = profile
        self.log = TunnelLog(log, profile.name)

    def use_proxy_password(self, password: str | None) -> None:
        """The proxy user's password changed: the live link stays, and the next connection
        (a reconnect, the pause's watch of the jumphost's port) signs in with ``password``."""
        with self._lock:
            self._proxy_password = password

    def _proxy_password_now(self) -> str | None:
        with self._lock:
            return self._proxy_password

    def reconnect_now(self) -> None:
        """The user asked: drop the current link (if any) and connect at once."""
        self._kick.fire("reconnect")

    def network_changed(self) -> None:
        """The OS reports a network change: retry at once, or check a live link now."""
        self._kick.fire("network")

    def woke(self) -> None:
        """The machine resumed (or the process was continued): same as a network change."""
        self._kick.fire("wake")

    @property
    def local_port(self) -> int | None:
        """The local TCP port of the current connection to the jumphost, if any."""
        with self._lock:
            link = self._link
        return None if link is None else link.session.local_port

    @property
    def session(self) -> ssh.Session | None:
        """The current connection's SSH session, if any (tests look at its transport)."""
        link = self._link
        return None if link is None else link.session

    @property
    def running(self) -> bool:
        return self._thread.is_alive()

    def status(self) -> dict[str, Any]:
        """A snapshot of state and statistics (JSON-ready)."""
        return self.snapshot().to_dict()

    def snapshot(self, counters: dict[str, float] | None = None) -> TunnelStatus:
        """State and statistics now, typed (times as wall-clock seconds)."""
        figures = self.counters.snapshot() if counters is None else counters
        return TunnelStatus(
            tunnel=self.profile.name,
            state=self.state,
            detail=self.detail,
            since=self.since,
            reconnects=self.reconnects,
            bytes_to_target=int(figures["bytes_to_target"]),
            bytes_to_vendor=int(figures["bytes_to_vendor"]),
            active_connections=int(figures["active_connections"]),
            total_connections=int(figures["total_connections"]),
            vendor_last_connected=figures["last_connection_at"] or None,
            next_retry_at=self.next_retry_at,
            warning=self.warning,
            action=self.action,
            target_refusals=int(figures["target_failures"]),
            keepalive_rtt=self._keepalive_rtt(),
            standby=self._standby_why,
        )

    def _keepalive_rtt(self) -> float | None:
        """The live link's last keepalive round trip in seconds (None: none answered yet)."""
        link = self._link
        return None if link is None else link.session.keepalive_rtt

    # --- reporting ---------------------------------------------------------------------

    def _emit(self, state: State, detail: str, **extra: Any) -> None:
        with self._publish_lock:
            if phase(state) is not phase(self.state):
                self.since = time.time()  # retries within one outage keep its start
            if state is not State.CONNECTED:
                self.warning = None  # a target's refusals say nothing once the link is down
            self.state, self.detail = state, detail
            self.action = extra.get("action")
            self._standby_why = extra.get("standby") if state is State.STANDBY else None
            figures = self.counters.snapshot()
            status = self.snapshot(figures)
            self._published = (figures, status.keepalive_rtt)
            extra.setdefault("reconnects", status.reconnects)
            if self.next_retry_at is not None and state in (State.RETRYING, State.ERROR):
                extra.setdefault("next_retry_at", iso_time(status.next_retry_at))
            event = TunnelEvent(self.profile.name, state, detail, extra=extra, status=status)
            try:
                self._sink(event)
            except Exception:
                self.log.exception("event sink failed")

    def _beat(self) -> None:
        """The worker is making progress (a watchdog reads ``last_beat``)."""
        self.last_beat = time.monotonic()

    def _publish_figures(self) -> None:
        """While connected (about once a second): the status, if the figures changed."""
        self._beat()
        if self._on_status is None:
            return
        with self._publish_lock:
            figures = self.counters.snapshot()
            published = (figures, self._keepalive_rtt())
            if published == self._published:
                return
            self._published = published
            try:
                self._on_status(self.snapshot(figures))
            except Exception:
                self.log.exception("status sink failed")

    def _target_trouble(self, detail: str) -> None:
        with self._warn_lock:
            count, due = self._target_warnings.refused(time.monotonic())
            self.log.warning("%s", detail)
            if self.state is not State.CONNECTED:
                return  # a late channel of a link that is gone: the outage says more
            plural = "connection" if count == 1 else "connections"
            target = self.profile.target
            self.warning = f"target {target} refused {count} {plural} in the last minute"
            if due:
                self._emit(
                    State.CONNECTED,
                    f"{self.warning} ({detail}); the tunnel stays up.",
                    warning="target",
                )

    # --- the worker ----------------------------------------------------------------------

    def _run(self) -> None:
        try:
            while not self._stop.is_set():
                decision = self._attempt()
                if self._stop.is_set() or decision is None:
                    break
                self._wait(decision)
        finally:
            self.next_retry_at = None
            self._emit(State.STOPPED, "the tunnel is stopped.")

    def _wait(self, decision: Decision) -> None:
        """Report the decision, then pause until the next attempt is due."""
        delay = decision.delay
        self.next_retry_at = None if delay is None else time.time() + delay
        extra = {} if decision.action is None else {"action": decision.action}
        self._emit(decision.state, decision.detail, **extra)
        # the stamp as this attempt read the file: a trust that lands while we report counts
        self._pause.wait(
            delay,
            self._known_hosts_stamp,
            watch_port=self._poll_port,
            route=self._route,
            jumps=jump_plan(self.profile, self._key, self._known_hosts)
            if self._poll_port
            else None,
        )
        self.next_retry_at = None

    def _attempt(self) -> Decision | None:
        """One connection's life; returns what to do next (None: stop)."""
        self._beat()
        profile = self.profile
        endpoint = ssh.Endpoint(profile.jumphost, profile.ssh_port)
        try:
            route = self._route = route_for(profile, self._env)
        except TunnelkeeperError as exc:
            return self._failed(exc)
        via = route_words(profile, route)
        self._emit(State.CONNECTING, f"connecting to {endpoint.label}{via} as {profile.user}.")
        try:
            self._connect(endpoint, route)
        except TunnelkeeperError as exc:
            # what the error implies decides: retry (how soon), or wait for the user until
            # the known_hosts file changes or they ask to reconnect
            return self._failed(exc)
        except Exception as exc:  # never let the worker die silently
            self.log.exception("unexpected failure")
            return self._failed(Exception(f"unexpected problem: {exc}"))

        if self._standby is not None:
            self._standby.tick()  # probe the target, ask for the port: active or standby
        else:
            self._up(
                f"the jumphost {endpoint.label}{via} is listening on "
                f"{profile.forward_bind or '*'}:{profile.remote_port} and forwards to "
                f"{profile.target}."
            )
        reason = self._watch()
        if self._stop.is_set():
            return None
        # The jumphost may be back (or never gone) long before the backoff ends: watch its
        # port, and reconnect the moment it accepts TCP again.
        self._poll_port = True
        if reason == RECONNECT_ASKED:
            return Decision(State.CONNECTING, "reconnecting now, as asked.", 0.0)
        return self._policy.failed(Failure.NETWORK, reason, time.monotonic())

    def _up(self, detail: str) -> None:
        """The jumphost listens for this machine now (connected, or took over)."""
        if self.connections:
            self.reconnects += 1
        self.connections += 1
        self._policy.connected(time.monotonic())
        self.warning = None
        self._emit(State.CONNECTED, detail)

    def _stand_by(self, detail: str, why: str) -> None:
        """Another machine holds the port, or our target does not answer (redundant)."""
        self._emit(State.STANDBY, detail, standby=why)

    def _tick(self) -> None:
        """At each check of a live link (about once a second)."""
        if self._standby is not None:
            self._standby.tick()
        self._publish_figures()

    def _failed(self, exc: Exception) -> Decision | None:
        self._teardown()
        if self._stop.is_set():
            return None
        failure = failure_of(exc)
        self._poll_port = failure is Failure.UNREACHABLE
        action = exc.action if isinstance(exc, TunnelkeeperError) else None
        return self._policy.failed(
            failure, str(exc), time.monotonic(), port=self.profile.remote_port, action=action
        )

    def _connect(self, endpoint: ssh.Endpoint, route: Route) -> None:
        self._known_hosts_stamp = file_stamp(self._known_hosts)
        parsed = hostkeys.read(self._known_hosts)
        link = Link(
            self.profile,
            endpoint,
            self._connect_timeout,
            self._stop,
            route,
            self._proxy_password_now(),
        )
        with self._lock:
            self._link = link  # from now on stop() can interrupt the handshake
        self._standby = None
        redundant = self.profile.redundant  # then Standby asks for the port, if it may
        args = (parsed, self._key, self.counters, self._max_channels, self._target_trouble)
        link.open(*args, ask=not redundant)
        if redundant:
            self._standby = Standby(
                self.profile, link, self.counters, self._up, self._stand_by, self._rng
            )

    def _watch(self) -> str:
        """Watch the live link until it is lost or we stop; return why it ended."""
        link = self._link
        assert link is not None
        watch = (self._liveness, self._kex_deadline, self._kick, self._teardown, self._tick)
        return link.watch(*watch)

    # --- cleanup -------------------------------------------------------------------------

    def _abort_connection(self) -> None:
        with self._lock:
            link = self._link
        if link is not None:
            link.session.close()

    def _teardown(self, cancel: bool = False) -> None:
        with self._lock:
            link, self._link = self._link, None
        if link is not None:
            link.close(cancel)
