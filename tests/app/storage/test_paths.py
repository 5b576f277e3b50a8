"""File locations: everything under TUNNELKEEPER_HOME when set, else platformdirs'."""

from __future__ import annotations

import os
import stat
import sys
import tempfile
import warnings
from pathlib import Path

import platformdirs
import pytest

from app.errors import FolderNotPrivate
from app.storage.paths import (
    APP_NAME,
    HOME_ENV,
    AppPaths,
    app_paths,
    ensure_private_dir,
    folder_problem,
    private_dir,
    resources_dir,
)


def test_home_env_puts_everything_under_that_folder(tmp_path: Path) -> None:
    paths = app_paths(environ={HOME_ENV: str(tmp_path)})
    root = tmp_path.resolve()
    for folder in (paths.config_dir, paths.data_dir, paths.log_dir, paths.runtime_dir):
        assert folder == root or root in folder.parents
    assert paths.config_dir == root
    assert paths.data_dir == root
    assert paths.log_dir == root / "logs"
    assert paths.runtime_dir == root / "run"
    assert paths.profiles_file == root / "profiles.toml"
    assert paths.known_hosts_file == root / "known_hosts"
    assert paths.keys_dir == root / "keys"
    assert paths.log_file == root / "logs" / "tunnelkeeper.log"
    assert paths.state_file == root / "run" / "state.json"


def test_home_env_is_made_absolute(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(tmp_path)
    paths = app_paths(environ={HOME_ENV: "relative/home"})
    assert paths.config_dir == tmp_path.resolve() / "relative" / "home"
    assert paths.config_dir.is_absolute()


def test_home_env_expands_the_user_folder(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    monkeypatch.setenv("HOME", str(tmp_path))
    monkeypatch.setenv("USERPROFILE", str(tmp_path))
    assert app_paths(environ={HOME_ENV: "~/tk"}).config_dir == tmp_path.resolve() / "tk"


def test_without_home_env_uses_platformdirs(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    for var, sub in (
        ("XDG_CONFIG_HOME", "cfg"),
        ("XDG_DATA_HOME", "data"),
        ("XDG_STATE_HOME", "state"),
        ("XDG_CACHE_HOME", "cache"),
        ("XDG_RUNTIME_DIR", "run"),
    ):
        monkeypatch.setenv(var, str(tmp_path / sub))
    (tmp_path / "run").mkdir(mode=0o700)  # XDG: the runtime folder exists, ours, mode 0700
    dirs = platformdirs.PlatformDirs(APP_NAME, appauthor=False)
    for environ in ({}, {HOME_ENV: ""}, {"UNRELATED": "x"}):
        paths = app_paths(environ=environ)
        assert paths.config_dir == Path(dirs.user_config_dir)
        assert paths.data_dir == Path(dirs.user_data_dir)
        assert paths.log_dir == Path(dirs.user_log_dir)
        if os.name == "posix":
            assert paths.runtime_dir == Path(dirs.user_runtime_dir)
        else:
            assert paths.runtime_dir == Path(dirs.user_cache_dir)
        assert APP_NAME in str(paths.config_dir)
        assert paths.profiles_file == Path(dirs.user_config_dir) / "profiles.toml"


@pytest.mark.skipif(not sys.platform.startswith("linux"), reason="XDG layout")
def test_xdg_locations_on_linux(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("XDG_CONFIG_HOME", str(tmp_path / "cfg"))
    monkeypatch.setenv("XDG_DATA_HOME", str(tmp_path / "data"))
    monkeypatch.setenv("XDG_RUNTIME_DIR", str(tmp_path / "run"))
    (tmp_path / "run").mkdir(mode=0o700)
    paths = app_paths(environ={})
    assert paths.config_dir == tmp_path / "cfg" / APP_NAME
    assert paths.data_dir == tmp_path / "data" / APP_NAME
    assert paths.runtime_dir == tmp_path / "run" / APP_NAME


def test_default_environ_is_the_process_environment(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv(HOME_ENV, str(tmp_path))
    assert app_paths().config_dir == tmp_path.resolve()
    monkeypatch.delenv(HOME_ENV)
    assert app_paths() == app_paths(environ={})


def test_app_paths_is_a_value() -> None:
    a = AppPaths(Path("/c"), Path("/d"), Path("/l"), Path("/r"))
    assert a == AppPaths(Path("/c"), Path("/d"), Path("/l"), Path("/r"))
    with pytest.raises(AttributeError):
        a.config_dir = Path("/x")  # type: ignore[misc]


def test_ensure_private_dir(tmp_path: Path) -> None:
    target = tmp_path / "a" / "b"
    assert ensure_private_dir(target) == target
    assert target.is_dir()
    if os.name == "posix":
        assert stat.S_IMODE(target.stat().st_mode) & 0o077 == 0
    assert ensure_private_dir(target) == target  # already there: fine


def test_resources_dir_is_next_to_the_package() -> None:
    folder = resources_dir()
    assert folder.name == "resources"
    assert (folder.parent / "app" / "storage" / "paths.py").is_file()


@pytest.mark.skipif(not sys.platform.startswith("linux"), reason="XDG layout")
def test_unusable_runtime_dir_falls_back_without_a_warning(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    shared = tmp_path / "not-private"
    shared.mkdir(mode=0o755)
    shared.chmod(0o755)  # XDG requires 0700; platformdirs rejects this one
    monkeypatch.setenv("XDG_RUNTIME_DIR", str(shared))
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        paths = app_paths(environ={})
    assert [str(w.message) for w in caught] == []
    assert shared not in paths.runtime_dir.parents
    assert APP_NAME in paths.runtime_dir.parts


# --- the runtime folder: never one another local user can take first (issue 13, item 7) ---

posix_only = pytest.mark.skipif(os.name != "posix", reason="POSIX owners and modes")
as_root = pytest.mark.skipif(
    os.name != "posix" or os.geteuid() != 0, reason="handing a folder to another user needs root"
)
NOBODY = 65534


def _no_runtime_env(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """As cron or `su` start us: no XDG_RUNTIME_DIR; returns the state folder's fallback."""
    monkeypatch.delenv("XDG_RUNTIME_DIR", raising=False)
    monkeypatch.setenv("XDG_STATE_HOME", str(tmp_path / "state"))
    return tmp_path / "state" / APP_NAME / "run"


def _expected_without_xdg(fallback: Path) -> Path:
    session = Path(f"/run/user/{os.geteuid()}")
    return session / APP_NAME if folder_problem(session) is None else fallback


@posix_only
def test_without_xdg_runtime_dir_the_fallback_is_in_our_own_home(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    fallback = _no_runtime_env(tmp_path, monkeypatch)
    monkeypatch.setenv("TMPDIR", str(tmp_path))
    assert app_paths(environ={}).runtime_dir == _expected_without_xdg(fallback)
    assert not (tmp_path / f"runtime-{os.geteuid()}").exists()  # nothing made in TMPDIR


@as_root
def test_a_tmp_runtime_folder_of_another_user_is_not_a_crash(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    fallback = _no_runtime_env(tmp_path, monkeypatch)
    shared = tmp_path / "tmp"
    shared.mkdir()
    shared.chmod(0o1777)
    planted = shared / f"runtime-{os.geteuid()}"
    planted.mkdir()
    os.chown(planted, NOBODY, NOBODY)
    monkeypatch.setenv("TMPDIR", str(shared))
    monkeypatch.setattr(tempfile, "tempdir", str(shared))  # gettempdir() caches the first one
    with warnings.catch_warnings(), pytest.raises(PermissionError):
        warnings.simplefilter("ignore")  # what platformdirs does on its own
        _ = platformdirs.PlatformDirs(APP_NAME, appauthor=False).user_runtime_dir
    paths = app_paths(environ={})
    assert paths.runtime_dir == _expected_without_xdg(fallback)
    assert planted not in paths.runtime_dir.parents


@posix_only
def test_an_xdg_runtime_dir_that_is_a_link_or_not_ours_is_not_used(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    fallback = _no_runtime_env(tmp_path, monkeypatch)
    real = tmp_path / "real"
    real.mkdir(mode=0o700)
    link = tmp_path / "link"
    link.symlink_to(real)
    monkeypatch.setenv("XDG_RUNTIME_DIR", str(link))
    assert app_paths(environ={}).runtime_dir == _expected_without_xdg(fallback)
    monkeypatch.setenv("XDG_RUNTIME_DIR", str(tmp_path / "missing"))
    assert app_paths(environ={}).runtime_dir == _expected_without_xdg(fallback)
    monkeypatch.setenv("XDG_RUNTIME_DIR", str(real))
    assert app_paths(environ={}).runtime_dir == real / APP_NAME
    if os.geteuid() == 0:
        os.chown(real, NOBODY, NOBODY)
        assert app_paths(environ={}).runtime_dir == _expected_without_xdg(fallback)


@posix_only
def test_a_fallback_that_is_not_ours_alone_is_one_clear_error(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    fallback = _no_runtime_env(tmp_path, monkeypatch)
    if _expected_without_xdg(fallback) != fallback:
        pytest.skip("this session has a private /run/user folder; the fallback is not used")
    fallback.mkdir(parents=True, mode=0o700)
    fallback.chmod(0o755)
    with pytest.raises(FolderNotPrivate) as caught:
        app_paths(environ={})
    message = str(caught.value)
    assert str(fallback) in message and "mode 0755" in message
    assert f"chmod 700 {fallback}" in message and "XDG_RUNTIME_DIR" in message
    assert "\n" not in message
    fallback.rmdir()
    fallback.symlink_to(tmp_path)
    with pytest.raises(FolderNotPrivate, match="symbolic link"):
        app_paths(environ={})
    # TUNNELKEEPER_HOME does not look at it
    assert (
        app_paths(environ={HOME_ENV: str(tmp_path / "h")}).runtime_dir
        == (tmp_path / "h" / "run").resolve()
    )


@posix_only
def test_private_dir_makes_a_0700_folder_and_refuses_what_is_not_ours(tmp_path: Path) -> None:
    made = private_dir(tmp_path / "a" / "b")
    assert stat.S_IMODE(made.stat().st_mode) == 0o700
    assert private_dir(made) == made
    made.chmod(0o770)
    with pytest.raises(FolderNotPrivate, match="mode 0770"):
        private_dir(made)
    link = tmp_path / "link"
    link.symlink_to(tmp_path / "nowhere")
    with pytest.raises(FolderNotPrivate, match="symbolic link"):
        private_dir(link)
    if os.geteuid() == 0:
        theirs = tmp_path / "theirs"
        theirs.mkdir(mode=0o700)
        os.chown(theirs, NOBODY, NOBODY)
        with pytest.raises(FolderNotPrivate, match="belongs to another user"):
            private_dir(theirs)
    assert folder_problem(tmp_path / "absent") == "does not exist"


@pytest.mark.skipif(os.name != "posix", reason="modes are POSIX")
@pytest.mark.parametrize("make", [private_dir, ensure_private_dir])
def test_the_folders_made_above_a_private_one_are_private_too(tmp_path: Path, make: object) -> None:
    tmp_path.chmod(0o755)  # an existing parent keeps its mode
    old = os.umask(0o022)  # the usual umask: mkdir(parents=True) made parents 0755
    try:
        made = make(tmp_path / "home" / "run" / "claims")  # type: ignore[operator]
    finally:
        os.umask(old)
    for folder in (made, made.parent, made.parent.parent):
        assert stat.S_IMODE(folder.stat().st_mode) == 0o700, folder
    assert stat.S_IMODE(tmp_path.stat().st_mode) == 0o755


def test_a_run_folder_made_for_claims_is_still_private_for_the_app(tmp_path: Path) -> None:
    """`run` makes <home>/run/claims first; the desktop app then checks <home>/run itself
    (its single-instance socket) and refused it as mode 0755."""
    paths = app_paths({HOME_ENV: str(tmp_path / "home")})
    private_dir(paths.runtime_dir / "claims")
    assert private_dir(paths.runtime_dir) == paths.runtime_dir
    assert folder_problem(paths.runtime_dir) is None


def test_a_file_where_a_folder_belongs_is_still_refused(tmp_path: Path) -> None:
    (tmp_path / "file").write_text("x")
    with pytest.raises(FolderNotPrivate, match="is not a folder"):
        private_dir(tmp_path / "file")
    with pytest.raises(FileExistsError):
        ensure_private_dir(tmp_path / "file")
