"""A jumphost that answers with a megabyte of terminal escapes: `trust`, `run`, `status` and the
log show it escaped and cut, and stay small (issue 13, item 9); `show` escapes a key path."""

from __future__ import annotations

import json
import queue
import shutil
import signal
import socket
import subprocess
import sys
import threading
import time
import unicodedata
from collections.abc import Iterator
from pathlib import Path

import pytest

from app.core import knownhosts
from app.storage.paths import AppPaths
from tests.support.cli import ROOT, tk
from tests.support.net import TcpServer, tcp_server, wait_until

pytestmark = pytest.mark.integration


def _hostile_line(size: int) -> bytes:
    # Not "SSH-2.0-": the version is refused, and the refusal quotes it. A megabyte (today's
    # attack) and a line short enough that a bounded greeting reader still quotes it.
    return b"SSH-\x1b[31m\x1b]0;pwned\x07" + b"A" * size + b"-x\x1b[0m\r\n"


UNSAFE = {"Cc", "Cf", "Cs", "Zl", "Zp"}
RUN_FOR = 40.0  # seconds at most; the test stops as soon as it has two failed attempts


def _raw_controls(text: str) -> list[str]:
    """Control and format characters in ``text``, other than its own line breaks."""
    return sorted({c for c in text if unicodedata.category(c) in UNSAFE and c != "\n"})


@pytest.fixture(params=[1_000_000, 4_000], ids=["1MB", "4KB"])
def hostile(
    request: pytest.FixtureRequest, tk_home: AppPaths, client_key: Path
) -> Iterator[TcpServer]:
    """A profile `db` whose jumphost is a TCP server sending a hostile version line."""
    line = _hostile_line(request.param)

    def send_hostile_line(conn: socket.socket) -> None:
        conn.sendall(line)
        conn.settimeout(10)
        while conn.recv(1 << 16):  # until the client gives up and closes
            pass

    with tcp_server(send_hostile_line) as server:
        added = tk(
            "add", "db",
            "--jumphost", "127.0.0.1",
            "--ssh-port", str(server.port),
            "--user", "vendor",
            "--remote-port", "40001",
            "--target", "127.0.0.1:3306",
            "--key", str(client_key),
        )  # fmt: skip
        assert added.returncode == 0, added.stderr
        yield server


def _pin_some_key(paths: AppPaths, port: int, client_key: Path) -> None:
    """`run` needs a pinned host key; any will do, the server never gets that far."""
    kind, blob = Path(f"{client_key}.pub").read_text().split()[:2]
    pattern = knownhosts.host_pattern("127.0.0.1", port)
    paths.known_hosts_file.parent.mkdir(parents=True, exist_ok=True)
    paths.known_hosts_file.write_text(f"{pattern} {kind} {blob}\n")


def test_trust_says_what_went_wrong_without_the_servers_escapes(hostile: TcpServer) -> None:
    result = tk("trust", "db", "--yes")
    assert result.returncode == 1
    assert "the SSH handshake with 127.0.0.1" in result.stderr
    # before: 1,000,105 characters of stderr with the raw ESC sequences in them
    assert not _raw_controls(result.stdout + result.stderr)
    assert len(result.stderr) < 1_000 and len(result.stdout) < 1_000


def _read_events(proc: subprocess.Popen[str], into: queue.Queue[dict[str, object]]) -> None:
    assert proc.stdout is not None
    for line in proc.stdout:
        into.put(json.loads(line))


@pytest.mark.slow
def test_run_status_and_the_log_stay_small_and_escaped(
    hostile: TcpServer, tk_home: AppPaths, client_key: Path, tmp_path: Path
) -> None:
    _pin_some_key(tk_home, hostile.port, client_key)
    stderr_path = tmp_path / "run.stderr"
    events: queue.Queue[dict[str, object]] = queue.Queue()
    with stderr_path.open("w") as stderr:
        # -v: paramiko's own debug lines quote the banner too, and must be bounded as well
        proc = subprocess.Popen(
            [sys.executable, "-m", "app", "run", "db", "--events", "json", "-v"],
            stdin=subprocess.DEVNULL,
            stdout=subprocess.PIPE,
            stderr=stderr,
            text=True,
            cwd=ROOT,
        )
    seen: list[dict[str, object]] = []
    try:
        threading.Thread(target=_read_events, args=(proc, events), daemon=True).start()
        deadline = time.monotonic() + RUN_FOR
        while sum(e["state"] == "retrying" for e in seen) < 2 and time.monotonic() < deadline:
            try:
                seen.append(events.get(timeout=1.0))
            except queue.Empty:
                continue
        assert sum(e["state"] == "retrying" for e in seen) >= 2, seen

        def reports_retrying() -> bool:
            rows = json.loads(tk("status", "--json").stdout)
            return bool(rows) and rows[0]["state"] in ("retrying", "connecting")

        assert wait_until(reports_retrying, 15, interval=0.5)
        state_files = list(tk_home.runtime_dir.glob("run-*.json"))
        human = tk("status")
        as_json = tk("status", "--json")
    finally:
        proc.send_signal(signal.SIGTERM)  # the reader thread drains stdout to its end
        try:
            proc.wait(15)
        finally:
            if proc.poll() is None:
                proc.kill()
                proc.wait(10)
    assert proc.returncode == 0

    # every event detail is a sentence, not the server's megabyte (before: 1,000,108)
    for event in seen:
        assert len(str(event["detail"])) <= 400, event["state"]
        assert not _raw_controls(str(event["detail"]))
    failures = [str(e["detail"]) for e in seen if e["state"] == "retrying"]
    assert all("the SSH handshake with 127.0.0.1" in d for d in failures)

    # the run-state file `status` reads (before: 1,000,552 bytes) and what status prints
    assert state_files and all(f.stat().st_size < 4_000 for f in state_files if f.exists())
    assert human.returncode == 0 and "db: " in human.stdout
    assert not _raw_controls(human.stdout) and len(human.stdout) < 3_000
    assert len(as_json.stdout) < 4_000

    # the run's own stderr (before: one megabyte per attempt, ESC and all)
    err = stderr_path.read_text(encoding="utf-8", errors="replace")
    assert not _raw_controls(err)
    assert len(err) < 100_000

    # the log file did not rotate the earlier history away (before: one rotation per attempt)
    logs = sorted(p.name for p in tk_home.log_dir.iterdir())
    assert logs == ["tunnelkeeper.log"], logs
    log_text = (tk_home.log_dir / "tunnelkeeper.log").read_text(encoding="utf-8")
    assert len(log_text) < 100_000 and not _raw_controls(log_text)
    assert log_text.count("db: retrying") >= 2  # the first attempts are all still there


def test_show_escapes_control_characters_in_a_key_path(
    tk_home: AppPaths, client_key: Path, tmp_path: Path
) -> None:
    odd = tmp_path / "id\x1b[31mred\u202etxt"
    shutil.copy2(client_key, odd)
    added = tk(
        "add", "odd",
        "--jumphost", "jump.example.com",
        "--user", "vendor",
        "--remote-port", "40001",
        "--target", "127.0.0.1:3306",
        "--key", str(odd),
    )  # fmt: skip
    assert added.returncode == 0, added.stderr
    shown = tk("show", "odd")
    assert shown.returncode == 0, shown.stderr
    assert not _raw_controls(shown.stdout)
    assert "id\\x1b[31mred\\u202etxt" in shown.stdout
    as_json = tk("show", "odd", "--json")
    assert json.loads(as_json.stdout)["key_path"] == str(odd)  # JSON keeps the real path
    assert not _raw_controls(as_json.stdout)
