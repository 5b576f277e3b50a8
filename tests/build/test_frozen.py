"""The frozen Linux app, run as users run it: --version, --self-test, test, run, the tray app."""

from __future__ import annotations

import json
import os
import shutil
import signal
import socket
import subprocess
from pathlib import Path

from app import __version__, selftest
from app.storage.paths import AppPaths
from tests.conftest import Jumphost
from tests.support.cli import add_profile, next_event, spawn_run, stop, tk
from tests.support.net import (
    TcpServer,
    port_is_listening,
    recv_exact,
    wait_until,
)
from tests.support.secret_service import (
    PrivateSecretService,
    secret_service_fixture,  # noqa: F401  (registers the `secret_service` fixture)
)

MAX_BUNDLE_MB = 150.0
DEADLINE = 60.0  # seconds; generous for a loaded 2-core machine


def _app(frozen_app: Path) -> tuple[str, ...]:
    return (str(frozen_app / "tunnelkeeper"),)


def _offscreen() -> dict[str, str]:
    env = os.environ.copy()
    env["QT_QPA_PLATFORM"] = "offscreen"
    return env


def _size_mb(folder: Path) -> float:
    return sum(p.lstat().st_size for p in folder.rglob("*") if not p.is_dir()) / 1e6


def test_the_bundle_stays_under_150_mb_and_carries_only_what_the_app_loads(
    frozen_app: Path,
) -> None:
    size = _size_mb(frozen_app)
    print(f"frozen folder: {size:.1f} MB")
    assert size <= MAX_BUNDLE_MB, f"the frozen folder is {size:.1f} MB"
    internal = frozen_app / "_internal"
    plugins = {p.name for p in (internal / "PySide6" / "Qt" / "plugins").iterdir()}
    assert {"platforms", "iconengines", "imageformats"} <= plugins
    assert not plugins & {"sqldrivers", "qmltooling", "designer", "printsupport", "tls"}
    assert not (internal / "PySide6" / "Qt" / "translations").exists()
    assert not list(internal.glob("PySide6/QtQml*")) and not list(internal.glob("PySide6/QtPdf*"))
    # the desktop's own libraries come from the system (the .deb depends on them)
    assert not list(internal.glob("libxcb*")) and not list(internal.glob("libX11*"))
    assert (internal / "resources" / "icons" / "tunnelkeeper.svg").is_file()
    assert list(internal.glob("keyring-*.dist-info/entry_points.txt"))


def test_version(frozen_app: Path) -> None:
    result = tk("--version", app=_app(frozen_app))
    assert result.returncode == 0, result.stderr
    assert result.stdout == f"tunnelkeeper {__version__}\n"


def test_self_test_passes_with_the_keychain_answering(
    frozen_app: Path, secret_service: PrivateSecretService
) -> None:
    result = tk("--self-test", app=_app(frozen_app), env=_offscreen())
    assert result.returncode == 0, result.stdout + result.stderr
    lines = result.stdout.splitlines()
    assert lines[0] == f"tunnelkeeper {__version__} (frozen) self-test"
    assert [line.split()[:2] for line in lines[1:7]] == [
        ["ok", "Qt"],
        ["ok", "keyring"],
        ["ok", "crypto"],
        ["ok", "icons"],
        ["ok", "history"],
        ["ok", "network"],  # TLS, pyspnego and prometheus_client are in the install
    ]
    assert "platform offscreen" in lines[1]
    assert "SecretService backend loaded" in lines[2] and "the keychain answers" in lines[2]
    assert lines[-1] == f"self-test passed ({len(selftest.CHECKS)} checks)"


def test_self_test_fails_when_the_bundle_lost_its_svg_plugins(
    frozen_app: Path, tmp_path: Path
) -> None:
    broken = tmp_path / "tunnelkeeper"
    shutil.copytree(frozen_app, broken, symlinks=True)
    plugins = broken / "_internal" / "PySide6" / "Qt" / "plugins"
    shutil.rmtree(plugins / "iconengines")
    shutil.rmtree(plugins / "imageformats")
    result = tk("--self-test", app=_app(broken), env=_offscreen())
    assert result.returncode == 1
    assert "FAIL  icons    cannot draw" in result.stdout
    assert result.stdout.splitlines()[-1] == "self-test failed: icons"
    assert "Traceback" not in result.stdout + result.stderr


def test_frozen_cli_tests_and_runs_a_tunnel_through_the_real_sshd(
    frozen_app: Path, jumphost: Jumphost, tk_home: AppPaths, echo: TcpServer
) -> None:
    app = _app(frozen_app)
    jumphost.permit_end_to_end()
    add_profile(jumphost, echo.port, app=app)
    trusted = tk("trust", "db", "--yes", app=app)
    assert trusted.returncode == 0, trusted.stderr

    tested = tk("test", "db", "--json", app=app, timeout=120)
    assert tested.returncode == 0, tested.stdout + tested.stderr
    document = json.loads(tested.stdout)
    assert [c["status"] for c in document["checks"]] == ["pass"] * 7

    proc = spawn_run("db", app=app)
    try:
        assert next_event(proc)["state"] == "connecting"
        connected = next_event(proc)
        assert connected["state"] == "connected", connected
        with socket.create_connection(("127.0.0.1", jumphost.remote_port), timeout=30) as conn:
            conn.sendall(b"frozen")
            assert recv_exact(conn, 6) == b"frozen"
    finally:
        out, err = stop(proc)
    assert proc.returncode == 0, err
    assert json.loads(out.strip().splitlines()[-1])["state"] == "stopped"
    assert "Traceback" not in err


def test_frozen_desktop_app_keeps_the_tunnel_and_quits_on_sigterm(
    frozen_app: Path, jumphost: Jumphost, tk_home: AppPaths, echo: TcpServer, tmp_path: Path
) -> None:
    app = _app(frozen_app)
    add_profile(jumphost, echo.port, app=app)
    assert tk("trust", "db", "--yes", app=app).returncode == 0
    log = tmp_path / "gui.log"
    with log.open("w") as output:
        proc = subprocess.Popen(
            list(app),
            stdin=subprocess.DEVNULL,
            stdout=output,
            stderr=subprocess.STDOUT,
            env=_offscreen(),
        )
    try:
        assert wait_until(lambda: port_is_listening(jumphost.remote_port), DEADLINE), (
            log.read_text()
        )
        with socket.create_connection(("127.0.0.1", jumphost.remote_port), timeout=30) as conn:
            conn.sendall(b"from the tray app")
            assert recv_exact(conn, 17) == b"from the tray app"
        proc.send_signal(signal.SIGTERM)
        assert proc.wait(timeout=30) == 0, log.read_text()
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait(10)
    text = log.read_text()
    assert "Traceback" not in text, text
    assert "desktop app started" in (tk_home.log_file.read_text())
