"""`run --all`: host every tunnel that is not switched off, following the profiles file."""

from __future__ import annotations

import logging
import os
import threading
import time
from collections.abc import Callable

from app.core import reconcile
from app.core.profile import Profile
from app.errors import TunnelkeeperError
from app.services.api import Services
from app.services.host import TunnelHost

log = logging.getLogger(__name__)

POLL = 1.0  # seconds between looks at the profiles file
RETRY_FAILED = 30.0  # seconds before a tunnel that could not start is tried again

Stamp = tuple[int, int, int] | None


def switched_on(profile: Profile) -> bool:
    """A profile with ``"enabled": false`` is switched off: `run --all` leaves it alone."""
    return profile.extra.get("enabled", True) is not False


class ProfileFollower:
    """Keeps ``host`` hosting exactly the switched-on profiles of the file, on a thread of
    its own; ``start_one`` hosts one profile (loads its key, may raise)."""

    def __init__(
        self,
        services: Services,
        host: TunnelHost,
        start_one: Callable[[Profile], None],
        poll: float = POLL,
        off: set[str] | None = None,
    ) -> None:
        self._services = services
        self._host = host
        self._start_one = start_one
        self._off = off if off is not None else set()  # disconnected by a controller
        self._poll = poll
        self._stamp: tuple[Stamp, Stamp] | None = None
        self._failed_at = 0.0
        self._hosted: dict[str, Profile] = {}
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, name="follow-profiles", daemon=True)
        self.failed: dict[str, str] = {}  # tunnels that could not start, and why

    def start(self) -> None:
        self.sync()
        self._thread.start()

    def stop(self) -> None:
        self._stop.set()
        if self._thread.is_alive():
            self._thread.join(5.0)

    def _run(self) -> None:
        while not self._stop.wait(self._poll):
            try:
                self.sync()
            except Exception:  # the follower must outlive one bad pass
                log.exception("following the profiles file failed")

    def sync(self) -> None:
        """Bring the host in line with the file, if it (or known_hosts) changed since the
        last look; tunnels that could not start are tried again every ``RETRY_FAILED`` s."""
        paths = self._services.paths
        stamp = (_stamp(str(paths.profiles_file)), _stamp(str(paths.known_hosts_file)))
        retry = bool(self.failed) and time.monotonic() - self._failed_at >= RETRY_FAILED
        if stamp == self._stamp and not retry:
            return
        try:
            listed = self._services.profiles.load()
        except TunnelkeeperError as exc:
            log.warning("%s; the running tunnels are kept as they are", exc)
            self._stamp = stamp
            return
        self._stamp = stamp
        self._off.intersection_update(listed)  # a removed tunnel is not remembered as off
        wanted = {n: p for n, p in listed.items() if switched_on(p) and n not in self._off}
        for name in [n for n in self.failed if n not in wanted]:  # removed or switched off
            self.failed.pop(name)
            self._hosted.pop(name, None)
        # a tunnel that failed to start is not hosted: the plan starts it again; one a
        # controller disconnected is neither hosted nor wanted: left off
        hosted = {n: p for n, p in self._hosted.items() if self._host.is_hosted(n)}
        steps = reconcile.plan(hosted, wanted)
        for name in steps.stop:
            log.info("[%s] stopping: removed, switched off or changed", name)
            self._host.stop(name)
            self._hosted.pop(name, None)
            self.failed.pop(name, None)
        for old, profile in steps.rename:
            log.info("[%s] renamed to %s; its connection stays", old, profile.name)
            self._host.rename(old, profile)
            self._hosted.pop(old, None)
            self._hosted[profile.name] = profile
        for profile in steps.update:
            self._host.rename(profile.name, profile)
            self._hosted[profile.name] = profile
        for profile in steps.start:
            self._hosted[profile.name] = profile
            try:
                self._start_one(profile)
                self.failed.pop(profile.name, None)
            except TunnelkeeperError as exc:
                self.failed[profile.name] = str(exc)
                self._failed_at = time.monotonic()
                log.warning("[%s] not started: %s", profile.name, exc)


def _stamp(path: str) -> Stamp:
    try:
        info = os.stat(path)
    except OSError:
        return None
    return (info.st_mtime_ns, info.st_size, info.st_ino)
