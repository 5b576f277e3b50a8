"""The controller of a headless host (`run`, `run --all`, the service) over its TunnelHost."""

from __future__ import annotations

import os
from collections.abc import Callable
from pathlib import Path
from typing import Any, TypeVar

from app.control.errors import NotHosted
from app.core.control import HostKind
from app.core.events import State, TunnelEvent, TunnelStatus
from app.core.profile import Profile
from app.errors import TunnelkeeperError
from app.services.api import Services
from app.services.host import TunnelHost

Result = TypeVar("Result")


async def _in_executor(call: Callable[[], Result]) -> Result:
    """``call`` on the running loop's executor. asyncio is imported here, where its loop
    already runs: `run` builds this controller before starting its tunnels, and importing
    asyncio there delayed the first forward by ~12 ms."""
    import asyncio  # noqa: PLC0415

    return await asyncio.get_running_loop().run_in_executor(None, call)


def profile_view(profile: Profile) -> dict[str, Any]:
    """A hosted tunnel's settings as its controllers see them (the key's path left out):
    enough for a controller without the profile (the service's tunnels) to show it."""
    return {k: v for k, v in profile.to_dict().items() if k != "key_path"}


class HeadlessController:
    """Serves a ``TunnelHost`` to controllers. Keys are loaded without asking anyone (the
    keychain, or a key without a passphrase); a key loaded at start-up is reused."""

    def __init__(self, services: Services, host: TunnelHost, kind: HostKind) -> None:
        self.kind = kind
        self.log_file: Path = services.paths.log_file
        self._services = services
        self._host = host
        self.keys: dict[str, Any] = {}  # key path -> loaded key
        self.failed: dict[str, str] = {}  # tunnels `run --all` could not start, and why
        # tunnels a controller disconnected: `run --all` leaves them off until `connect`
        self.off: set[str] = set()

    def hosted(self) -> list[dict[str, Any]]:
        pid = os.getpid()
        hosted = []
        for status in self._host.statuses():
            profile = self._host.profile(status.tunnel)
            shown = profile_view(profile) if profile is not None else None
            hosted.append(
                {**status.to_dict(), "host": self.kind.value, "pid": pid, "profile": shown}
            )
        for name, why in list(self.failed.items()):
            failed = TunnelStatus(name, State.ERROR, f"not started: {why}")
            hosted.append({**failed.to_dict(), "host": self.kind.value, "pid": pid})
        for name in sorted(self.off):
            hosted += self._switched_off(name, pid)
        return hosted

    def _switched_off(self, name: str, pid: int) -> list[dict[str, Any]]:
        """A tunnel a controller disconnected, listed as stopped (``"running": false``)
        so that its controllers still see it, and can connect it, after they restart."""
        if self._host.is_hosted(name) or name in self.failed:
            return []
        try:
            profile = self._services.profiles.get(name)
        except TunnelkeeperError:
            return []  # removed (or unreadable) since: nothing left to show
        stopped = TunnelStatus(name, State.STOPPED, "disconnected; connect starts it again.")
        view = profile_view(profile)
        return [
            {**stopped.to_dict(), "host": self.kind.value, "pid": pid, "profile": view}
            | {"running": False}
        ]

    def start(self, name: str) -> str:
        """Blocking: load the profile and its key, then host it."""
        self.start_profile(self._services.profiles.get(name))
        self.failed.pop(name, None)
        self.off.discard(name)
        return f"{name} is connecting."

    def start_profile(self, profile: Profile) -> None:
        """Blocking: check the host key is pinned, load the key (no one is asked) and the
        proxy user's password (the keychain's, or the service's credential), host."""
        self._services.hostkeys.check_pinned(profile)
        key = self.keys.get(profile.key_path)
        if key is None:
            key = self._services.keys.load_for(profile, None).key
            self.keys[profile.key_path] = key
        self._host.start(profile, key, self._services.proxies.password(profile))

    async def connect(self, name: str) -> str:
        if self._host.is_hosted(name):
            return f"{name} is already running here."
        return await _in_executor(lambda: self.start(name))

    async def disconnect(self, name: str) -> str:
        if not self._host.is_hosted(name):
            raise NotHosted(name)
        self.off.add(name)
        await _in_executor(lambda: self._host.stop(name))
        return f"{name} is disconnected."

    async def reconnect(self, name: str) -> str:
        if not self._host.reconnect(name):
            raise NotHosted(name)
        return f"{name} is reconnecting."

    async def test(self, name: str) -> list[dict[str, Any]]:
        def run() -> list[dict[str, Any]]:
            return self._services.checks.run_test(name, None).checks

        return await _in_executor(run)

    def listen(self, listener: Callable[[TunnelEvent], None]) -> Callable[[], None]:
        return self._host.listen(listener)
