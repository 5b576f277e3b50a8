"""Hostile files we own, through the CLI: a sentence (never a traceback) and `repair` fixes."""

from __future__ import annotations

import argparse
import io
import json
import os
import time
from pathlib import Path

import pytest

from app.cli import repair as cli_repair
from app.cli.output import EXIT_FAILED
from app.storage.paths import AppPaths
from tests.support.cli import tk

DEEP_TOML = "x = " + "[" * 3000 + "]" * 3000 + "\n"
DEEP_JSON = "[" * 100_000 + "]" * 100_000


def add_args(name: str, key: Path, jumphost: str = "h.example") -> list[str]:
    return [
        "add", name, "--jumphost", jumphost, "--user", "u", "--remote-port", "1",
        "--target", "db:1", "--key", str(key),
    ]  # fmt: skip


def assert_sentence(result: object, code: int, needle: str) -> None:
    assert getattr(result, "returncode", None) == code, result
    stderr = str(getattr(result, "stderr", ""))
    assert "Traceback" not in stderr and "RecursionError" not in stderr
    assert needle in stderr, stderr


def test_a_deeply_nested_profiles_file_is_reported_by_every_command_and_repair_moves_it(
    tk_home: AppPaths, client_key: Path
) -> None:
    tk_home.profiles_file.write_text(DEEP_TOML)
    for command in (
        ["list"],
        ["show", "a"],
        ["run", "a"],
        ["remove", "a"],
        add_args("b", client_key),
    ):
        assert_sentence(tk(*command), 2, "nested more than 32 levels deep")
    assert tk_home.profiles_file.read_text() == DEEP_TOML

    refused = tk("repair")
    assert refused.returncode == 1 and "Traceback" not in refused.stderr
    assert "nested more than" in refused.stdout and "Nothing was changed" in refused.stdout
    moved = tk("repair", "--move-aside")
    assert moved.returncode == 0, moved.stdout + moved.stderr
    (aside,) = tk_home.config_dir.glob("profiles.toml.broken-*")
    assert aside.read_text() == DEEP_TOML
    assert "is fine (0 tunnels)" in tk("repair").stdout


def _run_state(tk_home: AppPaths, name: str, body: str) -> Path:
    tk_home.runtime_dir.mkdir(parents=True, exist_ok=True)
    path = tk_home.runtime_dir / name
    path.write_text(body)
    return path


def test_a_deeply_nested_run_state_file_does_not_stop_status(tk_home: AppPaths) -> None:
    deep = _run_state(
        tk_home, "run-1.json", '{"pid": 1, "updated_at": 1, "tunnels": ' + DEEP_JSON + "}"
    )
    live = {
        "pid": os.getpid(),
        "updated_at": time.time(),
        "tunnels": [{"tunnel": "db", "state": "connected", "since": "now", "detail": "up"}],
    }
    _run_state(tk_home, f"run-{os.getpid()}.json", json.dumps(live))
    as_json = tk("status", "--json")
    assert_sentence(as_json, 0, "run-1.json could not be read")
    assert [t["tunnel"] for t in json.loads(as_json.stdout)] == ["db"]
    assert_sentence(tk("status", "nothing-by-that-name"), 0, "nested more than")
    assert deep.exists()

    moved = tk("repair", "--move-aside")
    assert moved.returncode == 0 and "run-1.json" in moved.stdout
    assert not deep.exists() and len(list(tk_home.runtime_dir.glob("run-1.json.broken-*"))) == 1
    assert (tk_home.runtime_dir / f"run-{os.getpid()}.json").exists()  # a good one stays


def test_repair_reports_and_moves_aside_known_hosts_and_app_settings(
    tk_home: AppPaths, client_key: Path
) -> None:
    assert tk(*add_args("a", client_key)).returncode == 0
    tk_home.known_hosts_file.write_bytes(b"\xff\xfe not utf-8")
    settings = tk_home.config_dir / "app.json"
    settings.write_text(DEEP_JSON)
    # what `run` says sends the user to `repair`, and `repair` does see the file
    assert_sentence(tk("run", "a"), 2, "tunnelkeeper repair")

    refused = tk("repair")
    assert refused.returncode == 1
    assert "is fine (1 tunnels)" in refused.stdout
    assert "known_hosts could not be read (not UTF-8" in refused.stdout
    assert "app.json could not be read (it is nested more than" in refused.stdout
    assert refused.stdout.count("Nothing was changed") == 2
    assert tk_home.known_hosts_file.read_bytes() == b"\xff\xfe not utf-8"

    moved = tk("repair", "--move-aside")
    assert moved.returncode == 0, moved.stdout
    assert "run `tunnelkeeper trust NAME` again" in moved.stdout
    (hosts_aside,) = tk_home.config_dir.glob("known_hosts.broken-*")
    (settings_aside,) = tk_home.config_dir.glob("app.json.broken-*")
    assert hosts_aside.read_bytes() == b"\xff\xfe not utf-8"
    assert settings_aside.read_text() == DEEP_JSON
    again = tk("repair")
    assert again.returncode == 0 and "Problem" not in again.stdout


def test_repair_asks_for_each_broken_file_on_a_terminal(
    tk_home: AppPaths, monkeypatch: pytest.MonkeyPatch
) -> None:
    tk_home.profiles_file.write_text(DEEP_TOML)
    tk_home.known_hosts_file.write_bytes(b"\xff")
    questions: list[str] = []
    answers = ["n", "y"]

    def ask(question: str) -> str:
        questions.append(question)
        return answers.pop(0)

    monkeypatch.setattr("sys.stdin.isatty", lambda: True)
    out = io.StringIO()
    code = cli_repair.cmd_repair(argparse.Namespace(move_aside=False), tk_home, out, ask)
    assert code == EXIT_FAILED
    assert "no tunnels" in questions[0] and "trust" in questions[1]
    assert tk_home.profiles_file.read_text() == DEEP_TOML
    assert not tk_home.known_hosts_file.exists()
    assert "Moved to" in out.getvalue() and "Nothing was changed" in out.getvalue()


def test_importing_a_known_hosts_file_of_stars_does_not_hang(
    tk_home: AppPaths, client_key: Path, tmp_path: Path
) -> None:
    """14 stars then "x" took 155 s per match; `trust --import-known-hosts` hung."""
    name = "virginia-tunnel.flydata.app"
    assert tk(*add_args("a", client_key, jumphost=name)).returncode == 0
    key_type, blob = Path(f"{client_key}.pub").read_text().split()[:2]
    theirs = tmp_path / "known_hosts"
    theirs.write_text(f"{'*' * 14}x {key_type} {blob}\n{name} {key_type} {blob}\n")
    started = time.monotonic()
    imported = tk("trust", "a", "--import-known-hosts", str(theirs), timeout=60)
    assert imported.returncode == 0, imported.stderr
    assert "Pinned 1 key" in imported.stdout
    assert time.monotonic() - started < 20


def test_an_oversized_import_names_its_own_remedy_not_repair(
    tk_home: AppPaths, client_key: Path, tmp_path: Path
) -> None:
    assert tk(*add_args("a", client_key)).returncode == 0
    theirs = tmp_path / "known_hosts"
    theirs.write_text(",".join(f"h{i}" for i in range(200_000)) + " ssh-ed25519 AAAA\n")
    result = tk("trust", "a", "--import-known-hosts", str(theirs))
    assert_sentence(result, 2, "at most 100,000 are read")
    assert "repair" not in result.stderr and "ssh-keygen -F" in result.stderr
