"""Every file location the app reads or writes, in one place."""

from __future__ import annotations

import contextlib
import errno
import os
import shlex
import stat
import sys
from dataclasses import dataclass
from pathlib import Path

import platformdirs

from app.errors import FolderNotPrivate

APP_NAME = "Tunnelkeeper"
HOME_ENV = "TUNNELKEEPER_HOME"
CONFIG_ENV = "TUNNELKEEPER_CONFIG_DIR"  # profiles, known_hosts and keys elsewhere (a service)
RUNTIME_ENV = "XDG_RUNTIME_DIR"
MISSING = "does not exist"


@dataclass(frozen=True)
class AppPaths:
    """Resolved locations of the app's files."""

    config_dir: Path
    data_dir: Path
    log_dir: Path
    runtime_dir: Path
    state_dir: Path | None = None  # kept across restarts, written by a service (else log_dir)

    @property
    def profiles_file(self) -> Path:
        return self.config_dir / "profiles.toml"

    @property
    def known_hosts_file(self) -> Path:
        return self.config_dir / "known_hosts"

    @property
    def alerts_file(self) -> Path:
        return self.config_dir / "alerts.toml"

    @property
    def keys_dir(self) -> Path:
        return self.data_dir / "keys"

    @property
    def log_file(self) -> Path:
        return self.log_dir / "tunnelkeeper.log"

    @property
    def state_file(self) -> Path:
        return self.runtime_dir / "state.json"

    @property
    def history_file(self) -> Path:
        return (self.state_dir or self.log_dir) / "history.sqlite3"


def app_paths(environ: dict[str, str] | None = None) -> AppPaths:
    """Locations under ``$TUNNELKEEPER_HOME`` when set (profiles, known_hosts and keys in
    ``$TUNNELKEEPER_CONFIG_DIR`` when that is set too: the system service's read-only
    configuration), else the OS's usual places (the runtime folder as ``user_runtime_dir``
    picks it)."""
    env = os.environ if environ is None else environ
    home = env.get(HOME_ENV)
    config = env.get(CONFIG_ENV)
    if home:
        root = Path(home).expanduser().resolve()
        settings = Path(config).expanduser().resolve() if config else root
        return AppPaths(
            config_dir=settings,
            data_dir=settings,
            log_dir=root / "logs",
            runtime_dir=root / "run",
            state_dir=root,
        )
    dirs = platformdirs.PlatformDirs(APP_NAME, appauthor=False)
    return AppPaths(
        config_dir=Path(dirs.user_config_dir),
        data_dir=Path(dirs.user_data_dir),
        log_dir=Path(dirs.user_log_dir),
        runtime_dir=user_runtime_dir(dirs),
        state_dir=Path(dirs.user_state_dir),
    )


def user_runtime_dir(dirs: platformdirs.PlatformDirs | None = None) -> Path:
    """This user's folder for sockets and run state, where no one else can create things.

    ``$XDG_RUNTIME_DIR`` (else ``/run/user/UID``) when it is a real folder of ours with mode
    0700, else one in our own home (platformdirs would fall back to ``$TMPDIR/runtime-UID``,
    a name any local user can take first). Raises FolderNotPrivate when that one exists
    but is not ours alone; creating it (mode 0700) is ``private_dir``'s job.
    """
    dirs = dirs or platformdirs.PlatformDirs(APP_NAME, appauthor=False)
    if os.name != "posix":
        return Path(dirs.user_cache_dir)
    # os.environ, like every other location platformdirs reads (``environ`` of app_paths
    # is only for TUNNELKEEPER_HOME)
    bases = [os.environ.get(RUNTIME_ENV, "")]
    if sys.platform != "darwin":
        bases.append(f"/run/user/{os.geteuid()}")
    for base in bases:
        if os.path.isabs(base) and folder_problem(Path(base)) is None:
            return Path(base) / APP_NAME
    if sys.platform == "darwin":
        fallback = Path("~/Library/Caches/TemporaryItems").expanduser() / APP_NAME
    else:
        fallback = Path(dirs.user_state_dir) / "run"
    problem = folder_problem(fallback)
    if problem is not None and problem != MISSING:
        raise FolderNotPrivate(str(fallback), problem, _remedy(fallback, problem, runtime=True))
    return fallback


def folder_problem(path: Path) -> str | None:
    """Why ``path`` is not a folder only we can use (owned by us, not a link, no group or
    other permissions), or None when it is one; always None off POSIX."""
    if os.name != "posix":
        return None
    try:
        info = os.lstat(path)
    except FileNotFoundError:
        return MISSING
    except OSError as exc:
        return f"cannot be checked ({exc.strerror or exc})"
    if stat.S_ISLNK(info.st_mode):
        return "is a symbolic link"
    if not stat.S_ISDIR(info.st_mode):
        return "is not a folder"
    if info.st_uid != os.geteuid():
        return f"belongs to another user (uid {info.st_uid})"
    mode = stat.S_IMODE(info.st_mode)
    if mode & 0o077:
        return f"can be used by other users (mode {mode:04o})"
    return None


def _remedy(path: Path, problem: str, runtime: bool = False) -> str:
    if problem.startswith("can be used"):
        fix = f"make it private with `chmod 700 {shlex.quote(str(path))}`"
    else:
        fix = "have it removed (by its owner or an administrator)"
    if runtime:
        fix += f", or set {RUNTIME_ENV} to a folder of yours with mode 700"
    return fix + "."


def private_dir(path: Path) -> Path:
    """Create ``path`` (mode 0700) when missing, then make sure only we can use it (our
    own, not a link, mode 0700); raises FolderNotPrivate when it is not."""
    with contextlib.suppress(FileExistsError):  # a file or a dangling link: named below
        _make_dirs(path)
    problem = folder_problem(path)
    if problem is not None:
        raise FolderNotPrivate(str(path), problem, _remedy(path, problem))
    return path


def resources_dir() -> Path:
    """The bundled ``resources/`` folder (icons): the frozen app's copy in its bundle; else
    the one installed inside the package (a wheel carries the checkout's top-level
    ``resources/`` as ``app/resources/``, see setup.py); else the checkout's, next to the
    package (running from a checkout, or an editable install of one)."""
    bundle = getattr(sys, "_MEIPASS", None)
    if getattr(sys, "frozen", False) and bundle:
        return Path(bundle) / "resources"
    # this file's package's parent package (app/storage/paths.py): a plain folder in every
    # install but the frozen one, and no importlib.resources import (~1 ms) on `run`'s path
    package = Path(__file__).resolve().parent.parent
    installed = package / "resources"
    if installed.is_dir():
        return installed
    return package.parent / "resources"


def ensure_private_dir(path: Path) -> Path:
    """Create ``path`` (and parents) readable only by the owner; return it."""
    _make_dirs(path)
    return path


def _make_dirs(path: Path) -> None:
    """``path`` and each missing folder above it created with mode 0700 (``mkdir(parents=
    True)`` gives the parents the umask's mode: 0755 for the runtime folder above
    ``claims/``, which the desktop app then refused as not private)."""
    missing: list[Path] = []
    folder = path
    while not os.path.lexists(folder) and folder.parent != folder:
        missing.append(folder)
        folder = folder.parent
    for each in reversed(missing):
        with contextlib.suppress(FileExistsError):  # made meanwhile: checked by the caller
            each.mkdir(mode=0o700)
    if not missing and not path.is_dir():  # a file or a dangling link in the way
        raise FileExistsError(errno.EEXIST, os.strerror(errno.EEXIST), str(path))
