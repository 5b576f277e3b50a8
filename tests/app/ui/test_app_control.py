"""The desktop app as a host: the CLI sees and controls its tunnels over the control API."""

from __future__ import annotations

import json
import os
import socket
import subprocess
import sys

import pytest

from app.storage.paths import AppPaths
from tests.conftest import Jumphost
from tests.support.cli import ROOT, add_profile, status_json, stop, tk, tunnel_state
from tests.support.net import (
    TcpServer,
    port_is_listening,
    recv_exact,
    wait_until,
)

pytestmark = pytest.mark.integration


def connected(name: str) -> bool:
    return tunnel_state(name) == "connected"


def test_the_cli_sees_and_controls_the_apps_tunnel(
    jumphost: Jumphost, tk_home: AppPaths, echo: TcpServer
) -> None:
    add_profile(jumphost, echo.port)
    assert tk("trust", "db", "--yes").returncode == 0
    env = {**os.environ, "QT_QPA_PLATFORM": "offscreen"}
    app = subprocess.Popen(
        [sys.executable, "-m", "app"],
        cwd=ROOT,
        env=env,
        stdin=subprocess.DEVNULL,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    try:
        assert wait_until(lambda: connected("db"), 30), status_json()
        (tunnel,) = status_json()
        assert (tunnel["host"], tunnel["pid"]) == ("app", app.pid)
        tested = tk("test", "db", "--json")  # knows the port is held by our own host
        forward = json.loads(tested.stdout)["checks"][4]
        assert forward["status"] == "pass" and f"process {app.pid}" in forward["detail"]

        with socket.create_connection(("127.0.0.1", jumphost.remote_port), timeout=30) as conn:
            refused = tk("run", "db")  # while the vendor's connection is open
            assert refused.returncode != 0
            assert (
                f"the Tunnelkeeper app (process {app.pid}) already runs db; "
                "use `tunnelkeeper disconnect db` first"
            ) in refused.stderr
            conn.sendall(b"app carries on")
            assert recv_exact(conn, 14) == b"app carries on"

        result = tk("disconnect", "db")
        assert result.returncode == 0, result.stderr
        assert not port_is_listening(jumphost.remote_port)
        assert status_json() == []

        result = tk("connect", "db")
        assert result.returncode == 0, result.stderr
        assert "connecting in the Tunnelkeeper app" in result.stdout
        assert wait_until(lambda: connected("db"), 30), status_json()
        assert port_is_listening(jumphost.remote_port)
    finally:
        _out, err = stop(app)
    assert "Traceback" not in err
