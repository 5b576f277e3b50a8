"""atomic_write: all-or-nothing replacement with the requested permissions; move_aside."""

from __future__ import annotations

import os
import stat
from pathlib import Path

import pytest

from app.storage.fileio import atomic_write, move_aside

posix_only = pytest.mark.skipif(os.name != "posix", reason="POSIX file modes")


def test_creates_the_file_and_missing_folders(tmp_path: Path) -> None:
    target = tmp_path / "a" / "b" / "file.txt"
    atomic_write(target, b"hello\n")
    assert target.read_bytes() == b"hello\n"
    assert sorted(p.name for p in target.parent.iterdir()) == ["file.txt"]


def test_replaces_existing_content_completely(tmp_path: Path) -> None:
    target = tmp_path / "file"
    target.write_bytes(b"a much longer original content\n")
    atomic_write(target, b"new")
    assert target.read_bytes() == b"new"
    atomic_write(target, b"")
    assert target.read_bytes() == b""


@posix_only
@pytest.mark.parametrize("mode", [0o600, 0o644, 0o400])
def test_sets_the_requested_mode(tmp_path: Path, mode: int) -> None:
    target = tmp_path / "file"
    target.write_bytes(b"old")
    target.chmod(0o666)
    atomic_write(target, b"data", mode=mode)
    assert stat.S_IMODE(target.stat().st_mode) == mode


@posix_only
def test_default_mode_is_private_whatever_the_umask(tmp_path: Path) -> None:
    old = os.umask(0)
    try:
        atomic_write(tmp_path / "file", b"data")
    finally:
        os.umask(old)
    assert stat.S_IMODE((tmp_path / "file").stat().st_mode) == 0o600


@posix_only
def test_new_folders_are_private(tmp_path: Path) -> None:
    atomic_write(tmp_path / "new" / "file", b"x")
    assert stat.S_IMODE((tmp_path / "new").stat().st_mode) & 0o077 == 0


@pytest.mark.parametrize("step", ["fsync", "chmod", "replace"])
def test_failure_at_any_step_keeps_the_old_file_and_cleans_up(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, step: str
) -> None:
    target = tmp_path / "file"
    target.write_bytes(b"original")

    def fail(*_args: object, **_kwargs: object) -> None:
        raise OSError(5, f"{step} failed")

    monkeypatch.setattr(os, step, fail)
    with pytest.raises(OSError, match=f"{step} failed"):
        atomic_write(target, b"replacement")
    monkeypatch.undo()
    assert target.read_bytes() == b"original"
    assert [p.name for p in tmp_path.iterdir()] == ["file"]


def test_failure_when_there_was_no_file_leaves_nothing(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    def fail(*_args: object, **_kwargs: object) -> None:
        raise OSError(5, "boom")

    monkeypatch.setattr(os, "replace", fail)
    with pytest.raises(OSError, match="boom"):
        atomic_write(tmp_path / "file", b"data")
    monkeypatch.undo()
    assert list(tmp_path.iterdir()) == []


def test_the_new_content_is_complete_before_it_appears(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    target = tmp_path / "file"
    target.write_bytes(b"old")
    seen: list[bytes] = []
    real_replace = os.replace

    def watching_replace(src: str | Path, dst: str | Path) -> None:
        seen.append(Path(dst).read_bytes())  # still the old file
        seen.append(Path(src).read_bytes())  # the finished new one
        assert Path(src).parent == target.parent  # same folder, so rename is atomic
        real_replace(src, dst)

    monkeypatch.setattr(os, "replace", watching_replace)
    atomic_write(target, b"new content")
    assert seen == [b"old", b"new content"]
    assert target.read_bytes() == b"new content"


def test_move_aside_keeps_every_earlier_copy(tmp_path: Path) -> None:
    path = tmp_path / "known_hosts"
    moved = []
    for body in ("one", "two", "three"):  # within one second: the same stamp each time
        path.write_text(body)
        moved.append(move_aside(path))
    assert not path.exists()
    assert [m.read_text() for m in moved] == ["one", "two", "three"]
    assert all(m.name.startswith("known_hosts.broken-") for m in moved)
