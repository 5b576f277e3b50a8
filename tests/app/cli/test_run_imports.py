"""What a headless `run` loads: nothing of the desktop, the checks or the senders (issue 20)."""

from __future__ import annotations

import signal
import socket
import sys
from pathlib import Path

import pytest

from app.storage.paths import AppPaths
from tests.conftest import Jumphost
from tests.support.cli import add_profile, next_event, spawn_run, stop, tk
from tests.support.net import TcpServer, recv_exact, wait_until

pytestmark = pytest.mark.integration

# Modules (and their submodules) a `run` with one connected tunnel, a key without a
# passphrase and no proxy must not have imported: each costs memory and start-up time
# and is loaded where it is needed instead.
NOT_LOADED = (
    # the desktop app
    "PySide6",
    "shiboken6",
    "qasync",
    "app.ui",
    # the paste parser, the connection test and the diagnostics bundle
    "app.core.paste",
    "app.engine.checks",
    "app.services.checks",
    "app.services.diagnose",
    # the /metrics endpoint: only with --metrics
    "prometheus_client",
    "app.services.metrics",
    # proxies: only for a route through one
    "python_socks",
    "spnego",
    "app.ssh.proxying",
    "app.ssh.http_connect",
    "app.ssh.tls_relay",
    # alert delivery: only once an alert goes out
    "app.delivery",
    "smtplib",
    "email",
    "urllib.request",
    "http.client",
    # the keychain: only for a key with a passphrase
    "keyring",
    "secretstorage",
    "jeepney",
    "dbus",
    # writing the profiles and alerts files (`run` only reads them)
    "filelock",
    "tomli_w",
    # what paramiko would import and the app never uses (app/ssh/library.py)
    "invoke",
    "importlib.metadata",
    # the other commands' modules (app/cli/__init__.py imports a command's module when it
    # runs; app/cli/parser.py builds only run's parser for `run`)
    "app.cli.alerts",
    "app.cli.check",
    "app.cli.diagnose",
    "app.cli.health",
    "app.cli.history",
    "app.cli.keys",
    "app.cli.profiles",
    "app.cli.repair",
    "app.cli.service",
    "app.platform.service_install",
    # the system's OpenSSL (cryptography brings its own: app/platform/openssl.py)
    "_hashlib",
    "ssl",
    "_ssl",
    # Python's IDNA codec: host names are looked up as bytes (app/ssh/tcp.py lookup_name)
    "encodings.idna",
    "stringprep",
    # test tools
    "aiosmtpd",
    "pytest",
)

# The real entry point (what `python -m app` calls), plus a SIGUSR2 handler that writes
# the names in sys.modules to a file: `run` itself leaves SIGUSR2 alone.
_WITH_MODULE_LIST = """
import os, signal, sys

def write_modules(_signum, _frame):
    with open({path!r} + ".part", "w", encoding="utf-8") as handle:
        handle.write("\\n".join(sorted(n for n, m in sys.modules.items() if m is not None)))
    os.replace({path!r} + ".part", {path!r})

signal.signal(signal.SIGUSR2, write_modules)
from app.cli import main

sys.exit(main(sys.argv[1:]))
"""


def _unwanted(loaded: set[str]) -> list[str]:
    return sorted(m for m in loaded if any(m == n or m.startswith(n + ".") for n in NOT_LOADED))


def test_a_connected_run_has_loaded_none_of_what_it_does_not_use(
    jumphost: Jumphost, tk_home: AppPaths, echo: TcpServer, tmp_path: Path
) -> None:
    add_profile(jumphost, echo.port)
    assert tk("trust", "db", "--yes").returncode == 0
    listing = tmp_path / "modules.txt"
    program = _WITH_MODULE_LIST.format(path=str(listing))
    proc = spawn_run("db", app=(sys.executable, "-c", program))
    try:
        assert next_event(proc)["state"] == "connecting"
        connected = next_event(proc)
        assert connected["state"] == "connected", connected
        # one forwarded connection, so the forwarding path has run too
        with socket.create_connection(("127.0.0.1", jumphost.remote_port), timeout=30) as conn:
            conn.sendall(b"at rest")
            assert recv_exact(conn, 7) == b"at rest"
        proc.send_signal(signal.SIGUSR2)
        assert wait_until(listing.exists, 15), "the module list was not written"
    finally:
        _, err = stop(proc)
    assert proc.returncode == 0, err
    loaded = set(listing.read_text(encoding="utf-8").split())
    assert {"paramiko", "app.engine.tunnel", "app.services.history"} <= loaded  # it ran
    assert _unwanted(loaded) == []
