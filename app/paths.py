"""Every file location the app reads or writes, in one place."""

from __future__ import annotations

import os
import sys
import warnings
from dataclasses import dataclass
from pathlib import Path

import platformdirs

APP_NAME = "Tunnelkeeper"
HOME_ENV = "TUNNELKEEPER_HOME"


@dataclass(frozen=True)
class AppPaths:
    """Resolved locations of the app's files."""

    config_dir: Path
    data_dir: Path
    log_dir: Path
    runtime_dir: Path

    @property
    def profiles_file(self) -> Path:
        return self.config_dir / "profiles.toml"

    @property
    def known_hosts_file(self) -> Path:
        return self.config_dir / "known_hosts"

    @property
    def keys_dir(self) -> Path:
        return self.data_dir / "keys"

    @property
    def log_file(self) -> Path:
        return self.log_dir / "tunnelkeeper.log"

    @property
    def state_file(self) -> Path:
        return self.runtime_dir / "state.json"


def app_paths(environ: dict[str, str] | None = None) -> AppPaths:
    """Locations under ``$TUNNELKEEPER_HOME`` when set, else the OS's usual places."""
    env = os.environ if environ is None else environ
    home = env.get(HOME_ENV)
    if home:
        root = Path(home).expanduser().resolve()
        return AppPaths(
            config_dir=root,
            data_dir=root,
            log_dir=root / "logs",
            runtime_dir=root / "run",
        )
    dirs = platformdirs.PlatformDirs(APP_NAME, appauthor=False)
    with warnings.catch_warnings():
        # Without a usable XDG_RUNTIME_DIR (cron, sudo, system services) platformdirs warns
        # and falls back to a private folder of its own; the folder is fine, the warning
        # would only be noise on every command.
        warnings.simplefilter("ignore")
        runtime = Path(dirs.user_runtime_dir) if os.name == "posix" else Path(dirs.user_cache_dir)
    return AppPaths(
        config_dir=Path(dirs.user_config_dir),
        data_dir=Path(dirs.user_data_dir),
        log_dir=Path(dirs.user_log_dir),
        runtime_dir=runtime,
    )


def resources_dir() -> Path:
    """The bundled ``resources/`` folder: in the frozen app's bundle, else next to the
    package in a checkout."""
    bundle = getattr(sys, "_MEIPASS", None)
    if getattr(sys, "frozen", False) and bundle:
        return Path(bundle) / "resources"
    return Path(__file__).resolve().parent.parent / "resources"


def ensure_private_dir(path: Path) -> Path:
    """Create ``path`` (and parents) readable only by the owner; return it."""
    path.mkdir(parents=True, exist_ok=True, mode=0o700)
    return path
