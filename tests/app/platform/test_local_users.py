"""Another local user cannot stop the desktop app from starting or make commands crash."""

from __future__ import annotations

import getpass
import hashlib
import os
import signal
import subprocess
import sys
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest

from app.storage.paths import APP_NAME, HOME_ENV
from tests.support.cli import ROOT, tk
from tests.support.net import wait_until
from tests.support.users import SQUATTER, LocalUser, local_user, shared_temp

pytestmark = pytest.mark.integration

_XDG = {
    "XDG_CONFIG_HOME": "cfg",
    "XDG_DATA_HOME": "data",
    "XDG_STATE_HOME": "state",
    "XDG_CACHE_HOME": "cache",
}


@dataclass(frozen=True)
class Ours:
    """How our processes are started: their environment and where their files go."""

    env: dict[str, str]
    config_dir: Path
    log_file: Path
    state_dir: Path


@pytest.fixture
def stranger() -> Iterator[LocalUser]:
    with local_user() as user:
        yield user


@pytest.fixture
def shared() -> Iterator[Path]:
    with shared_temp() as folder:
        yield folder


def ours(tmp_path: Path, shared: Path, layout: str = "xdg") -> Ours:
    """As cron or ``su`` start us: no XDG_RUNTIME_DIR; TMPDIR is the shared folder."""
    env = {k: v for k, v in os.environ.items() if k not in ("XDG_RUNTIME_DIR", HOME_ENV)}
    home = tmp_path / "home"
    home.mkdir(exist_ok=True)
    env.update(
        HOME=str(home),
        TMPDIR=str(shared),
        QT_QPA_PLATFORM="offscreen",
        PYTHON_KEYRING_BACKEND="keyring.backends.fail.Keyring",
    )
    env.update({var: str(tmp_path / sub) for var, sub in _XDG.items()})
    state_dir = tmp_path / "state" / APP_NAME
    if layout == "home":
        root = (tmp_path / "tk").resolve()
        env[HOME_ENV] = str(root)
        return Ours(env, root, root / "logs" / "tunnelkeeper.log", state_dir)
    return Ours(env, tmp_path / "cfg" / APP_NAME, state_dir / "log" / "tunnelkeeper.log", state_dir)


def old_socket_name(config_dir: Path) -> str:
    """The name the single-instance socket had in $TMPDIR before this was fixed."""
    digest = hashlib.sha256(f"{getpass.getuser()}\0{config_dir}".encode()).hexdigest()[:16]
    return f"tunnelkeeper-{digest}"


def _launch(env: dict[str, str]) -> subprocess.Popen[str]:
    return subprocess.Popen(
        [sys.executable, "-m", "app"],
        cwd=ROOT,
        env=env,
        stdin=subprocess.DEVNULL,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )


def _stop(proc: subprocess.Popen[str]) -> tuple[str, str]:
    if proc.poll() is None:
        proc.send_signal(signal.SIGTERM)
    try:
        return proc.communicate(timeout=10)
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.communicate(timeout=5)


@pytest.mark.parametrize("layout", ["xdg", "home"])
def test_another_user_cannot_stop_the_desktop_app_from_starting(
    stranger: LocalUser, shared: Path, tmp_path: Path, layout: str
) -> None:
    us = ours(tmp_path, shared, layout)
    heard = shared / "heard"
    squatter = stranger.python(
        SQUATTER,
        str(shared / old_socket_name(us.config_dir)),
        str(heard),
        str(shared / f"runtime-{os.geteuid()}"),
    )
    try:
        assert squatter.stdout is not None
        assert squatter.stdout.readline().strip() == "ready", squatter.communicate()[1]
        first = _launch(us.env)
        try:

            def started() -> bool:
                log = us.log_file
                return log.exists() and "desktop app started" in log.read_text()

            assert wait_until(lambda: first.poll() is not None or started(), 30)
            if first.poll() is not None:
                out, err = first.communicate()
                pytest.fail(f"our app did not start its own instance: {out!r} {err!r}")
            second = subprocess.run(
                [sys.executable, "-m", "app"],
                cwd=ROOT,
                env=us.env,
                capture_output=True,
                text=True,
                timeout=30,
            )
            assert second.returncode == 0, second.stderr
            assert "already running" in second.stdout  # our own instance answered
            assert first.poll() is None
        finally:
            _, err = _stop(first)
        assert first.returncode == 0, err
        assert "Traceback" not in err
        assert not heard.exists(), f"the stranger heard from us: {heard.read_bytes()!r}"
    finally:
        squatter.kill()
        squatter.communicate(timeout=10)


def test_a_runtime_folder_planted_by_another_user_breaks_no_command(
    stranger: LocalUser, shared: Path, tmp_path: Path
) -> None:
    us = ours(tmp_path, shared)
    planted = shared / f"runtime-{os.geteuid()}"  # platformdirs' fallback without XDG_RUNTIME_DIR
    planting = stranger.python(SQUATTER, "-", str(shared / "unused"), str(planted))
    out, err = planting.communicate(timeout=30)
    assert planting.returncode == 0 and out.strip() == "ready", err
    assert planted.stat().st_uid == stranger.uid
    for command in (("list",), ("status",), ("keygen", "k", "--no-passphrase"), ("list", "--json")):
        result = tk(*command, env=us.env)
        assert "Traceback" not in result.stderr, (command, result.stderr)
        assert result.returncode == 0, (command, result.stderr)
    assert "No tunnels yet" in tk("list", env=us.env).stdout
    assert list(planted.iterdir()) == []  # nothing of ours went into their folder


def test_without_any_private_runtime_folder_commands_say_so_in_one_sentence(
    stranger: LocalUser, shared: Path, tmp_path: Path
) -> None:
    us = ours(tmp_path, shared)
    # the last resort, in our own home, was taken over too
    fallback = us.state_dir / "run"
    fallback.mkdir(parents=True)
    os.chown(fallback, stranger.uid, stranger.gid)
    result = tk("list", env=us.env)
    assert result.returncode == 2, result.stderr
    assert "Traceback" not in result.stderr
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1, lines
    assert str(fallback) in lines[0] and "another user" in lines[0]
    assert "XDG_RUNTIME_DIR" in lines[0]
