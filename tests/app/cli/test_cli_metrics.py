"""`run --metrics` and `service install --metrics`: served, refused, or warned about."""

from __future__ import annotations

import pytest

from app.storage.paths import AppPaths
from tests.conftest import Jumphost
from tests.support.cli import add_profile, next_event, spawn_run, stop, tk
from tests.support.metrics import scrape, value
from tests.support.net import TcpServer, free_port

REFUSED = "is not a loopback address"


def test_run_refuses_a_non_loopback_address_before_anything_else(tk_home: AppPaths) -> None:
    # no such tunnel either: the address is judged first, before any passphrase is asked
    result = tk("run", "nosuch", "--metrics", "0.0.0.0:9464")
    assert result.returncode == 2
    assert f"the metrics address 0.0.0.0:9464 {REFUSED}" in result.stderr
    assert "--metrics-allow-remote" in result.stderr
    assert "Traceback" not in result.stderr


def test_run_warns_when_allowed_to_serve_other_machines(tk_home: AppPaths) -> None:
    result = tk("run", "nosuch", "--metrics", "[::]:9464", "--metrics-allow-remote")
    warning = "tunnelkeeper: warning: metrics are served on [::]:9464, which other machines"
    assert warning in result.stderr
    assert result.returncode == 2 and "nosuch" in result.stderr  # then the usual refusal


def test_run_refuses_an_unreadable_address(tk_home: AppPaths) -> None:
    result = tk("run", "--all", "--metrics", "localhost")
    assert result.returncode == 2
    assert "the metrics address 'localhost' cannot be used: give HOST:PORT" in result.stderr


def test_flags_are_never_abbreviated(tk_home: AppPaths) -> None:
    result = tk("run", "--all", "--metric", "9464")
    assert result.returncode == 2 and "unrecognized arguments: --metric" in result.stderr


@pytest.mark.integration
def test_run_serves_the_tunnels_metrics(
    tk_home: AppPaths, jumphost: Jumphost, echo: TcpServer
) -> None:
    add_profile(jumphost, echo.port)
    assert tk("trust", "db", "--yes").returncode == 0
    port = free_port()
    proc = spawn_run("db", "--metrics", f"127.0.0.1:{port}")
    try:
        assert next_event(proc)["state"] == "connecting"
        assert next_event(proc)["state"] == "connected"
        samples = scrape(f"http://127.0.0.1:{port}/metrics")
        assert value(samples, "tunnelkeeper_tunnel_up", tunnel="db") == 1
        assert value(samples, "tunnelkeeper_tunnel_state", tunnel="db", state="connected") == 1
        assert value(samples, "process_open_fds")
    finally:
        _, err = stop(proc)
    assert proc.returncode == 0, err
    assert f"serving metrics at http://127.0.0.1:{port}/metrics" in err


@pytest.mark.integration
def test_run_says_when_the_port_is_taken(
    tk_home: AppPaths, jumphost: Jumphost, echo: TcpServer
) -> None:
    add_profile(jumphost, echo.port)
    assert tk("trust", "db", "--yes").returncode == 0
    result = tk("run", "db", "--metrics", f"127.0.0.1:{jumphost.port}")  # sshd's port
    assert result.returncode == 1
    assert f"cannot serve metrics on 127.0.0.1:{jumphost.port}: " in result.stderr
    assert "Traceback" not in result.stderr


def test_service_install_passes_the_address_to_the_services_run(tk_home: AppPaths) -> None:
    result = tk("service", "install", "--user", "--dry-run", "--metrics", "127.0.0.1:9464")
    assert result.returncode == 0, result.stderr
    assert " run --all --metrics 127.0.0.1:9464\n" in result.stdout  # ExecStart=


def test_service_install_refuses_or_warns_like_run(tk_home: AppPaths) -> None:
    refused = tk("service", "install", "--user", "--dry-run", "--metrics", "0.0.0.0:9464")
    assert refused.returncode == 2 and REFUSED in refused.stderr
    assert "ExecStart" not in refused.stdout
    allowed = tk(
        "service", "install", "--user", "--dry-run",
        "--metrics", "0.0.0.0:9464", "--metrics-allow-remote",
    )  # fmt: skip
    assert allowed.returncode == 0, allowed.stderr
    assert "run --all --metrics 0.0.0.0:9464 --metrics-allow-remote\n" in allowed.stdout
    assert "warning: metrics are served on 0.0.0.0:9464" in allowed.stderr
