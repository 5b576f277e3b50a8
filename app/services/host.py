"""Tunnels hosted in this process: start, stop, reconnect, and their last status and events."""

from __future__ import annotations

import logging
import threading
import time
from collections import deque
from collections.abc import Callable
from dataclasses import replace
from pathlib import Path
from typing import Any, Protocol

from app.control.errors import HostedElsewhere
from app.core.events import State, TunnelEvent, TunnelStatus
from app.core.profile import Profile
from app.engine.tunnel import EventSink, StatusSink, Tunnel
from app.storage.claims import Claims

log = logging.getLogger(__name__)

STOP_TIMEOUT = 5.0
RECENT_EVENTS = 200

Listener = Callable[[TunnelEvent], None]


class TunnelFactory(Protocol):
    """Makes the engine worker for a profile (``Tunnel`` itself, or a test's stand-in)."""

    def __call__(
        self,
        profile: Profile,
        key: Any,
        known_hosts: Path,
        sink: EventSink,
        *,
        on_status: StatusSink | None = None,
        proxy_password: str | None = None,
    ) -> Tunnel: ...


class TunnelHost:
    """One engine ``Tunnel`` per hosted profile, for any front end (the desktop app, `run`,
    the service). Every method may be called from any thread; none waits on an engine
    thread except ``stop`` and ``stop_all``, which say so.

    Engine threads report here: the newest status of each tunnel is kept (reports from a
    worker that has been replaced or stopped are not), the last ``RECENT_EVENTS`` events
    are kept, and each event is handed to the listeners on the engine's thread — a GUI
    must pass it on to its own thread.
    """

    def __init__(
        self,
        known_hosts: Path,
        factory: TunnelFactory | None = None,
        recent: int = RECENT_EVENTS,
        claims: Claims | None = None,
    ) -> None:
        self._known_hosts = known_hosts
        self._factory: TunnelFactory = factory or Tunnel
        self._lock = threading.Lock()
        self._tunnels: dict[str, Tunnel] = {}
        self._sources: dict[str, object] = {}  # which worker's reports are the current ones
        self._status: dict[str, TunnelStatus] = {}
        self._listeners: list[Listener] = []
        self.recent: deque[TunnelEvent] = deque(maxlen=recent)
        self.closing = False  # set by stop_all: nothing starts afterwards
        self._claims = claims  # one host per tunnel on this machine

    # --- listening ------------------------------------------------------------------------

    def listen(self, listener: Listener) -> Callable[[], None]:
        """Hand every event to ``listener`` (on the thread that made it); returns the call
        that stops doing so."""
        with self._lock:
            self._listeners.append(listener)

        def unlisten() -> None:
            with self._lock:
                if listener in self._listeners:
                    self._listeners.remove(listener)

        return unlisten

    # --- reading --------------------------------------------------------------------------

    def names(self) -> list[str]:
        with self._lock:
            return list(self._tunnels)

    def is_hosted(self, name: str) -> bool:
        with self._lock:
            return name in self._tunnels

    def profile(self, name: str) -> Profile | None:
        with self._lock:
            tunnel = self._tunnels.get(name)
            return tunnel.profile if tunnel is not None else None

    def status(self, name: str) -> TunnelStatus | None:
        """The last status tunnel ``name``'s worker reported, or None when not hosted."""
        with self._lock:
            return self._status.get(name) if name in self._tunnels else None

    def statuses(self) -> list[TunnelStatus]:
        with self._lock:
            return [self._status[name] for name in self._tunnels]

    def check_free(self, profile: Profile) -> None:
        """Raise HostedElsewhere when another process of ours hosts ``profile``'s port (a
        check before a passphrase is asked for; ``start`` takes the port for good)."""
        holder = self._claims.holder(profile) if self._claims is not None else None
        if holder is not None:
            raise HostedElsewhere(holder.tunnel, holder.kind, holder.pid)

    def stalled(self, limit: float) -> list[str]:
        """Tunnels whose worker has shown no progress for ``limit`` seconds: it is hung
        (a watchdog stops vouching for the process)."""
        now = time.monotonic()
        return [t.profile.name for t in self._all() if t.running and now - t.last_beat > limit]

    # --- acting ---------------------------------------------------------------------------

    def start(self, profile: Profile, key: Any, proxy_password: str | None = None) -> bool:
        """Start hosting ``profile`` with its loaded ``key`` (and its proxy user's password);
        False (nothing done) when it is hosted already or the host is closing. Raises
        HostedElsewhere when another process of ours hosts a tunnel on the same jumphost
        port."""
        name = profile.name
        source = object()

        def sink(event: TunnelEvent) -> None:
            self._arrived(source, event)

        def on_status(status: TunnelStatus) -> None:
            self._keep(source, status)

        with self._lock:
            if self.closing or name in self._tunnels:
                return False
            if self._claims is not None:
                holder = self._claims.claim(profile)
                if holder is not None:
                    raise HostedElsewhere(holder.tunnel, holder.kind, holder.pid)
            # only when there is one: a test's stand-in factory need not take it
            secret: dict[str, Any] = {}
            if proxy_password is not None:
                secret["proxy_password"] = proxy_password
            tunnel = self._factory(
                profile, key, self._known_hosts, sink, on_status=on_status, **secret
            )
            self._tunnels[name] = tunnel
            self._sources[name] = source
            # what a worker is before its first report
            self._status[name] = TunnelStatus(name, State.STOPPED, "not started.", time.time())
        tunnel.start()
        return True

    def stop(self, name: str, timeout: float = STOP_TIMEOUT) -> bool:
        """Stop hosting ``name`` and wait for its worker (up to ``timeout`` s: a clean stop
        cancels the forward first). True if it ended in time or was not hosted."""
        tunnel = self._detach(name)
        if tunnel is None:
            return True
        try:
            return tunnel.stop(timeout)
        finally:
            self._release(name)

    def stop_all(self, timeout: float = STOP_TIMEOUT, closing: bool = True) -> bool:
        """Stop every tunnel at once, waiting up to ``timeout`` s in all; with ``closing``
        nothing starts afterwards. True if all ended in time."""
        with self._lock:
            self.closing = self.closing or closing
            names = list(self._tunnels)
        tunnels = [t for t in (self._detach(name) for name in names) if t is not None]
        stoppers = [
            threading.Thread(target=t.stop, args=(timeout,), name=f"stop-{t.profile.name}")
            for t in tunnels
        ]
        for stopper in stoppers:
            stopper.start()
        deadline = time.monotonic() + timeout
        for stopper in stoppers:
            stopper.join(max(0.0, deadline - time.monotonic()))
        for tunnel in tunnels:
            self._release(tunnel.profile.name)
        return not any(s.is_alive() for s in stoppers)

    def rename(self, old: str, profile: Profile) -> bool:
        """Tunnel ``old`` is now ``profile`` (a new name or fields that do not change the
        connection): its worker and live connections stay. False when not hosted."""
        new = profile.name
        with self._lock:
            tunnel = self._tunnels.get(old)
            if tunnel is None or (new != old and new in self._tunnels):
                return False
            if new != old:
                self._tunnels[new] = self._tunnels.pop(old)
                self._sources[new] = self._sources.pop(old)
                status = self._status.pop(old)
                self._status[new] = replace(status, tunnel=new)
                if self._claims is not None:
                    self._claims.rename(old, new)
            tunnel.rename(profile)
        return True

    def use_proxy_password(self, name: str, password: str | None) -> bool:
        """Tunnel ``name``'s proxy user has a new password: its live connection stays, its
        next one signs in with ``password``. False when not hosted."""
        with self._lock:
            tunnel = self._tunnels.get(name)
        if tunnel is None:
            return False
        tunnel.use_proxy_password(password)
        return True

    def reconnect(self, name: str) -> bool:
        """Drop ``name``'s connection and connect again now; False when not hosted."""
        with self._lock:
            tunnel = self._tunnels.get(name)
        if tunnel is None:
            return False
        tunnel.reconnect_now()
        return True

    def woke(self) -> None:
        """The machine woke up (or the process was resumed): check every link now."""
        for tunnel in self._all():
            tunnel.woke()

    def network_changed(self) -> None:
        for tunnel in self._all():
            tunnel.network_changed()

    # --- internals ------------------------------------------------------------------------

    def _all(self) -> list[Tunnel]:
        with self._lock:
            return list(self._tunnels.values())

    def _detach(self, name: str) -> Tunnel | None:
        with self._lock:
            self._sources.pop(name, None)
            self._status.pop(name, None)
            return self._tunnels.pop(name, None)

    def _release(self, name: str) -> None:
        if self._claims is not None:
            with self._lock:
                if name not in self._tunnels:
                    self._claims.release(name)

    def _keep(self, source: object, status: TunnelStatus) -> None:
        with self._lock:
            if self._sources.get(status.tunnel) is source:
                self._status[status.tunnel] = status

    def _arrived(self, source: object, event: TunnelEvent) -> None:
        with self._lock:
            if event.status is not None and self._sources.get(event.tunnel) is source:
                self._status[event.tunnel] = event.status
            self.recent.append(event)
            listeners = list(self._listeners)
        for listener in listeners:
            try:
                listener(event)
            except Exception:  # one broken listener must not starve the others
                log.exception("event listener failed")
