"""`tunnelkeeper health [--ready] [--json]`: the probe containers and monitors run."""

from __future__ import annotations

import json
import os
import socket
import subprocess
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from app.cli.health import READY_STATES, hosted_tunnels, unready
from app.control.addresses import control_dir
from app.storage.paths import AppPaths
from tests.conftest import Jumphost
from tests.support.cli import add_profile, next_event, spawn_run, stop, tk
from tests.support.net import TcpServer, recv_exact

DEADLINE = 60.0  # seconds for a tunnel to change state on a loaded 2-core machine
RUN = {"host": "run", "pid": 4711}


def _tunnel(name: str, state: str, detail: str = "", pid: int = 4711) -> dict[str, object]:
    return {"tunnel": name, "state": state, "detail": detail, "host": "run", "pid": pid}


def _health(*flags: str) -> subprocess.CompletedProcess[str]:
    result = tk("health", *flags, timeout=30)
    assert "Traceback" not in result.stderr
    return result


def _until(flags: tuple[str, ...], code: int, said: str = "") -> subprocess.CompletedProcess[str]:
    """`health FLAGS` run until it exits with ``code`` having ``said`` that (``DEADLINE``
    s, then fail)."""
    deadline = time.monotonic() + DEADLINE
    while True:
        result = _health(*flags)
        if result.returncode == code and said in result.stdout + result.stderr:
            return result
        assert time.monotonic() < deadline, f"still {result.returncode}: {result.stderr}"
        time.sleep(0.5)


# --- the verdict (pure) -------------------------------------------------------------------


@pytest.mark.parametrize("state", sorted(READY_STATES))
def test_connected_and_standby_are_ready(state: str) -> None:
    assert unready([_tunnel("db", state)], [RUN]) == []


@pytest.mark.parametrize("state", ["connecting", "retrying", "error", "stopped", "odd"])
def test_every_other_state_names_the_tunnel_and_why(state: str) -> None:
    problems = unready(
        [_tunnel("db", state, "the jumphost refused"), _tunnel("ok", "connected")], [RUN]
    )
    assert problems == [f"db ({state}): the jumphost refused"]


def test_a_host_with_no_tunnel_is_not_ready() -> None:
    other = {"host": "service", "pid": 1}
    assert unready([_tunnel("db", "connected")], [RUN, other]) == [
        "the Tunnelkeeper service (process 1) runs no tunnel (none in the profiles file is "
        "switched on, or a controller disconnected them)"
    ]


def test_a_tunnel_switched_off_by_a_controller_is_not_counted() -> None:
    listed = [
        {"tunnel": "off", "state": "stopped", "detail": "disconnected", "running": False},
        {"tunnel": "db", "state": "connected", "detail": "up"},
        "not a tunnel",
    ]
    assert [t["tunnel"] for t in hosted_tunnels(listed, "run", 4711)] == ["db"]
    assert hosted_tunnels({"not": "a list"}, "run", 4711) == []


def test_text_from_a_host_is_made_safe_to_print() -> None:
    (found,) = hosted_tunnels(
        [{"tunnel": "db\x1b[2J", "state": "retrying", "detail": "x" * 5000}], "run", 1
    )
    assert found["tunnel"] == "db\\x1b[2J"
    assert len(found["detail"]) < 700


# --- nobody, or a host that does not answer (a process, no tunnel) ------------------------


@pytest.mark.parametrize("flags", [(), ("--ready",)])
def test_nothing_answers_is_one_sentence_and_exit_1(
    tk_home: AppPaths, flags: tuple[str, ...]
) -> None:
    result = _health(*flags)
    assert result.returncode == 1
    assert result.stdout == ""
    assert result.stderr.splitlines() == [
        "tunnelkeeper: not alive: no Tunnelkeeper process answers here: none hosts tunnels "
        f"for this user with TUNNELKEEPER_HOME={os.environ['TUNNELKEEPER_HOME']}; start one with "
        "`tunnelkeeper run --all`."
    ]


def test_nothing_answers_in_json(tk_home: AppPaths) -> None:
    result = _health("--ready", "--json")
    assert result.returncode == 1 and result.stderr == ""
    said = json.loads(result.stdout)
    assert (said["alive"], said["ready"], said["hosts"], said["tunnels"]) == (False, False, [], [])
    assert said["problems"][0].startswith("no Tunnelkeeper process answers here")


@pytest.fixture
def silent_host(tk_home: AppPaths) -> Iterator[Path]:
    """A control socket (named for this live test process) that accepts and never answers:
    a hung host."""
    path = control_dir(tk_home) / f"run-{os.getpid()}.sock"
    with socket.socket(socket.AF_UNIX, socket.SOCK_STREAM) as listener:
        listener.bind(str(path))
        listener.listen(8)
        try:
            yield path
        finally:
            path.unlink()


def test_a_hung_host_is_not_alive_within_the_timeout(silent_host: Path) -> None:
    started = time.monotonic()
    result = _health()
    assert time.monotonic() - started < 20
    assert result.returncode == 1
    (line,) = result.stderr.splitlines()
    assert line.startswith(
        f"tunnelkeeper: not alive: `tunnelkeeper run` (process {os.getpid()}) does not answer: "
    )
    assert "no reply in time" in line


def test_a_control_folder_that_is_not_private_is_a_sentence(tk_home: AppPaths) -> None:
    folder = control_dir(tk_home)
    folder.chmod(0o777)
    result = _health("--ready")
    assert result.returncode == 1
    (line,) = result.stderr.splitlines()
    assert line.startswith("tunnelkeeper: not alive: the control sockets cannot be looked at: ")
    assert str(folder) in line


# --- a real `run --all` against the real sshd ---------------------------------------------


@pytest.mark.integration
def test_alive_then_ready_then_not_ready_when_the_jumphost_goes(
    tk_home: AppPaths, jumphost: Jumphost, echo: TcpServer
) -> None:
    add_profile(jumphost, echo.port)
    assert tk("trust", "db", "--yes").returncode == 0
    proc = spawn_run("--all")
    try:
        assert next_event(proc)["state"] == "connecting"
        assert next_event(proc)["state"] == "connected"
        alive = _until((), 0)
        assert alive.stdout == (
            f"alive: `tunnelkeeper run` (process {proc.pid}) answers; it hosts 1 tunnel.\n"
        )
        ready = _health("--ready")
        assert ready.returncode == 0, ready.stderr
        assert ready.stdout.splitlines()[-1] == "ready: db is connected."
        said = json.loads(_health("--ready", "--json").stdout)
        assert (said["alive"], said["ready"], said["problems"]) == (True, True, [])
        assert said["hosts"] == [{"host": "run", "pid": proc.pid}]
        assert [(t["tunnel"], t["state"]) for t in said["tunnels"]] == [("db", "connected")]
        with socket.create_connection(("127.0.0.1", jumphost.remote_port), timeout=30) as conn:
            conn.sendall(b"ping")
            assert recv_exact(conn, 4) == b"ping"

        jumphost.sshd.stop()
        down = _until(("--ready",), 1)
        (line,) = down.stderr.splitlines()
        assert line.startswith("tunnelkeeper: not ready: db (")  # connecting or retrying
        assert _health().returncode == 0  # the host itself is fine: alive, not ready

        jumphost.sshd.start()
        assert tk("reconnect", "db").returncode == 0
        _until(("--ready",), 0)
    finally:
        _, err = stop(proc)
    assert proc.returncode == 0, err
    assert _health().returncode == 1  # gone: its socket went with it


@pytest.mark.integration
def test_a_tunnel_that_could_not_start_is_not_ready(
    tk_home: AppPaths, jumphost: Jumphost, echo: TcpServer
) -> None:
    add_profile(jumphost, echo.port)  # its host key never trusted: it cannot start
    proc = spawn_run("--all")
    try:
        down = _until(("--ready",), 1, "db (error)")
        (line,) = down.stderr.splitlines()
        assert line.startswith("tunnelkeeper: not ready: db (error): not started: ")
        assert "has no trusted host key yet" in line
        assert _health().returncode == 0
    finally:
        _, err = stop(proc)
    assert proc.returncode == 0, err


@pytest.mark.integration
def test_a_run_with_nothing_to_run_is_alive_but_not_ready(tk_home: AppPaths) -> None:
    proc = spawn_run("--all")
    try:
        _until((), 0)
        result = _health("--ready")
        assert result.returncode == 1
        assert result.stderr == (
            f"tunnelkeeper: not ready: `tunnelkeeper run` (process {proc.pid}) runs no tunnel "
            "(none in the profiles file is switched on, or a controller disconnected them)\n"
        )
    finally:
        _, err = stop(proc)
    assert proc.returncode == 0, err
