"""One app per user and home: a second launch asks the first to show itself and gives way."""

from __future__ import annotations

from pytestqt.qtbot import QtBot

from app.platform.single_instance import SingleInstance, server_name


def test_the_second_instance_wakes_the_first_and_gives_way(qtbot: QtBot, tmp_path: object) -> None:
    first = SingleInstance(str(tmp_path))
    assert first.claim() is True
    try:
        second = SingleInstance(str(tmp_path))
        with qtbot.waitSignal(first.show_requested, timeout=5_000):
            assert second.claim() is False
        # a different home is a different app
        other = SingleInstance(f"{tmp_path}/other")
        assert other.claim() is True
        other.release()
    finally:
        first.release()
    # once the first has gone, the next launch becomes the instance
    third = SingleInstance(str(tmp_path))
    assert third.claim() is True
    third.release()


def test_names_are_private_to_the_scope() -> None:
    assert server_name("/a") != server_name("/b")
    assert server_name("/a") == server_name("/a")
    assert server_name("/a").startswith("tunnelkeeper-")
