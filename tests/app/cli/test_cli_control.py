"""One host per tunnel, and the CLI as a controller of whichever process hosts it."""

from __future__ import annotations

import os
import socket
import subprocess

import pytest

from app.storage.paths import AppPaths
from tests.conftest import Jumphost
from tests.support.cli import (
    APP,
    ROOT,
    add_profile,
    next_event,
    spawn_run,
    status_json,
    stop,
    tk,
    tunnel_state,
)
from tests.support.net import (
    TcpServer,
    free_port,
    port_is_listening,
    recv_exact,
    wait_until,
)

pytestmark = pytest.mark.integration


def test_status_disconnect_connect_and_a_second_run_refused(
    jumphost: Jumphost, tk_home: AppPaths, echo: TcpServer
) -> None:
    add_profile(jumphost, echo.port)
    assert tk("trust", "db", "--yes").returncode == 0
    proc = spawn_run("db")
    try:
        assert next_event(proc)["state"] == "connecting"
        assert next_event(proc)["state"] == "connected"
        (listed,) = status_json()
        assert (listed["tunnel"], listed["host"], listed["pid"]) == ("db", "run", proc.pid)
        assert f"`tunnelkeeper run` (process {proc.pid})" in tk("status").stdout

        second = tk("run", "db")  # would fight the first for the jumphost's port
        assert second.returncode != 0
        assert (
            f"`tunnelkeeper run` (process {proc.pid}) already runs db; "
            "use `tunnelkeeper disconnect db` first"
        ) in second.stderr
        with socket.create_connection(("127.0.0.1", jumphost.remote_port), timeout=30) as conn:
            conn.sendall(b"still here")  # the first one carries data all along
            assert recv_exact(conn, 10) == b"still here"

        result = tk("disconnect", "db")
        assert result.returncode == 0, result.stderr
        assert "db is disconnected." in result.stdout
        assert not port_is_listening(jumphost.remote_port)
        (off,) = status_json()  # still listed by its host, as switched off there
        assert (off["state"], off["running"], off["pid"]) == ("stopped", False, proc.pid)
        assert "db: stopped\n" in tk("status").stdout
        assert tk("disconnect", "db").returncode != 0  # not running anywhere

        result = tk("connect", "db")
        assert result.returncode == 0, result.stderr
        assert wait_until(lambda: tunnel_state("db") == "connected", 30)
        assert port_is_listening(jumphost.remote_port)
        assert tk("reconnect", "db").returncode == 0
        assert tk("connect", "db").stdout.startswith("db already runs in `tunnelkeeper run`")
    finally:
        stop(proc)


def test_connect_with_no_host_says_how_to_start_one(
    jumphost: Jumphost, tk_home: AppPaths, echo: TcpServer
) -> None:
    add_profile(jumphost, echo.port)
    result = tk("connect", "db")
    assert result.returncode != 0 and "Traceback" not in result.stderr
    assert "no Tunnelkeeper is running to host db" in result.stderr
    assert "tunnelkeeper run db" in result.stderr


def test_run_all_follows_the_profiles_file(
    jumphost: Jumphost, tk_home: AppPaths, echo: TcpServer
) -> None:
    proc = subprocess.Popen(
        [*APP, "run", "--all"],
        stdin=subprocess.DEVNULL,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
        text=True,
        cwd=ROOT,
        env=os.environ.copy(),
    )
    try:
        assert wait_until(lambda: tk("status", "--json").returncode == 0, 10)
        add_profile(jumphost, echo.port)  # its host key is not trusted yet: it waits
        assert wait_until(lambda: tunnel_state("db") == "error", 10), status_json()
        (waiting,) = status_json()
        assert "no trusted host key" in str(waiting["detail"]), waiting
        assert tk("trust", "db", "--yes").returncode == 0  # known_hosts changes: tried again
        assert wait_until(lambda: tunnel_state("db") == "connected", 10), status_json()

        # disconnected by hand, it stays off when the file changes for another reason
        assert tk("disconnect", "db").returncode == 0
        assert not port_is_listening(jumphost.remote_port)
        other = tk(
            "add", "other", "--jumphost", "127.0.0.1", "--ssh-port", str(jumphost.port),
            "--user", jumphost.sshd.user, "--remote-port", str(free_port()),
            "--target", f"127.0.0.1:{echo.port}", "--key", str(jumphost.key),
        )  # fmt: skip
        assert other.returncode == 0, other.stderr  # a port the jumphost refuses: it waits
        assert wait_until(lambda: tunnel_state("other") is not None, 10), status_json()
        assert tunnel_state("db") == "stopped" and not port_is_listening(jumphost.remote_port)
        assert tk("remove", "other").returncode == 0
        assert wait_until(lambda: tunnel_state("other") is None, 10), status_json()
        assert tk("connect", "db").returncode == 0  # until someone connects it
        assert wait_until(lambda: tunnel_state("db") == "connected", 10), status_json()

        assert tk("remove", "db").returncode == 0
        assert wait_until(lambda: not port_is_listening(jumphost.remote_port), 10)
        assert status_json() == []
    finally:
        _out, err = stop(proc)
    assert "Traceback" not in err


def test_logs_shows_one_tunnels_last_lines_escaped(tk_home: AppPaths) -> None:
    tk_home.log_dir.mkdir(parents=True, exist_ok=True)
    lines = [f"2026-11-27 10:00:0{i} INFO app.engine: [db] line {i}" for i in range(4)]
    lines.append("2026-11-27 10:00:04 INFO tunnelkeeper: db: connected — the jumphost …")
    lines.insert(2, "2026-11-27 10:00:02 INFO app.engine: [crm] not this one")
    lines.append("2026-11-27 10:00:09 INFO app.engine: [db] bell \x07 and \x1b[31mred")
    tk_home.log_file.write_text("\n".join(lines) + "\n")
    result = tk("logs", "db", "-n", "3")
    assert result.returncode == 0, result.stderr
    shown = result.stdout.splitlines()
    assert shown[:2] == [lines[4], lines[5]]
    assert "\x07" not in shown[2] and "\x1b" not in shown[2] and "bell" in shown[2]
    everything = tk("logs").stdout.splitlines()
    assert len(everything) == len(lines) and "[crm]" in everything[2]
    assert tk("logs", "-n", "20000").returncode != 0
