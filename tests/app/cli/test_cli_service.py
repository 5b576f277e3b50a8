"""`tunnelkeeper service`: --dry-run shows every file and command and changes nothing."""

from __future__ import annotations

import os
import subprocess
from pathlib import Path

import pytest

from app.platform.service_install import ROOT_ENV
from app.storage.paths import AppPaths
from tests.conftest import Jumphost
from tests.support.cli import APP, ROOT, add_profile, next_event, spawn_run, stop, tk
from tests.support.net import TcpServer, port_is_listening


def everything_under(root: Path) -> list[Path]:
    return sorted(root.rglob("*"))


def test_system_dry_run_shows_the_unit_and_commands_and_changes_nothing(
    tk_home: AppPaths, tmp_path: Path
) -> None:
    root = tmp_path / "system"
    root.mkdir()
    env = {**os.environ, ROOT_ENV: str(root), "SUDO_USER": "alice"}
    result = tk("service", "install", "--system", "--dry-run", env=env)
    assert result.returncode == 0, result.stderr
    out = result.stdout
    assert "runs as the account 'tunnelkeeper'" in out and "mode 0600" in out
    assert f"write {root}/etc/systemd/system/tunnelkeeper.service (mode 0644)" in out
    assert "Type=notify" in out and "ExecStart=" in out and " run --all" in out
    assert "run usermod --append --groups tunnelkeeper alice" in out  # who asked controls it
    assert f"create folder {root}/etc/tunnelkeeper (mode 0750, owner root:tunnelkeeper)" in out
    assert "systemctl" not in out  # under another root nothing is enabled or started
    assert everything_under(root) == []  # nothing written
    assert not (root / "etc").exists()
    real = tk("service", "install", "--system", "--dry-run")  # the machine's own root
    assert real.returncode == 0, real.stderr
    assert "run systemctl daemon-reload" in real.stdout
    assert "run systemctl enable --now tunnelkeeper.service" in real.stdout


def test_user_dry_run_enables_lingering(tk_home: AppPaths) -> None:
    result = tk("service", "install", "--user", "--dry-run")
    assert result.returncode == 0, result.stderr
    assert "run loginctl enable-linger" in result.stdout
    assert "run systemctl --user enable --now tunnelkeeper.service" in result.stdout
    assert "a key with a passphrase cannot be opened" in result.stdout
    removal = tk("service", "uninstall", "--user", "--dry-run")
    assert "run systemctl --user disable --now tunnelkeeper.service" in removal.stdout


def test_move_needs_the_system_service(tk_home: AppPaths) -> None:
    result = tk("service", "install", "--user", "--move", "db")
    assert result.returncode != 0 and "--move goes with --system" in result.stderr


@pytest.mark.parametrize(
    "bundle", [b"", b"{not json", b'{"version": 1, "tunnels": [{"profile": {"name": "x"}}]}']
)
def test_a_bad_bundle_on_stdin_is_a_sentence_and_changes_nothing(
    tk_home: AppPaths, tmp_path: Path, bundle: bytes
) -> None:
    root = tmp_path / "system"
    root.mkdir()
    done = subprocess.run(
        [*APP, "service", "install", "--system", "--from-stdin"],
        input=bundle,
        capture_output=True,
        cwd=ROOT,
        env={**os.environ, ROOT_ENV: str(root)},
        timeout=60,
    )
    assert done.returncode != 0
    err = done.stderr.decode()
    assert "could not be read" in err and "nothing was changed" in err and "Traceback" not in err
    assert everything_under(root) == []


@pytest.mark.integration
def test_move_copies_the_tunnel_into_the_service_and_stops_it_here(
    jumphost: Jumphost, tk_home: AppPaths, echo: TcpServer, tmp_path: Path
) -> None:
    root = tmp_path / "system"
    root.mkdir()
    add_profile(jumphost, echo.port)
    assert tk("trust", "db", "--yes").returncode == 0
    proc = spawn_run("db")
    try:
        assert next_event(proc)["state"] == "connecting"
        assert next_event(proc)["state"] == "connected"
        env = {**os.environ, ROOT_ENV: str(root)}
        moved = tk(
            "service", "install", "--system", "--move", "db", "--run-as", "root", "--no-start",
            env=env,
        )  # fmt: skip
        assert moved.returncode == 0, moved.stderr
        assert "removed from yours" in moved.stdout
        assert not port_is_listening(jumphost.remote_port)  # stopped where it ran
        assert proc.poll() is None  # the `run` process itself goes on
        assert "db" not in tk("list").stdout
        config = root / "etc/tunnelkeeper"
        assert "[tunnels.db]" in (config / "profiles.toml").read_text()
        assert (config / "known_hosts").read_text().startswith(f"[127.0.0.1]:{jumphost.port} ")
        (key,) = (config / "keys").iterdir()
        assert key.stat().st_mode & 0o777 == 0o600
        unit = (root / "etc/systemd/system/tunnelkeeper.service").read_text()
        assert f"Environment=TUNNELKEEPER_CONFIG_DIR={config}" in unit
    finally:
        stop(proc)
