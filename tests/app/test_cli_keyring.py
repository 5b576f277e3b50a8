"""Passphrase-protected keys start unattended from a real Secret Service, end to end."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
from pathlib import Path

from app.paths import AppPaths
from tests.conftest import Jumphost
from tests.support.net import echo_handler, recv_exact, tcp_server
from tests.support.secret_service import (
    PrivateSecretService,
    secret_service_fixture,  # noqa: F401  (registers the `secret_service` fixture)
)

ROOT = Path(__file__).resolve().parents[2]


def tk(*args: str, stdin: str | None = None) -> subprocess.CompletedProcess[str]:
    env = {k: v for k, v in os.environ.items() if k != "PYTHON_KEYRING_BACKEND"}
    return subprocess.run(
        [sys.executable, "-m", "app", *args],
        capture_output=True,
        text=True,
        input=stdin,
        stdin=None if stdin is not None else subprocess.DEVNULL,
        cwd=ROOT,
        env=env,
        timeout=60,
    )


def test_keygen_stores_the_passphrase_and_run_uses_it_unattended(
    secret_service: PrivateSecretService, tk_home: AppPaths, jumphost: Jumphost
) -> None:
    made = tk("keygen", "vault", "--passphrase-stdin", stdin="correct horse battery\n")
    assert made.returncode == 0, made.stderr
    assert "stored in the system keychain" in made.stdout
    key_path = str(tk_home.keys_dir / "vault")
    entry = {"service": "Tunnelkeeper", "username": key_path}
    assert secret_service.secret_of(entry) == "correct horse battery"
    assert "correct horse" not in made.stdout + made.stderr

    jumphost.sshd.authorize_tunnel(Path(key_path), f"localhost:{jumphost.remote_port}")
    with tcp_server(echo_handler) as echo:
        assert (
            tk(
                "add",
                "db",
                "--jumphost",
                "127.0.0.1",
                "--ssh-port",
                str(jumphost.port),
                "--user",
                jumphost.sshd.user,
                "--remote-port",
                str(jumphost.remote_port),
                "--target",
                f"127.0.0.1:{echo.port}",
                "--key",
                "vault",
            ).returncode
            == 0
        )
        assert tk("trust", "db", "--yes").returncode == 0
        env = {k: v for k, v in os.environ.items() if k != "PYTHON_KEYRING_BACKEND"}
        proc = subprocess.Popen(  # no terminal: the passphrase can only come from the keyring
            [sys.executable, "-m", "app", "run", "db", "--events", "json"],
            stdin=subprocess.DEVNULL,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
            cwd=ROOT,
            env=env,
        )
        try:
            assert proc.stdout is not None
            assert json.loads(proc.stdout.readline())["state"] == "connecting"
            assert json.loads(proc.stdout.readline())["state"] == "connected"
            import socket

            with socket.create_connection(("127.0.0.1", jumphost.remote_port), timeout=30) as c:
                c.sendall(b"unattended")
                assert recv_exact(c, 10) == b"unattended"
        finally:
            proc.send_signal(signal.SIGTERM)
            _, err = proc.communicate(timeout=10)
        assert "correct horse" not in err
        log = (tk_home.log_dir / "tunnelkeeper.log").read_text()
        assert "correct horse" not in log

    # removing the only profile that uses the key removes its keyring entry
    assert tk("remove", "db").returncode == 0
    assert secret_service.secret_of(entry) is None


def test_a_locked_keychain_means_a_clear_error_not_a_hang(
    secret_service: PrivateSecretService, tk_home: AppPaths, jumphost: Jumphost
) -> None:
    assert tk("keygen", "vault", "--passphrase-stdin", stdin="pw\n").returncode == 0
    assert (
        tk(
            "add",
            "db",
            "--jumphost",
            "127.0.0.1",
            "--ssh-port",
            str(jumphost.port),
            "--user",
            jumphost.sshd.user,
            "--remote-port",
            str(jumphost.remote_port),
            "--target",
            "127.0.0.1:1",
            "--key",
            "vault",
        ).returncode
        == 0
    )
    assert tk("trust", "db", "--yes").returncode == 0
    secret_service.lock_default_collection()
    result = tk("run", "db")
    assert result.returncode == 2
    assert "protected by a passphrase" in result.stderr
    assert "Traceback" not in result.stderr
