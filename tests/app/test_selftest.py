"""``--self-test``: one line per check, exit 0 only when every part loads."""

from __future__ import annotations

import io
import os
from pathlib import Path

import pytest

from app import selftest
from app.selftest import Outcome
from tests.support.cli import tk


@pytest.mark.parametrize(
    ("environ", "platform", "expected"),
    [
        ({}, "linux", "offscreen"),
        ({"DISPLAY": ":0"}, "linux", "xcb;offscreen"),
        ({"WAYLAND_DISPLAY": "wayland-0", "DISPLAY": ":0"}, "linux", "wayland;xcb;offscreen"),
        ({"DISPLAY": ":0", "QT_QPA_PLATFORM": "vnc"}, "linux", None),  # the user's choice
        ({}, "win32", None),
        ({}, "darwin", None),
    ],
)
def test_qt_starts_on_the_desktops_platform_with_offscreen_as_the_fallback(
    environ: dict[str, str], platform: str, expected: str | None
) -> None:
    assert selftest.qt_platforms(environ, platform) == expected


def test_every_check_passes_here_one_line_each() -> None:
    out = io.StringIO()
    assert selftest.run(out) == 0, out.getvalue()
    lines = out.getvalue().splitlines()
    assert [line.split()[0] for line in lines[1:-1]] == ["ok"] * len(selftest.CHECKS)
    assert lines[-1] == f"self-test passed ({len(selftest.CHECKS)} checks)"


def test_missing_icons_fail_the_self_test(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    monkeypatch.setattr(selftest, "resources_dir", lambda: tmp_path)
    out = io.StringIO()
    assert selftest.run(out) == 1
    assert f"FAIL  icons    no icons in {tmp_path / 'icons'}" in out.getvalue()
    assert out.getvalue().splitlines()[-1] == "self-test failed: icons"


def test_a_check_that_raises_is_reported_and_the_rest_still_run(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    def broken() -> Outcome:
        raise ImportError("No module named 'nacl'")

    def fine() -> Outcome:
        return Outcome("after", True, "still ran")

    monkeypatch.setattr(selftest, "CHECKS", (("crypto", broken), ("after", fine)))
    out = io.StringIO()
    assert selftest.run(out) == 1
    lines = out.getvalue().splitlines()
    assert lines[1] == "FAIL  crypto   ImportError: No module named 'nacl'"
    assert lines[2] == "ok    after    still ran"


def test_the_command_line_flag() -> None:
    env = {**os.environ, "QT_QPA_PLATFORM": "offscreen"}
    result = tk("--self-test", env=env, timeout=120)
    assert result.returncode == 0, result.stdout + result.stderr
    assert result.stdout.splitlines()[-1] == f"self-test passed ({len(selftest.CHECKS)} checks)"
