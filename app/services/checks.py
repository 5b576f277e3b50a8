"""The connection test: every step from this machine to the vendor, reported as plain data."""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from app.core.profile import Profile
from app.engine.checks import CheckResult, ConnectionTest
from app.errors import TunnelkeeperError, UnknownProfile
from app.services.keys import Ask, KeyService, Remembered
from app.services.proxies import ProxyService
from app.services.status import StatusService
from app.storage.paths import AppPaths
from app.storage.store import ProfileStore

CheckReport = Callable[[dict[str, Any]], None]
"""Called as each check finishes with its ``CheckResult.to_dict()`` (number, name, status
``pass``/``fail``/``skipped``, detail, remedy…)."""


@dataclass(frozen=True)
class TestOutcome:
    """The whole test: did it pass, and every check as plain data."""

    __test__ = False  # not a pytest class, whatever its name

    tunnel: str
    passed: bool
    checks: list[dict[str, Any]]
    remembered: Remembered | None = None  # a passphrase asked for on the way

    def to_dict(self) -> dict[str, Any]:
        return {"tunnel": self.tunnel, "ok": self.passed, "checks": self.checks}


class CheckService:
    """Runs :class:`app.engine.checks.ConnectionTest` for a tunnel (through its proxy, with
    the proxy user's password from ``proxies`` when there is one)."""

    def __init__(
        self,
        paths: AppPaths,
        keys: KeyService,
        status: StatusService,
        proxies: ProxyService | None = None,
    ) -> None:
        self._paths = paths
        self._keys = keys
        self._status = status
        self._proxies = proxies

    def _proxy_password(self, profile: Profile) -> str | None:
        return self._proxies.password(profile) if self._proxies is not None else None

    def run_checks(
        self,
        profile: Profile,
        load_key: Callable[[Profile], Any],
        running: Callable[[str], int | None],
        on_result: Callable[[CheckResult], None] | None = None,
        known_hosts: Path | None = None,
        proxy_password: str | None = None,
        env: Mapping[str, str] | None = None,
    ) -> list[CheckResult]:
        """For a front end in this process (the desktop app): every check for ``profile``
        (saved or not), its key from ``load_key``, ``running`` saying which process holds
        the forward now; ``on_result`` hears each check as it finishes. ``known_hosts``
        stands in for ours (a key about to be trusted), ``proxy_password`` for the
        keychain's (typed, not kept yet), ``env`` for the process's (the desktop's system
        proxy settings). Blocks."""
        test = ConnectionTest(
            profile,
            known_hosts or self._paths.known_hosts_file,
            load_key,
            running,
            on_result,
            neighbours=self._neighbours(),
            proxy_password=proxy_password or self._proxy_password(profile),
            env=env,
        )
        return test.run()

    def run_test(
        self,
        name: str,
        ask: Ask | None,
        report: CheckReport | None = None,
        on_remembered: Callable[[Remembered], None] | None = None,
    ) -> TestOutcome:
        """Run every check for tunnel ``name`` (blocks, up to a minute or so); ``ask`` is for
        the key's passphrase, ``on_remembered`` hears whether one asked for was kept.
        Raises UnknownProfile and StoredPassphraseWrong; failed checks are in the outcome."""
        profiles = ProfileStore(self._paths.profiles_file).load()
        if name not in profiles:
            raise UnknownProfile(name)
        profile = profiles[name]
        remembered: list[Remembered] = []

        def load_key(for_profile: Profile) -> Any:
            loaded = self._keys.load_for(for_profile, ask)
            if loaded.remembered is not None:
                remembered.append(loaded.remembered)
                if on_remembered is not None:
                    on_remembered(loaded.remembered)
            return loaded.key

        def on_result(result: CheckResult) -> None:
            if report is not None:
                report(result.to_dict())

        test = ConnectionTest(
            profile,
            self._paths.known_hosts_file,
            load_key,
            self._status.connected_pid,
            on_result,
            neighbours=list(profiles.values()),
            proxy_password=self._proxy_password(profile),
        )
        results = test.run()
        return TestOutcome(
            profile.name,
            test.passed,
            [r.to_dict() for r in results],
            remembered[0] if remembered else None,
        )

    def _neighbours(self) -> list[Profile]:
        """The saved tunnels, for the forward check to name one that wants the same port; an
        unreadable profiles file only means there are none to name."""
        try:
            return list(ProfileStore(self._paths.profiles_file).load().values())
        except TunnelkeeperError:
            return []
