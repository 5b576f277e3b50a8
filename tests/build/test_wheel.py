"""The wheel, installed as a new user installs it (`pip install .`, `pipx install .`): built
from a clean copy of the checkout, installed into a fresh virtualenv outside it, then its
`tunnelkeeper` runs --self-test and a tunnel through the real sshd."""

from __future__ import annotations

import json
import os
import shutil
import site
import socket
import subprocess
import sys
import zipfile
from dataclasses import dataclass
from pathlib import Path

import pytest

from app import __version__, selftest
from app.storage.paths import AppPaths
from tests.conftest import Jumphost
from tests.support.cli import ROOT, add_profile, next_event, spawn_run, stop, tk
from tests.support.net import TcpServer, recv_exact

pytestmark = pytest.mark.slow

STEP_TIMEOUT = 300.0  # seconds for one packaging step on a loaded 2-core machine


@dataclass(frozen=True)
class Installed:
    """A virtualenv holding the wheel; its dependencies come from the test's own venv."""

    wheel: Path
    source: Path  # the clean copy the wheel was built from
    venv: Path

    @property
    def python(self) -> Path:
        return self.venv / "bin" / "python"

    @property
    def app(self) -> tuple[str, ...]:
        return (str(self.venv / "bin" / "tunnelkeeper"),)


def _run(args: list[str], cwd: Path, env: dict[str, str] | None = None) -> str:
    result = subprocess.run(
        args, cwd=cwd, env=env, capture_output=True, text=True, timeout=STEP_TIMEOUT
    )
    assert result.returncode == 0, f"{args}:\n{result.stdout[-3000:]}{result.stderr[-3000:]}"
    return result.stdout


def _clean_copy(dest: Path) -> Path:
    """The files a fresh clone has (tracked, or new and not ignored): no egg-info, no
    setuptools work folder, nothing an earlier build left."""
    listing = _run(["git", "ls-files", "-z", "--cached", "--others", "--exclude-standard"], ROOT)
    for name in filter(None, listing.split("\0")):
        source = ROOT / name
        if source.is_file():  # listed but deleted in the work tree: not in a clone either
            (dest / name).parent.mkdir(parents=True, exist_ok=True)
            shutil.copy2(source, dest / name)
    return dest


def _clean_env(monkeypatch: pytest.MonkeyPatch) -> dict[str, str]:
    """This process's environment without anything that could put the checkout's `app` on
    the path (tests/support/cli.py's helpers copy os.environ)."""
    for name in ("PYTHONPATH", "PYTHONHOME", "PYTHONSAFEPATH", "VIRTUAL_ENV"):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("QT_QPA_PLATFORM", "offscreen")
    return os.environ.copy()


def _dist_info(wheel: Path) -> str:
    name, version = wheel.name.split("-")[:2]
    return f"{name}-{version}.dist-info"


@pytest.fixture(scope="module")
def installed(tmp_path_factory: pytest.TempPathFactory) -> Installed:
    work = tmp_path_factory.mktemp("wheel")
    source = _clean_copy(work / "source")
    dist = work / "dist"
    # pip's default build isolation: setuptools as pyproject.toml's build-system asks
    _run([sys.executable, "-m", "pip", "wheel", "--no-deps", "-w", str(dist), str(source)], work)
    (wheel,) = dist.glob("tunnelkeeper-*.whl")
    venv = work / "venv"
    _run([sys.executable, "-m", "venv", "--without-pip", str(venv)], work)
    python = venv / "bin" / "python"
    _run([sys.executable, "-m", "pip", "--python", str(python), "install", "--no-deps",
          "--no-index", str(wheel)], work)  # fmt: skip
    # The dependencies (PySide6, paramiko, keyring, ...) are this test venv's: its
    # site-packages on the new venv's path, after its own. A path line in a .pth file runs
    # none of that folder's .pth files, so the editable install's finder for the
    # checkout's `app` stays out.
    purelib = _run([str(python), "-c", "import sysconfig; print(sysconfig.get_path('purelib'))"],
                   work).strip()  # fmt: skip
    (Path(purelib) / "test-dependencies.pth").write_text(
        "".join(f"{folder}\n" for folder in site.getsitepackages())
    )
    return Installed(wheel, source, venv)


def test_the_wheel_holds_every_package_and_the_icons(installed: Installed) -> None:
    with zipfile.ZipFile(installed.wheel) as wheel:
        names = set(wheel.namelist())
    # every folder with Python code (one missing its __init__.py would be left out too)
    packages = {
        module.parent.relative_to(installed.source).as_posix()
        for module in (installed.source / "app").rglob("*.py")
    }
    assert {"app", "app/ui", "app/platform"} <= packages
    missing = sorted(p for p in packages if f"{p}/__init__.py" not in names)
    assert not missing, f"packages left out of the wheel: {missing}"
    icons = sorted(p.name for p in (installed.source / "resources" / "icons").glob("*.svg"))
    assert icons
    assert sorted(n.split("/")[-1] for n in names if n.startswith("app/resources/icons/")) == icons
    # nothing outside the package: `resources` alone would be a top-level name in site-packages
    assert {n.split("/")[0] for n in names} == {"app", _dist_info(installed.wheel)}


def test_the_installed_app_is_the_wheels_and_finds_its_icons_inside_it(
    installed: Installed, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    env = _clean_env(monkeypatch)
    code = (
        "import app, app.storage.paths; "
        "print(app.__file__); print(app.storage.paths.resources_dir())"
    )
    module, resources = _run([str(installed.python), "-c", code], tmp_path, env).splitlines()
    package = installed.venv.resolve()
    assert package in Path(module).resolve().parents, module
    assert Path(resources) == Path(module).resolve().parent / "resources"
    assert (Path(resources) / "icons" / "tunnelkeeper.svg").is_file()
    # the dependencies the wheel declares are all there (pip reads its metadata)
    check = subprocess.run(
        [sys.executable, "-m", "pip", "--python", str(installed.python), "check"],
        cwd=tmp_path, env=env, capture_output=True, text=True, timeout=STEP_TIMEOUT,
    )  # fmt: skip
    assert check.stdout.strip(), check.stderr  # pip ran: "No broken requirements found."
    assert "tunnelkeeper" not in check.stdout, check.stdout


def test_self_test_passes(
    installed: Installed, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    env = _clean_env(monkeypatch)
    result = subprocess.run(
        [*installed.app, "--self-test"],
        cwd=tmp_path, env=env, capture_output=True, text=True, timeout=STEP_TIMEOUT,
        stdin=subprocess.DEVNULL,
    )  # fmt: skip
    assert result.returncode == 0, result.stdout + result.stderr
    lines = result.stdout.splitlines()
    assert lines[0] == f"tunnelkeeper {__version__} self-test"
    assert [line.split()[:2] for line in lines[1:7]] == [
        ["ok", "Qt"],
        ["ok", "keyring"],
        ["ok", "crypto"],
        ["ok", "icons"],
        ["ok", "history"],
        ["ok", "network"],  # TLS, pyspnego and prometheus_client are in the install
    ]
    icons = installed.venv.resolve() / "lib"
    assert f"icons drawn from {icons}" in lines[4], lines[4]
    assert lines[4].rstrip().endswith("/app/resources/icons"), lines[4]
    assert lines[-1] == f"self-test passed ({len(selftest.CHECKS)} checks)"


def test_the_installed_cli_runs_a_tunnel_through_the_real_sshd(
    installed: Installed,
    jumphost: Jumphost,
    tk_home: AppPaths,
    echo: TcpServer,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    _clean_env(monkeypatch)
    app = installed.app
    add_profile(jumphost, echo.port, app=app)
    trusted = tk("trust", "db", "--yes", app=app)
    assert trusted.returncode == 0, trusted.stderr
    proc = spawn_run("db", app=app)
    try:
        assert next_event(proc)["state"] == "connecting"
        connected = next_event(proc)
        assert connected["state"] == "connected", connected
        with socket.create_connection(("127.0.0.1", jumphost.remote_port), timeout=30) as conn:
            conn.sendall(b"from the wheel")
            assert recv_exact(conn, 14) == b"from the wheel"
    finally:
        out, err = stop(proc)
    assert proc.returncode == 0, err
    assert json.loads(out.strip().splitlines()[-1])["state"] == "stopped"
    assert "Traceback" not in err
