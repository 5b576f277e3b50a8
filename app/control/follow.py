"""`run --all`: host every tunnel that is not switched off, following the profiles file."""

from __future__ import annotations

import logging
import os
import threading
from collections.abc import Callable

from app.core import reconcile
from app.core.profile import Profile
from app.errors import TunnelkeeperError
from app.services.api import Services
from app.services.host import TunnelHost

log = logging.getLogger(__name__)

POLL = 1.0  # seconds between looks at the profiles file

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
    ) -> None:
        self._services = services
        self._host = host
        self._start_one = start_one
        self._poll = poll
        self._stamp: Stamp = None
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
        """Bring the host in line with the file, if it changed since the last look."""
        stamp = _stamp(str(self._services.paths.profiles_file))
        if stamp == self._stamp:
            return
        try:
            wanted = {n: p for n, p in self._services.profiles.load().items() if switched_on(p)}
        except TunnelkeeperError as exc:
            log.warning("%s; the running tunnels are kept as they are", exc)
            self._stamp = stamp
            return
        self._stamp = stamp
        hosted = {n: p for n, p in self._hosted.items() if self._host.is_hosted(n)}
        hosted.update({n: p for n, p in self._hosted.items() if n in self.failed})
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
                log.warning("[%s] not started: %s", profile.name, exc)


def _stamp(path: str) -> Stamp:
    try:
        info = os.stat(path)
    except OSError:
        return None
    return (info.st_mtime_ns, info.st_size, info.st_ino)
