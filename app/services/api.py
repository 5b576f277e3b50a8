"""The one API every front end calls (the CLI now; the tray and the agent's socket next)."""

from __future__ import annotations

import threading
from collections.abc import Callable
from dataclasses import dataclass, field
from functools import cached_property
from typing import TYPE_CHECKING

from app.core.profile import Profile
from app.platform.keychain import Keychain, open_keychain
from app.services.alerts import AlertService
from app.services.history import HistoryService
from app.services.hostkeys import HostKeyService
from app.services.keys import Ask, KeyService, LoadedKey
from app.services.profiles import ProfileService
from app.services.proxies import ProxyService
from app.storage.paths import AppPaths

if TYPE_CHECKING:
    from app.services.checks import CheckService
    from app.services.diagnose import DiagnosticsService
    from app.services.service import ServiceManager
    from app.services.status import StatusService


@dataclass(frozen=True)
class PreparedTunnel:
    """A tunnel ready to start in this process: its profile, its loaded key and its proxy
    user's password (None when its proxy names no user, or none is stored)."""

    profile: Profile
    key: LoadedKey
    proxy_password: str | None = field(default=None, repr=False)


class Services:
    """Every job a front end asks for, grouped: ``keys``, ``proxies``, ``profiles``,
    ``hostkeys``, ``checks``, ``status``, ``history``, ``alerts`` and ``diagnose``. Methods
    take and return plain data (dataclasses, dicts of str/int/float/bool/None); only a loaded
    key is opaque, for an engine in this process.

    ``keychain`` is opened on first need (probing it can block on the desktop's keychain
    service), by default the system one, or the null keychain when it does not answer.
    ``status``, ``checks``, ``service`` and ``diagnose`` are made (and their modules
    imported) on first use: a process that hosts tunnels (`run`) never loads them.
    """

    def __init__(self, paths: AppPaths, keychain: Callable[[], Keychain] | None = None) -> None:
        self.paths = paths
        self._open_keychain = keychain
        self._keychain: Keychain | None = None
        self._lock = threading.Lock()
        self.keys = KeyService(paths, self.keychain)
        self.proxies = ProxyService(self.keychain)
        self.profiles = ProfileService(paths, self.keys, self.proxies)
        self.hostkeys = HostKeyService(paths)
        self.history = HistoryService(paths)
        self.alerts = AlertService(paths, self.keychain)

    @cached_property
    def status(self) -> StatusService:
        from app.services.status import StatusService  # noqa: PLC0415

        return StatusService(self.paths)

    @cached_property
    def checks(self) -> CheckService:
        from app.services.checks import CheckService  # noqa: PLC0415

        return CheckService(self.paths, self.keys, self.status, self.proxies)

    @cached_property
    def service(self) -> ServiceManager:
        from app.services.service import ServiceManager  # noqa: PLC0415

        return ServiceManager(
            self.paths, self.keys, self.profiles, self.status, self.proxies, self.alerts
        )

    @cached_property
    def diagnose(self) -> DiagnosticsService:
        from app.services.diagnose import DiagnosticsService  # noqa: PLC0415

        keychain = self.keychain
        return DiagnosticsService(
            self.paths, self.keys, self.proxies, self.hostkeys, self.history, self.status, keychain
        )

    def keychain(self) -> Keychain:
        """The keychain, opened once."""
        with self._lock:
            if self._keychain is None:
                self._keychain = (self._open_keychain or open_keychain)()
            return self._keychain

    def prepare_run(
        self,
        names: list[str],
        ask: Ask | None,
        on_loaded: Callable[[LoadedKey], None] | None = None,
    ) -> list[PreparedTunnel]:
        """Check that tunnels ``names`` exist and have pinned host keys, then load their keys
        (which may ``ask``; ``on_loaded`` hears of each in turn), before anything starts.
        Raises UnknownProfile, HostKeyNotPinned and as :meth:`KeyService.load_for`."""
        profiles = self.profiles.select(names)
        self.hostkeys.require_pinned([p.name for p in profiles])
        prepared = []
        for profile in profiles:
            loaded = self.keys.load_for(profile, ask)
            if on_loaded is not None:
                on_loaded(loaded)
            password = self.proxies.password(profile)
            prepared.append(PreparedTunnel(profile, loaded, password))
        return prepared
