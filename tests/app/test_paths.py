"""File locations: everything under TUNNELKEEPER_HOME when set, else platformdirs'."""

from __future__ import annotations

import os
import stat
import sys
import warnings
from pathlib import Path

import platformdirs
import pytest

from app.paths import APP_NAME, HOME_ENV, AppPaths, app_paths, ensure_private_dir, resources_dir


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
    assert (folder.parent / "app" / "paths.py").is_file()


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
    assert paths.runtime_dir.name == APP_NAME
