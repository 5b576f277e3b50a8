"""The connection test as the diagnostics bundle runs it: results, and what its SSH
connection negotiated (key exchange, host key, ciphers, MACs)."""

from __future__ import annotations

import logging
from collections.abc import Callable, Mapping
from pathlib import Path
from typing import Any

from app.core.profile import Profile
from app.engine.checks import ConnectionTest
from app.errors import StoredPassphraseWrong
from app.services.keys import LoadedKey

log = logging.getLogger(__name__)


def run_recorded(
    profile: Profile,
    known_hosts: Path,
    load_key: Callable[[Profile], LoadedKey],
    running: Callable[[str], int | None],
    neighbours: list[Profile],
    proxy_password: str | None,
    env: Mapping[str, str] | None,
) -> tuple[dict[str, Any], str | None]:
    """Run the connection test for ``profile`` (as ``CheckService.run_checks`` does) and
    keep what its SSH connection negotiated: ``{"run", "ok", "checks", "negotiated"}``
    (and ``error`` when it stopped early), and the key's fingerprint once it loaded.
    Blocks, up to a minute or so; raises nothing the test raises."""
    loaded: list[str] = []

    def load(for_profile: Profile) -> Any:
        key = load_key(for_profile)
        loaded.append(key.fingerprint)
        return key.key

    test = ConnectionTest(
        profile,
        known_hosts,
        load,
        running,
        neighbours=neighbours,
        proxy_password=proxy_password,
        env=env,
    )
    outcome: dict[str, Any] = {"run": True}
    try:
        test.run()
    except StoredPassphraseWrong as exc:
        outcome["error"] = str(exc)
    except Exception as exc:  # the bundle is for trouble: say it, keep gathering
        log.warning("diagnostics: the connection test of %s stopped: %s", profile.name, exc)
        outcome["error"] = f"the test stopped: {type(exc).__name__}: {exc}"
    outcome["ok"] = test.passed and "error" not in outcome
    outcome["checks"] = [r.to_dict() for r in test.results]
    outcome["negotiated"] = test.negotiated or "not known: the test did not reach the SSH handshake"
    return outcome, loaded[0] if loaded else None
