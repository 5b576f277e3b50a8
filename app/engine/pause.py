"""The pause between two attempts: the backoff, cut short when trying again is worth it."""

from __future__ import annotations

import threading
import time
from collections.abc import Callable
from pathlib import Path

from app import ssh
from app.core.proxy import Route
from app.core.wake import WakeDetector
from app.engine.watch import POLL, Kick

PORT_POLL_TIMEOUT = 1.0  # while the jumphost is unreachable, one TCP probe per POLL
# Through jump hosts a probe is an SSH login to each: at most one per this many seconds,
# each given this long (a stop waits for it at most between two of its steps).
JUMP_PROBE_EVERY = 5.0
JUMP_PROBE_TIMEOUT = 3.0

Stamp = tuple[int, int] | None  # a file's (mtime in ns, size in bytes); None: no file


def file_stamp(path: Path) -> Stamp:
    try:
        info = path.stat()
    except OSError:
        return None
    return info.st_mtime_ns, info.st_size


class Pause:
    """Sleeps on a tunnel's worker thread until its next attempt is due.

    A pause ends when ``stop`` is set or a reconnect is asked for. A backoff (a delay) also
    ends on a network change or a wake, and, when watching the port, the moment the
    jumphost's SSH port accepts TCP again. A wait for the user (no delay) ends only when
    the known_hosts file changes: the user trusted a key.
    """

    def __init__(
        self,
        stop: threading.Event,
        kick: Kick,
        known_hosts: Path,
        endpoint: ssh.Endpoint,
        beat: Callable[[], None] = lambda: None,
        proxy_password: Callable[[], str | None] = lambda: None,
    ) -> None:
        self._proxy_password = proxy_password  # asked at each probe: it may change
        self._beat = beat  # called on every turn: the worker is alive
        self._stop = stop
        self._kick = kick
        self._known_hosts = known_hosts
        self._endpoint = endpoint

    def wait(
        self,
        delay: float | None,
        stamp: Stamp,
        watch_port: bool,
        route: Route | None = None,
        jumps: ssh.JumpPlan | None = None,
    ) -> None:
        """Sleep up to ``delay`` seconds (None: until the user acts); ``stamp`` is the
        known_hosts file as the last attempt read it; the port is watched along ``route``
        and through ``jumps``' hosts, if any."""
        deadline = None if delay is None else time.monotonic() + delay
        next_probe = time.monotonic()
        wake = WakeDetector()
        while not self._stop.is_set():
            self._beat()
            step = POLL if deadline is None else min(POLL, deadline - time.monotonic())
            if step <= 0:
                return
            before = wake.now()
            kicked = self._kick.event.wait(step)
            reasons = self._kick.take() if kicked else set()
            if reasons & {"stop", "reconnect"} or self._stop.is_set():
                return
            if delay is None:
                if file_stamp(self._known_hosts) != stamp:
                    return  # the user trusted again
                continue
            if reasons & {"network", "wake"} or wake.check(step, before):
                return
            if not watch_port or time.monotonic() < next_probe:
                continue
            if jumps is not None and jumps.hops:
                next_probe = time.monotonic() + JUMP_PROBE_EVERY
            if self._port_is_back(route, jumps):
                return

    def _port_is_back(self, route: Route | None, jumps: ssh.JumpPlan | None = None) -> bool:
        """A bare TCP connect (no SSH, so nothing in the jumphost's logs until it works):
        when the jumphost comes back we attempt at once instead of sleeping out the backoff.
        Through the route's proxy, if any: a direct probe would say nothing about that way
        (and where only the proxy may go out, it would never succeed). Through jump hosts:
        a login to each and a channel opened to the jumphost's port."""
        timeout = PORT_POLL_TIMEOUT if jumps is None else JUMP_PROBE_TIMEOUT
        return ssh.port_open(
            self._endpoint,
            timeout,
            cancel=self._stop,
            route=route,
            proxy_password=self._proxy_password(),
            jumps=jumps,
        )
