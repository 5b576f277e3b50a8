"""Deeply nested TOML and JSON: every loader reports the file as broken, none crashes."""

from __future__ import annotations

import json
import os
import time
from pathlib import Path

import pytest

from app.core.safeload import MAX_DEPTH, Unparsable, depth_exceeds, loads_json, loads_toml
from app.errors import CorruptConfigFile
from app.storage import runstate
from app.storage.store import ProfileStore
from app.ui.settings import SettingsFile

DEEP_TOML = "x = " + "[" * 3000 + "]" * 3000 + "\n"
DEEP_JSON = "[" * 100_000 + "]" * 100_000


@pytest.mark.parametrize("depth", [MAX_DEPTH + 1, 400, 3000, 100_000])
def test_deep_json_is_unparsable_not_a_recursion_error(depth: int) -> None:
    with pytest.raises(Unparsable, match="nested more than"):
        loads_json("[" * depth + "]" * depth)


@pytest.mark.parametrize("depth", [MAX_DEPTH + 1, 300, 3000])
def test_deep_toml_is_unparsable_not_a_recursion_error(depth: int) -> None:
    with pytest.raises(Unparsable, match="nested more than"):
        loads_toml("x = " + "[" * depth + "]" * depth)
    with pytest.raises(Unparsable, match="nested more than"):
        loads_toml("x = " + "{a = " * depth + "1" + "}" * depth)


def test_ordinary_documents_still_load() -> None:
    assert loads_json('{"a": [1, {"b": []}]}') == {"a": [1, {"b": []}]}
    assert loads_toml("[tunnels.a]\nx = [[1]]\n") == {"tunnels": {"a": {"x": [[1]]}}}
    nested: list[object] = []
    for _ in range(MAX_DEPTH - 1):
        nested = [nested]
    assert not depth_exceeds(nested)
    assert depth_exceeds([nested])
    with pytest.raises(Unparsable, match="line 1"):
        loads_json("{")


def test_a_deep_profiles_file_is_a_corrupt_file_and_is_kept(tmp_path: Path) -> None:
    path = tmp_path / "profiles.toml"
    path.write_text(DEEP_TOML)
    store = ProfileStore(path)
    with pytest.raises(CorruptConfigFile, match="nested more than"):
        store.load()
    with pytest.raises(CorruptConfigFile):
        store.remove("a")
    assert path.read_text() == DEEP_TOML
    moved = store.move_aside()
    assert moved.read_text() == DEEP_TOML and not path.exists()


def test_a_deep_app_json_gives_defaults_and_a_problem(tmp_path: Path) -> None:
    path = tmp_path / "app.json"
    path.write_text(DEEP_JSON)
    settings_file = SettingsFile(path)
    settings = settings_file.load()
    assert settings.notifications and not settings.left_off
    assert settings_file.problem is not None
    assert "nested more than" in str(settings_file.problem)
    assert "tunnelkeeper repair" in str(settings_file.problem)
    assert not settings_file.save(settings)
    assert path.read_text() == DEEP_JSON


def test_a_deep_run_state_file_is_skipped_and_reported(tmp_path: Path) -> None:
    good = {"pid": os.getpid(), "updated_at": time.time(), "tunnels": [{"tunnel": "db"}]}
    (tmp_path / "run-1.json").write_text(json.dumps(good))
    deep = tmp_path / f"run-{os.getpid()}.json"
    deep.write_text('{"pid": 1, "updated_at": 1, "tunnels": ' + DEEP_JSON + "}")
    (tmp_path / "run-3.json").write_text('{"pid": -1, "updated_at": 1, "tunnels": []}')
    problems: list[tuple[Path, str]] = []
    found = runstate.read_running(tmp_path, problems)
    assert found == [{"tunnel": "db", "pid": os.getpid()}]
    assert {(p.name, "nested" in why) for p, why in problems} == {
        (deep.name, True),
        ("run-3.json", False),
    }
    assert runstate.problem_of(deep) is not None
    assert runstate.problem_of(tmp_path / "run-1.json") is None
    assert runstate.problem_of(tmp_path / "run-gone.json") is None
