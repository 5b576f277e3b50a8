"""Tunnels moved into the system service, which is then started exactly as its unit says."""

from __future__ import annotations

import os
import shlex
import signal
import socket
import subprocess
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from app.core.service_units import Scope
from app.errors import KeyPassphraseNeeded, KeyringUnavailable
from app.platform.keychain import NullKeychain
from app.platform.service_install import ROOT_ENV, Run, perform
from app.services.api import Services
from app.storage.paths import AppPaths
from tests.conftest import Jumphost, start_jumphost
from tests.support.cli import ROOT, status_json, tk
from tests.support.net import TcpServer, port_is_listening, recv_exact, wait_until
from tests.support.sshd import ssh_keygen

pytestmark = pytest.mark.integration


class Manager:
    """systemd's end of NOTIFY_SOCKET."""

    def __init__(self, path: Path) -> None:
        self.path = path
        self.sock = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
        self.sock.bind(str(path))
        self.sock.settimeout(0.5)

    def wait_for(self, message: str, seconds: float) -> bool:
        deadline = time.monotonic() + seconds
        while time.monotonic() < deadline:
            try:
                if message in self.sock.recv(4096).decode():
                    return True
            except TimeoutError:
                continue
        return False


@pytest.fixture
def system_root(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    root = tmp_path / "system"
    root.mkdir()
    monkeypatch.setenv(ROOT_ENV, str(root))
    return root


@pytest.fixture
def services(tk_home: AppPaths) -> Services:
    return Services(tk_home, lambda: NullKeychain(KeyringUnavailable("none here")))


def install_without_systemd(services: Services, names: list[str]) -> Path:
    """Everything `service install --system --move NAMES` does, but the service manager's
    own commands (no systemd runs in a test container); returns the unit file."""
    manager = services.service
    moved = manager.bundle(names, ask=None)
    spec = manager.install_spec(Scope.SYSTEM, run_as="root")  # User= the installing user
    for step in manager.install_steps(spec, moved):
        if not (isinstance(step, Run) and step.argv[0] == "systemctl"):
            perform(step)
    unit = Path(os.environ[ROOT_ENV]) / "etc/systemd/system/tunnelkeeper.service"
    assert unit.exists()
    return unit


def started_as_the_unit_says(unit: Path, extra: dict[str, str]) -> subprocess.Popen[str]:
    lines = unit.read_text().splitlines()
    argv = shlex.split(next(x for x in lines if x.startswith("ExecStart=")).split("=", 1)[1])
    env = {"PATH": os.environ["PATH"], **extra}
    for line in lines:
        if line.startswith("Environment="):
            name, value = line.split("=", 1)[1].split("=", 1)
            env[name] = value
    socket_path = Path(env["TUNNELKEEPER_SYSTEM_SOCKET"])
    socket_path.parent.mkdir(mode=0o750, parents=True)  # what RuntimeDirectory= makes
    return subprocess.Popen(
        argv,
        cwd=ROOT,
        env=env,
        stdin=subprocess.DEVNULL,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
        text=True,
        umask=0o077,  # UMask= of the unit
    )


def stopped(proc: subprocess.Popen[str]) -> str:
    proc.send_signal(signal.SIGTERM)
    try:
        _out, err = proc.communicate(timeout=20)
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait(10)
    return err


@pytest.fixture
def notify(tmp_path: Path) -> Iterator[Manager]:
    made = Manager(tmp_path / "notify.sock")
    try:
        yield made
    finally:
        made.sock.close()


def test_a_moved_tunnel_runs_in_the_service_started_as_its_unit_says(
    services: Services,
    jumphost: Jumphost,
    tk_home: AppPaths,
    echo: TcpServer,
    system_root: Path,
    notify: Manager,
) -> None:
    services.profiles.save(jumphost.profile(echo.port, name="db"))
    jumphost.pin(tk_home)
    unit = install_without_systemd(services, ["db"])
    key = system_root / "etc/tunnelkeeper/keys" / f"db-{jumphost.key.name}"
    info = key.stat()
    assert (info.st_mode & 0o777, info.st_uid) == (0o600, os.geteuid())  # its user's alone
    assert (key.parent.stat().st_mode & 0o777) == 0o700

    proc = started_as_the_unit_says(
        unit, {"NOTIFY_SOCKET": str(notify.path), "WATCHDOG_USEC": "2000000"}
    )
    try:
        assert notify.wait_for("READY=1", 30), proc.stderr
        assert notify.wait_for("WATCHDOG=1", 10)
        system_socket = str(system_root / "run/tunnelkeeper/control.sock")
        os.environ["TUNNELKEEPER_SYSTEM_SOCKET"] = system_socket
        try:
            assert wait_until(lambda: any(t["state"] == "connected" for t in status_json()), 30), (
                status_json()
            )
            (tunnel,) = status_json()
            assert (tunnel["tunnel"], tunnel["host"], tunnel["pid"]) == ("db", "service", proc.pid)
            logs = tk("logs", "db")  # the service's log, read through its socket
            assert logs.returncode == 0, logs.stderr
            assert "db: connected" in logs.stdout
        finally:
            del os.environ["TUNNELKEEPER_SYSTEM_SOCKET"]
        with socket.create_connection(("127.0.0.1", jumphost.remote_port), timeout=30) as conn:
            conn.sendall(b"from the service")
            assert recv_exact(conn, 16) == b"from the service"
        assert services.service.hand_over(["db"]) == []
        assert "db" not in services.profiles.load()  # the user's copy is gone
    finally:
        err = stopped(proc)
    assert "Traceback" not in err
    assert not port_is_listening(jumphost.remote_port)


def test_a_passphrase_travels_as_an_encrypted_credential_only(
    services: Services, tmp_path: Path, tk_home: AppPaths, echo: TcpServer, system_root: Path
) -> None:
    key = ssh_keygen(tmp_path / "id_locked")
    subprocess.run(
        [
            "ssh-keygen",
            "-q",
            "-p",
            "-P",
            "",
            "-N",
            "hunter2-long",
            "-Z",
            "aes256-ctr",
            "-f",
            str(key),
        ],
        check=True,
    )
    host = start_jumphost(tmp_path / "jump2", key)
    try:
        services.profiles.save(host.profile(echo.port, name="locked"))
        host.pin(tk_home)
        with pytest.raises(KeyPassphraseNeeded):  # nobody to ask, no keychain
            services.service.bundle(["locked"], ask=None)
        moved = services.service.bundle(["locked"], ask=lambda _prompt: "hunter2-long")
        spec = services.service.install_spec(Scope.SYSTEM, run_as="root")
        steps = services.service.install_steps(spec, moved)
        shown = "\n".join(step.describe() for step in steps)
        assert "hunter2" not in shown and "systemd-creds encrypt" in shown
        for step in steps:
            if not (isinstance(step, Run) and step.argv[0] == "systemctl"):
                perform(step)
        config = system_root / "etc/tunnelkeeper"
        for path in config.rglob("*"):
            if path.is_file():
                assert b"hunter2" not in path.read_bytes(), path
        (cred,) = (config / "credentials").glob("*.cred")
        unit = (system_root / "etc/systemd/system/tunnelkeeper.service").read_text()
        assert f"LoadCredentialEncrypted={cred.stem}:{cred}" in unit
        # what systemd does at start: decrypt into the service's private folder
        private = tmp_path / "credentials"
        private.mkdir(mode=0o700)
        subprocess.run(
            [
                "systemd-creds",
                "decrypt",
                f"--name={cred.stem}",
                str(cred),
                str(private / cred.stem),
            ],
            check=True,
            capture_output=True,
        )
        from app.platform.credentials import CredentialsKeychain

        service = Services(
            AppPaths(config, config, system_root / "logs", system_root / "run"),
            lambda: CredentialsKeychain(private),
        )
        loaded = service.keys.load_for(service.profiles.get("locked"), None)
        assert loaded.key is not None
    finally:
        host.sshd.stop()
