"""`tunnelkeeper history NAME [--json]`: for people, for programs, and when there is none."""

from __future__ import annotations

import json
import os
import time
from datetime import datetime
from pathlib import Path

import pytest

from app.cli import main
from app.control.addresses import SYSTEM_SOCKET_ENV
from app.core.events import State
from app.core.history import Sample, Transition
from app.core.profile import Profile
from app.platform.service_install import ROOT_ENV
from app.storage.history import Batch, write_now
from app.storage.paths import HOME_ENV, AppPaths
from app.storage.store import ProfileStore
from tests.conftest import Jumphost
from tests.support.cli import add_profile, next_event, spawn_run, stop, tk
from tests.support.net import TcpServer


def epoch(stamp: str) -> float:
    return datetime.fromisoformat(stamp).timestamp()


def recorded_day(paths: AppPaths, now: float) -> None:
    """db: stopped until 12 h ago, then up, a 10-minute outage 2 h ago, up since; traffic."""
    batch = Batch()
    steps = [
        (now - 12 * 3600, State.CONNECTING, "connecting to jump:22 as t."),
        (now - 12 * 3600 + 2, State.CONNECTED, "listening"),
        (now - 2 * 3600, State.RETRYING, "connection lost: no reply to 3 keepalives"),
        (now - 2 * 3600 + 600, State.CONNECTED, "listening"),
    ]
    for at, state, detail in steps:
        batch.transitions.append(("db", Transition(at, state, False, detail), True))
    batch.vouch.append(("db", now - 5))
    batch.samples += [("db", Sample(now - 300 + 10 * i, 2048 * 10 * i, 100 * i)) for i in range(30)]
    write_now(paths.history_file, [batch], now)


def test_history_for_people(tk_home: AppPaths, capsys: pytest.CaptureFixture[str]) -> None:
    recorded_day(tk_home, time.time())
    assert main(["history", "db"]) == 0
    out = capsys.readouterr().out
    lines = out.splitlines()
    assert lines[0] == "db: history, times local"
    assert "available 98.6 % of the last 24 h, 98.6 % of the last 7 days" in lines[1]
    strip = next(line for line in lines if line.startswith("  last 24 h")).split()[-1]
    assert len(strip) == 48 and strip.startswith("·" * 23) and strip.endswith("█" * 3)
    assert "░" in strip  # the 10-minute outage shows in its half hour
    assert "outages in the last 7 days (1, newest first):" in out
    assert "10 min  " in out and "connection lost: no reply to 3 keepalives" in out
    assert "to target: average" in out and "peak 2.0 KiB/s" in out


def test_history_for_programs(tk_home: AppPaths, capsys: pytest.CaptureFixture[str]) -> None:
    now = time.time()
    recorded_day(tk_home, now)
    assert main(["history", "db", "--json"]) == 0
    data = json.loads(capsys.readouterr().out)
    assert list(data) == ["tunnel", "windows", "throughput"]
    assert data["tunnel"] == "db" and list(data["windows"]) == ["24h", "7d"]
    day = data["windows"]["24h"]
    hosted = 12 * 3600 - 2  # its start (2 s) is not an outage
    assert day["availability"] == pytest.approx(100 * (hosted - 600) / hosted, abs=0.01)
    kinds = [s["kind"] for s in day["segments"]]
    assert kinds == ["stopped", "up", "retrying", "up"]
    for segment in day["segments"]:
        assert segment["start"].endswith("Z") and segment["end"].endswith("Z")
    (lost,) = day["outages"]
    assert (lost["seconds"], lost["cause"]) == (600, "connection lost: no reply to 3 keepalives")
    assert epoch(lost["start"]) == pytest.approx(now - 7200, abs=1)
    assert len(data["throughput"]) == 60
    assert set(data["throughput"][0]) == {"at", "to_target_bps", "to_vendor_bps"}
    assert max(r["to_target_bps"] for r in data["throughput"]) == pytest.approx(2048)


def test_a_tunnel_never_heard_of_is_an_error_without_a_traceback(
    tk_home: AppPaths, capsys: pytest.CaptureFixture[str]
) -> None:
    assert main(["history", "ghost"]) == 1
    err = capsys.readouterr().err
    assert "no history of a tunnel named ghost" in err and "Traceback" not in err


def test_a_tunnel_that_has_not_run_lately_says_so(
    tk_home: AppPaths, capsys: pytest.CaptureFixture[str]
) -> None:
    ProfileStore(tk_home.profiles_file).add(
        Profile("quiet", "jump.example", "t", 50000, "127.0.0.1", 5432, "/k")
    )
    assert main(["history", "quiet"]) == 0
    out = capsys.readouterr().out
    assert "available — of the last 24 h" in out and "it has not run in the last 7 days" in out


def test_a_damaged_file_is_said_and_moved_aside(
    tk_home: AppPaths, capsys: pytest.CaptureFixture[str]
) -> None:
    tk_home.history_file.write_bytes(b"\x00garbage" * 500)
    assert main(["history", "ghost"]) == 1
    err = capsys.readouterr().err
    assert f"the tunnel history {tk_home.history_file} was damaged" in err
    assert "Traceback" not in err
    assert list(tk_home.history_file.parent.glob("history.sqlite3.corrupt-*"))


@pytest.mark.integration
def test_a_run_that_connected_and_stopped_shows_up_then_stopped(
    jumphost: Jumphost, tk_home: AppPaths, echo: TcpServer
) -> None:
    add_profile(jumphost, echo.port)
    assert tk("trust", "db", "--yes").returncode == 0
    proc = spawn_run("db")
    try:
        assert next_event(proc)["state"] == "connecting"
        assert next_event(proc)["state"] == "connected"
    finally:
        _out, err = stop(proc)
    stopped_at = time.time()
    assert "Traceback" not in err

    result = tk("history", "db", "--json")
    assert result.returncode == 0, result.stderr
    day = json.loads(result.stdout)["windows"]["24h"]
    kinds = [s["kind"] for s in day["segments"]]
    assert kinds[-2:] == ["up", "stopped"], day["segments"]
    assert epoch(day["segments"][-1]["start"]) == pytest.approx(stopped_at, abs=15)
    assert day["availability"] > 0

    people = tk("history", "db")
    assert people.returncode == 0 and "█" in people.stdout


def _service_env(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> tuple[dict[str, str], Path]:
    """A system service under a root of its own (its home inside), on a socket this process
    finds; returns its environment and its history file."""
    root = tmp_path / "root"
    home = root / "var" / "lib" / "tunnelkeeper"
    home.mkdir(parents=True)
    socket = str(tmp_path / "control.sock")
    monkeypatch.setenv(SYSTEM_SOCKET_ENV, socket)
    monkeypatch.setenv(ROOT_ENV, str(root))
    env = {**os.environ, HOME_ENV: str(home), "TUNNELKEEPER_SERVICE": "system"}
    return env, home / "history.sqlite3"


@pytest.mark.integration
@pytest.mark.parametrize("readable", [True, False])
def test_a_tunnel_the_system_service_runs_is_read_from_its_file_if_permitted(
    jumphost: Jumphost,
    tk_home: AppPaths,
    echo: TcpServer,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    readable: bool,
) -> None:
    env, service_file = _service_env(tmp_path, monkeypatch)
    if not readable:
        service_file.mkdir()  # what root meets where another account meets mode 0700
    add_profile(jumphost, echo.port, env=env)
    assert tk("trust", "db", "--yes", env=env).returncode == 0
    proc = spawn_run("db", env=env)
    try:
        assert next_event(proc)["state"] == "connecting"
        assert next_event(proc)["state"] == "connected"
        result = tk("history", "db")
    finally:
        _out, err = stop(proc)
    assert "Traceback" not in result.stderr + err
    if readable:
        assert result.returncode == 0, result.stderr
        assert result.stdout.startswith("db: history (recorded by the system service)")
    else:
        assert result.returncode == 1
        assert "db runs in the system service; the tunnel history" in result.stderr
        assert f"{service_file} cannot be read" in result.stderr
        assert "as root (sudo)" in result.stderr
