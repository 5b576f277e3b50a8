"""The desktop app as a host: the CLI sees and controls its tunnels over the control API."""

from __future__ import annotations

import json
import os
import socket
import subprocess
import sys
from collections.abc import Iterator

import pytest

from app.storage.paths import AppPaths
from tests.conftest import Jumphost
from tests.support.cli import ROOT, add_profile, stop, tk
from tests.support.net import (
    TcpServer,
    echo_handler,
    port_is_listening,
    recv_exact,
    tcp_server,
    wait_until,
)

pytestmark = pytest.mark.integration


@pytest.fixture
def echo() -> Iterator[TcpServer]:
    with tcp_server(echo_handler) as server:
        yield server


def listed() -> list[dict[str, object]]:
    result = tk("status", "--json")
    assert result.returncode == 0, result.stderr
    found: list[dict[str, object]] = json.loads(result.stdout)
    return found


def connected(name: str) -> bool:
    return any(t["tunnel"] == name and t["state"] == "connected" for t in listed())


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
        assert wait_until(lambda: connected("db"), 30), listed()
        (tunnel,) = listed()
        assert (tunnel["host"], tunnel["pid"]) == ("app", app.pid)

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
        assert listed() == []

        result = tk("connect", "db")
        assert result.returncode == 0, result.stderr
        assert "connecting in the Tunnelkeeper app" in result.stdout
        assert wait_until(lambda: connected("db"), 30), listed()
        assert port_is_listening(jumphost.remote_port)
    finally:
        _out, err = stop(app)
    assert "Traceback" not in err
