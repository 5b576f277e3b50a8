"""Passphrase-protected keys start unattended from a real Secret Service, end to end."""

from __future__ import annotations

import os
import socket
import subprocess
from pathlib import Path

from app.storage.paths import AppPaths
from tests.conftest import Jumphost
from tests.support.cli import add_profile, next_event, spawn_run, stop
from tests.support.cli import tk as run_tk
from tests.support.net import echo_handler, recv_exact, tcp_server
from tests.support.secret_service import (
    PrivateSecretService,
    secret_service_fixture,  # noqa: F401  (registers the `secret_service` fixture)
)


def tk(*args: str, stdin: str | None = None) -> subprocess.CompletedProcess[str]:
    """The command with keyring's own backend choice (the private Secret Service)."""
    return run_tk(*args, input=stdin, env=keyring_env())


def keyring_env() -> dict[str, str]:
    return {k: v for k, v in os.environ.items() if k != "PYTHON_KEYRING_BACKEND"}


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
        add_profile(jumphost, echo.port, key="vault", env=keyring_env())
        assert tk("trust", "db", "--yes").returncode == 0
        # no terminal: the passphrase can only come from the keyring
        proc = spawn_run("db", env=keyring_env())
        try:
            assert next_event(proc)["state"] == "connecting"
            assert next_event(proc)["state"] == "connected"
            with socket.create_connection(("127.0.0.1", jumphost.remote_port), timeout=30) as c:
                c.sendall(b"unattended")
                assert recv_exact(c, 10) == b"unattended"
        finally:
            _, err = stop(proc)
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
    add_profile(jumphost, 1, key="vault", env=keyring_env())
    assert tk("trust", "db", "--yes").returncode == 0
    secret_service.lock_default_collection()
    result = tk("run", "db")
    assert result.returncode == 2
    assert "protected by a passphrase" in result.stderr
    assert "Traceback" not in result.stderr
