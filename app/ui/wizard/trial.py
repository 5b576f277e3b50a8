"""The wizard's connection test against a host key trusted on its page but pinned only on
Finish: a private copy of known_hosts holds it for the test (no Qt; runs on a worker)."""

from __future__ import annotations

import shutil
import tempfile
from collections.abc import Callable, Mapping, Sequence
from dataclasses import replace
from pathlib import Path
from typing import Any

from app.core.profile import Profile
from app.engine.checks import CheckResult
from app.services.api import Services
from app.services.hostkeys import HostKey, HostKeyService
from app.ui import system_proxy


def run_checks(
    services: Services,
    profile: Profile,
    load_key: Callable[[Profile], Any],
    running: Callable[[str], int | None],
    report: Callable[[CheckResult], None],
    pending: Sequence[HostKey] | None,
    proxy_password: str | None = None,
    env: Mapping[str, str] | None = None,
) -> list[CheckResult]:
    """Every check for ``profile``; with ``pending``, as if those keys (the jump hosts'
    and the jumphost's, trusted in the wizard) were pinned already
    (the app's known_hosts is read, never written: a tunnel running now sees no change).
    ``proxy_password`` is the proxy user's (typed in the wizard, else the keychain's);
    a `system` proxy is the system settings' (``system_proxy``) unless ``env`` is given."""
    if env is None:
        env = system_proxy.environment_for(profile)
    with tempfile.TemporaryDirectory(prefix="tunnelkeeper-test-") as folder:
        known_hosts = services.paths.known_hosts_file
        if pending:
            trial = replace(services.paths, config_dir=Path(folder))
            if services.paths.known_hosts_file.exists():
                shutil.copyfile(services.paths.known_hosts_file, trial.known_hosts_file)
            copy = HostKeyService(trial)
            for key in pending:  # each for its own host
                copy.pin([key])
            known_hosts = trial.known_hosts_file
        return services.checks.run_checks(
            profile, load_key, running, report, known_hosts, proxy_password, env
        )
