"""One app per user and home: a second launch asks the first to show itself and gives way;
the socket lives where only we can create it, and other users are neither told nor heard."""

from __future__ import annotations

import os
import shutil
import stat
import sys
import tempfile
from collections.abc import Iterator
from pathlib import Path

import pytest
from pytestqt.qtbot import QtBot

from app.errors import FolderNotPrivate
from app.platform.single_instance import (
    MAX_SOCKET_PATH,
    SingleInstance,
    instance_address,
    server_name,
)
from app.storage.paths import AppPaths, app_paths
from tests.support.users import SQUATTER, LocalUser, local_user, shared_temp

posix_only = pytest.mark.skipif(os.name != "posix", reason="Unix sockets and modes")

# Run by another user: connect to argv[1], say "show", wait for the other end to close.
POKER = r"""
import socket, sys
conn = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
conn.settimeout(5)
conn.connect(sys.argv[1])
try:
    conn.sendall(b"show\n")
    print("closed" if conn.recv(16) == b"" else "answered", flush=True)
except (BrokenPipeError, ConnectionResetError):
    print("closed", flush=True)
except OSError as exc:
    print(exc, flush=True)
"""


@pytest.fixture
def stranger() -> Iterator[LocalUser]:
    with local_user() as user:
        yield user


@pytest.fixture
def shared() -> Iterator[Path]:
    with shared_temp() as folder:
        yield folder


def test_the_second_instance_wakes_the_first_and_gives_way(qtbot: QtBot, tmp_path: Path) -> None:
    address = instance_address(app_paths({"TUNNELKEEPER_HOME": str(tmp_path / "a")}))
    first = SingleInstance(address)
    assert first.claim() is True
    try:
        second = SingleInstance(address)
        with qtbot.waitSignal(first.show_requested, timeout=5_000):
            assert second.claim() is False
        # a different home is a different app
        other = SingleInstance(
            instance_address(app_paths({"TUNNELKEEPER_HOME": str(tmp_path / "b")}))
        )
        assert other.claim() is True
        other.release()
    finally:
        first.release()
    # once the first has gone, the next launch becomes the instance
    third = SingleInstance(address)
    assert third.claim() is True
    third.release()


def test_names_are_private_to_the_scope() -> None:
    assert server_name("/a") != server_name("/b")
    assert server_name("/a") == server_name("/a")
    assert server_name("/a").startswith("tunnelkeeper-")


@posix_only
def test_the_socket_is_in_the_private_runtime_folder(tmp_path: Path) -> None:
    paths = app_paths({"TUNNELKEEPER_HOME": str(tmp_path)})
    address = Path(instance_address(paths))
    assert address.parent == paths.runtime_dir
    info = paths.runtime_dir.lstat()
    assert info.st_uid == os.geteuid() and stat.S_IMODE(info.st_mode) == 0o700
    assert str(address).startswith(str(tmp_path))  # not a guessable name in $TMPDIR


@posix_only
def test_a_runtime_folder_others_can_use_is_refused(tmp_path: Path) -> None:
    paths = app_paths({"TUNNELKEEPER_HOME": str(tmp_path)})
    paths.runtime_dir.mkdir(mode=0o700)
    paths.runtime_dir.chmod(0o777)
    with pytest.raises(FolderNotPrivate, match=r"mode 0777.*chmod 700"):
        instance_address(paths)
    paths.runtime_dir.rmdir()
    elsewhere = tmp_path / "elsewhere"
    elsewhere.mkdir(mode=0o700)
    paths.runtime_dir.symlink_to(elsewhere)
    with pytest.raises(FolderNotPrivate, match="symbolic link"):
        instance_address(paths)


@posix_only
def test_a_deep_home_puts_the_socket_in_the_users_runtime_folder(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    runtime = Path(tempfile.mkdtemp(prefix="tk-run-"))  # short, like /run/user/UID
    try:
        monkeypatch.setenv("XDG_RUNTIME_DIR", str(runtime))
        deep = tmp_path / ("d" * 60) / ("e" * 60)
        address = instance_address(app_paths({"TUNNELKEEPER_HOME": str(deep)}))
        assert len(os.fsencode(address)) <= MAX_SOCKET_PATH
        assert Path(address).parent == runtime / "Tunnelkeeper"
        assert address != instance_address(app_paths({"TUNNELKEEPER_HOME": str(deep / "x")}))
        first = SingleInstance(address)
        assert first.claim() is True
        first.release()
    finally:
        shutil.rmtree(runtime)


@pytest.mark.skipif(not sys.platform.startswith("linux"), reason="needs a second local user")
def test_a_socket_held_by_another_user_is_told_nothing_and_taken_over(
    qtbot: QtBot, stranger: LocalUser, shared: Path
) -> None:
    address = shared / "theirs" / "instance.sock"
    heard = shared / "heard"
    listener = stranger.python(SQUATTER, str(address), str(heard), str(address.parent))
    try:
        assert listener.stdout is not None
        assert listener.stdout.readline().strip() == "ready", listener.communicate()[1]
        ours = SingleInstance(str(address))
        assert ours.claim() is True  # theirs is not an instance of ours
        try:
            again = SingleInstance(str(address))
            with qtbot.waitSignal(ours.show_requested, timeout=5_000):
                assert again.claim() is False  # our second launch finds us, not them
        finally:
            ours.release()
    finally:
        listener.kill()
        listener.communicate(timeout=10)
    assert b"show" not in (heard.read_bytes() if heard.exists() else b"")


@pytest.mark.skipif(not sys.platform.startswith("linux"), reason="needs a second local user")
def test_another_user_cannot_command_the_instance(
    qtbot: QtBot, stranger: LocalUser, shared: Path
) -> None:
    folder = shared / "ours"
    folder.mkdir()
    folder.chmod(0o777)  # as if the folder were open: the peer check still stands
    address = folder / "instance.sock"
    first = SingleInstance(str(address))
    assert first.claim() is True
    shown: list[bool] = []
    first.show_requested.connect(lambda: shown.append(True))
    try:
        address.chmod(0o777)
        poker = stranger.python(POKER, str(address))
        qtbot.waitUntil(lambda: poker.poll() is not None, timeout=10_000)
        out, err = poker.communicate()
        assert out.strip() == "closed", err  # connected, said "show", was hung up on
        qtbot.wait(200)
        assert shown == []
        with qtbot.waitSignal(first.show_requested, timeout=5_000):
            assert SingleInstance(str(address)).claim() is False  # we are still heard
    finally:
        first.release()


def test_app_paths_for_the_instance(tmp_path: Path) -> None:
    paths = app_paths({"TUNNELKEEPER_HOME": str(tmp_path)})
    assert isinstance(paths, AppPaths)
    address = instance_address(paths)
    if os.name == "posix":
        assert address.endswith("instance.sock")
    else:
        assert address == server_name(str(paths.config_dir))
